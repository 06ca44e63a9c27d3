"""Several ``serve`` processes on one listening socket, so that one service uses every core.

A Python process runs Python on one core at a time (the interpreter lock): with 8 BlueTrace
workers posting packed orders to PostgreSQL, one ``serve`` process is the bottleneck while
the other core idles. The supervisor binds one socket per child (:func:`listeners`) and forks
the children, each the whole service (waitress, the QuickBooks Online worker, the webhook
deliverer, the log pruner). The sockets share the port through SO_REUSEPORT, so the kernel
spreads new connections evenly over them. One shared socket would not: whichever child wakes
first accepts, and 8 keep-alive clients connecting at once ended up 7 on one child, 1 on the
other. A dead child's socket stays open in the supervisor, so connections the kernel gave it
wait for its replacement instead of being refused. They share nothing but the database,
which already coordinates several processes (leases, row locks, ON CONFLICT), exactly as
several ``serve`` processes behind a load balancer do.

A child that dies is replaced after a pause; SIGTERM or Ctrl-C to the supervisor stops every
child, and a child dies with its supervisor even when that one is killed outright.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# Between a child's death and its replacement: a child that cannot start (a bad setting, the
# database refusing logins) is retried at this pace instead of in a tight loop of forks.
RESTART_PAUSE_SECONDS = 1.0
# How long children have to stop after SIGTERM before they are killed.
STOP_TIMEOUT_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1
# waitress's own default: connections waiting while every thread of a process is busy.
LISTEN_BACKLOG = 1024


class Supervisor:
    """Fork ``processes`` children that each call ``serve`` (which serves until the process ends).

    Args:
        processes: how many children serve at once (2 or more; one process needs no supervisor).
        serve: what a child runs, given its slot (0 to processes - 1; a replacement takes the slot of
            the child it replaces); returning or raising ends that child, which is then replaced.
    """

    def __init__(self, processes: int, serve: Callable[[int], None]):
        if processes < 2:
            raise ValueError("a supervisor runs two processes or more")
        self.processes = processes
        self.serve = serve
        self.children: dict[int, int] = {}  # pid: slot
        self._stopping = False

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT, replacing children that die; then stop them all."""
        previous = {number: signal.signal(number, self._stop) for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in range(self.processes):
                self._fork(slot)
            while self.children:
                pid, status = _wait_for_a_child()
                if pid not in self.children:
                    continue
                slot = self.children.pop(pid)
                if self._stopping:
                    continue
                log.error("serve process %d ended (%s); starting another in %g s", pid, _describe(status),
                          RESTART_PAUSE_SECONDS)  # fmt: skip
                time.sleep(RESTART_PAUSE_SECONDS)
                if not self._stopping:
                    self._fork(slot)
        finally:
            self._stop_children()
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _fork(self, slot: int) -> None:
        supervisor_pid = os.getpid()
        pid = os.fork()
        if pid:
            self.children[pid] = slot
            log.info("serve process %d started", pid)
            return
        os._exit(_child(lambda: self.serve(slot), supervisor_pid))

    def _stop(self, _number, _frame) -> None:
        self._stopping = True
        for pid in list(self.children):
            _signal(pid, signal.SIGTERM)

    def _stop_children(self) -> None:
        self._stopping = True
        for pid in list(self.children):
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while self.children and time.monotonic() < deadline:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:  # every one is gone already
                break
            if pid:
                self.children.pop(pid, None)
            else:
                time.sleep(0.05)
        for pid in self.children:
            log.warning("serve process %d did not stop in %g s: killed", pid, STOP_TIMEOUT_SECONDS)
            _signal(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.children.clear()


class Listeners:
    """The sockets ``serve`` listens on and, for several processes, its claim on the port (see :func:`listeners`).

    Closing it (or leaving its ``with`` block) closes them all.
    """

    def __init__(self, sockets: list[socket.socket], claim: socket.socket | None):
        self.sockets = sockets
        self.claim = claim

    def close(self) -> None:
        for held in (*self.sockets, *([self.claim] if self.claim is not None else [])):
            held.close()

    def __enter__(self) -> Listeners:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def listeners(host: str, port: int, count: int) -> Listeners:
    """``count`` listening sockets on one address; port 0 picks one free port for all.

    Several share the port through SO_REUSEPORT; a lone one does not set it, so that a second
    ``serve`` started on the same port by mistake is refused instead of quietly taking half the calls.
    SO_REUSEPORT would let a second supervisor of the same user join the port as well: several take a
    claim on the port first (:func:`_claim`), which only one process at a time can hold.

    Raises:
        OSError: the address cannot be bound (in use, not this host's), or another supervisor holds it.
    """
    sockets: list[socket.socket] = []
    claim = None
    try:
        for _ in range(count):
            listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(listener)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if count > 1:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.bind((host, port))
            port = listener.getsockname()[1]
            if count > 1 and claim is None:  # before listening: nothing is taken from another's share meanwhile
                claim = _claim(port)
            listener.listen(LISTEN_BACKLOG)
    except OSError:
        Listeners(sockets, claim).close()
        raise
    return Listeners(sockets, claim)


def _claim(port: int) -> socket.socket:
    """A Unix socket in Linux's abstract namespace named after the port: one per machine (network
    namespace), whoever the user, gone with the last process holding it (the children inherit it), and
    no file left behind by a supervisor killed outright. Keyed by the port alone: a supervisor on
    0.0.0.0 and one on 127.0.0.1 would share a port's connections too."""
    claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        claim.bind(f"\0qbwc-bridge serve on port {port}")
    except OSError as exc:
        claim.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(errno.EADDRINUSE, "another qbwc-bridge serve is listening there") from None
        raise
    return claim


def _child(serve: Callable[[], None], supervisor_pid: int) -> int:
    """A child's whole life: its exit status. It never returns into the supervisor's code."""
    # The supervisor's handlers only make sense there: a child ends on SIGTERM as a lone serve
    # process does, and on Ctrl-C (the terminal signals the whole group) through KeyboardInterrupt.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _die_with(supervisor_pid)
    try:
        serve()
    except KeyboardInterrupt:
        return 0
    except BaseException:  # noqa: BLE001 - the exit status is all the supervisor sees; the log says why
        log.exception("serve process %d failed", os.getpid())
        return 1
    finally:
        logging.shutdown()
    return 0


def _die_with(supervisor_pid: int) -> None:
    """Ask Linux to SIGTERM this child when its supervisor dies, even by SIGKILL: no orphan keeps the port."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != supervisor_pid:  # it died before prctl took effect
            os._exit(0)


def _wait_for_a_child() -> tuple[int, int]:
    try:
        return os.wait()
    except ChildProcessError:
        return 0, 0


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
