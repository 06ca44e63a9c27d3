"""Fault injection: the failures an Online client must survive, on demand and repeatable.

| kind | counted per | effect |
|---|---|---|
| ``lose_answer`` | write | QuickBooks applies the write, then the answer is lost: the client gets 504 Gateway Time-out with an HTML body (what a proxy in front of Intuit answers), never the created record |
| ``unavailable`` | any API call (``on``) | 503 before anything is done |
| ``throttle`` | any API call (``on``) | 429 / 3001 before anything is done |
| ``forget_request_ids`` | write | the company forgets every requestid it has seen before handling this write, so a retry creates anew (Intuit's memory is undocumented; duplicates despite requestid were reported) |
| ``expire_token`` | any API call | the company's access tokens end now and the call is answered 401 / 3200 |

A lost answer is a status, not a sleep: tests stay free of timing, and a client must
treat a 502/504 on a write as "outcome unknown" exactly like a timeout.

A call meets at most one fault: the plans are consulted in the order they were added
and the first that fires wins, so ``inject("unavailable"); inject("throttle")`` means
503 then 429. A plan fires ``times`` times (the next matching calls), or on each matching call with
probability ``rate`` from its own ``random.Random`` seeded with the injector's seed and
the plan's position, so the same seed gives the same run.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

FAULT_KINDS = ("lose_answer", "unavailable", "throttle", "forget_request_ids", "expire_token")
WRITE_ONLY = ("lose_answer", "forget_request_ids")
CALL_KINDS = ("write", "read", "any")


@dataclass
class FaultPlan:
    kind: str
    times: int | None
    rate: float | None
    realm: str | None
    on: str
    random: random.Random
    fired: int = 0

    def applies(self, realm: str, is_write: bool) -> bool:
        if self.realm is not None and self.realm != realm:
            return False
        if self.on == "write" and not is_write or self.on == "read" and is_write:
            return False
        return self.times is None or self.fired < self.times

    def fires(self) -> bool:
        if self.rate is not None and self.random.random() >= self.rate:
            return False
        self.fired += 1
        return True


@dataclass
class FaultInjector:
    seed: int = 0
    plans: list[FaultPlan] = field(default_factory=list)

    def add(self, kind: str, *, times: int | None = None, rate: float | None = None, realm: str | None = None,
            on: str = "write") -> FaultPlan:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}: one of {', '.join(FAULT_KINDS)}")
        if on not in CALL_KINDS:
            raise ValueError(f"on must be one of {CALL_KINDS}")
        if kind in WRITE_ONLY and on != "write":
            raise ValueError(f"{kind} only applies to writes")
        if rate is None and times is None:
            times = 1
        plan = FaultPlan(kind, times, rate, realm, on, random.Random(f"{self.seed}/{len(self.plans)}/{kind}"))
        self.plans.append(plan)
        return plan

    def draw(self, realm: str, is_write: bool) -> str | None:
        """The fault for this call: the first plan, in the order added, that fires (at most one)."""
        for plan in self.plans:
            if plan.applies(realm, is_write) and plan.fires():
                return plan.kind
        return None

    def clear(self) -> None:
        self.plans.clear()

    def fired(self, kind: str) -> int:
        return sum(plan.fired for plan in self.plans if plan.kind == kind)
