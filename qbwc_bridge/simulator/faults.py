"""Trouble on demand: the production failures a bridge must survive, seeded and repeatable.

Each kind of fault fires either at explicit ordinals (``at``: "the 2nd message set",
"the 1st connection attempt") or with a probability drawn from its own random
stream, seeded from ``Faults.seed`` and the fault's name, so adding one fault never
changes when another fires. The same seed always gives the same run.

| fault | counted per | effect |
|---|---|---|
| ``lose_response`` | qbXML message set processed | QuickBooks applies the request, then the Web Connector "dies": no receiveResponseXML, no closeConnection |
| ``lock_error`` | Add request | status 3170/3175 (lists) or 3180 (transactions); nothing saved |
| ``not_running`` | connection attempt | connectionError with 0x80040408 "Could not start QuickBooks" |
| ``other_mode`` | connection attempt | connectionError with 0x80040410 (file open in another mode) |
| ``slow`` | qbXML message set | QuickBooks sleeps ``slow_seconds`` before answering |
| ``server_gone`` | SOAP call | connection refused: the call fails and the session ends |

A spec string (for ``qbwc-bridge simulate --faults``) is a comma-separated list of
``name=probability`` or ``name=@n+m`` (explicit ordinals), plus ``seed=N`` and
``slow_seconds=S``: ``seed=7,lose_response=@2,lock_error=0.25,slow=0.1,slow_seconds=3``.
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, fields, replace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaultRule:
    """When one kind of fault fires: at these 1-based ordinals, or with this probability."""

    probability: float = 0.0
    at: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, text: str) -> "FaultRule":
        """``0.25`` or ``@2`` or ``@2+5``.

        Raises:
            ValueError: not a probability in [0, 1] nor ``@`` ordinals.
        """
        text = text.strip()
        if text.startswith("@"):
            return cls(at=frozenset(int(part) for part in text[1:].split("+") if part))
        probability = float(text)
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability {probability} is not between 0 and 1")
        return cls(probability=probability)

    def describe(self) -> str:
        if self.at:
            return "@" + "+".join(str(n) for n in sorted(self.at))
        return f"{self.probability:g}"


NO_FAULT = FaultRule()


@dataclass(frozen=True)
class Faults:
    """Which faults to inject. The default injects none."""

    seed: int = 0
    lose_response: FaultRule = NO_FAULT
    lock_error: FaultRule = NO_FAULT
    not_running: FaultRule = NO_FAULT
    other_mode: FaultRule = NO_FAULT
    slow: FaultRule = NO_FAULT
    slow_seconds: float = 2.0
    server_gone: FaultRule = NO_FAULT

    @classmethod
    def parse(cls, spec: str) -> "Faults":
        """Build from ``seed=7,lose_response=@2,lock_error=0.25`` (see the module docstring).

        Raises:
            ValueError: unknown fault name or bad value; the message names it.
        """
        faults = cls()
        rule_names = {f.name for f in fields(cls) if f.type in ("FaultRule", FaultRule)}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep:
                raise ValueError(f"fault {part!r} needs a value (name=probability or name=@n)")
            if name == "seed":
                faults = replace(faults, seed=int(value))
            elif name == "slow_seconds":
                faults = replace(faults, slow_seconds=float(value))
            elif name in rule_names:
                faults = replace(faults, **{name: FaultRule.parse(value)})
            else:
                known = ", ".join(sorted(rule_names | {"seed", "slow_seconds"}))
                raise ValueError(f"unknown fault {name!r}; known: {known}")
        return faults

    def describe(self) -> str:
        active = [f"{f.name}={getattr(self, f.name).describe()}" for f in fields(self)
                  if isinstance(getattr(self, f.name), FaultRule) and getattr(self, f.name) != NO_FAULT]
        return ", ".join(active) + f" (seed {self.seed})" if active else "none"

    def injector(self) -> "FaultInjector":
        return FaultInjector(self)


@dataclass
class FaultInjector:
    """The running state of a :class:`Faults` plan: counters, random streams, what fired."""

    plan: Faults
    counters: dict[str, int] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)
    _streams: dict[str, random.Random] = field(default_factory=dict)

    def _fires(self, name: str, counter: str) -> bool:
        ordinal = self.counters.get(counter, 0)
        rule: FaultRule = getattr(self.plan, name)
        if rule == NO_FAULT:
            return False
        stream = self._streams.setdefault(name, random.Random(f"{self.plan.seed}:{name}"))
        hit = ordinal in rule.at or (rule.probability > 0 and stream.random() < rule.probability)
        if hit:
            self.fired.append(f"{name} at {counter} #{ordinal}")
            logger.info("fault injected: %s at %s #%d", name, counter, ordinal)
        return hit

    def count(self, counter: str) -> int:
        self.counters[counter] = self.counters.get(counter, 0) + 1
        return self.counters[counter]

    # Counted events. Each caller counts first, then asks which faults fire.
    def connection_attempt(self) -> str | None:
        """Returns ``"not_running"``, ``"other_mode"`` or None for this attempt."""
        self.count("connection attempt")
        if self._fires("not_running", "connection attempt"):
            return "not_running"
        if self._fires("other_mode", "connection attempt"):
            return "other_mode"
        return None

    def message_set(self) -> float:
        """Count a message set; returns the seconds QuickBooks should stall (0 = none)."""
        self.count("message set")
        return self.plan.slow_seconds if self._fires("slow", "message set") else 0.0

    def response_lost(self) -> bool:
        """Ask after the current message set was applied: does the connector die now?"""
        return self._fires("lose_response", "message set")

    def add_locked(self) -> bool:
        self.count("add request")
        return self._fires("lock_error", "add request")

    def server_gone(self) -> bool:
        self.count("SOAP call")
        return self._fires("server_gone", "SOAP call")

    def lock_choice(self, codes: tuple[int, ...]) -> int:
        return self._streams.setdefault("lock_code", random.Random(f"{self.plan.seed}:lock_code")).choice(codes)

    def drain(self) -> list[str]:
        """The faults fired since the last call (for the transcript)."""
        events, self.fired = self.fired, []
        return events
