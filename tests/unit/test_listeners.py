"""The sockets ``serve`` listens on: one port for N processes, and one supervisor per port."""
from __future__ import annotations

import errno
import socket

import pytest

from qbwc_bridge.supervisor import listeners


def test_several_sockets_share_one_port_and_hold_a_claim_on_it():
    with listeners("127.0.0.1", 0, 3) as bound:
        ports = {listener.getsockname()[1] for listener in bound.sockets}
        assert len(bound.sockets) == 3 and len(ports) == 1
        assert bound.claim is not None
    assert all(listener.fileno() == -1 for listener in (*bound.sockets, bound.claim))  # closed with the block


def test_a_second_group_on_a_claimed_port_is_refused_and_leaves_nothing_open():
    with listeners("127.0.0.1", 0, 2) as first:
        port = first.sockets[0].getsockname()[1]
        with pytest.raises(OSError) as refused:
            listeners("127.0.0.1", port, 2)
        assert (refused.value.errno, refused.value.strerror) == (
            errno.EADDRINUSE, "another qbwc-bridge serve is listening there")
        # Not even on another address of this host: it would share the port's connections all the same.
        with pytest.raises(OSError):
            listeners("0.0.0.0", port, 2)
    with listeners("127.0.0.1", port, 2):  # released with the first group
        pass


def test_a_lone_socket_takes_no_claim_and_shares_nothing():
    with listeners("127.0.0.1", 0, 1) as bound:
        assert bound.claim is None
        assert not bound.sockets[0].getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
