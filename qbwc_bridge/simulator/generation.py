"""Generated companies with the data problems real QuickBooks files have, for tests and demos.

Nothing on BlueTrace's side is modelled here (missing SKUs are not the company's
business); only what a bookkeeper's file really contains: names that differ by a dot
or a space, one mailbox shared by several customers, several addresses in one Email
field, vendors holding names a new customer would want, inactive records.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .company import FakeCompany
from .records import EntityKind, money
from .seeding import ITEM_KINDS, add_entity, add_item, company_from_description

@dataclass(frozen=True)
class ProblemMix:
    """Share (0..1) of generated records carrying each real-world data problem."""

    duplicate_ish_names: float = 0.0
    shared_emails: float = 0.0
    multiple_emails: float = 0.0
    vendor_collisions: float = 0.0
    inactive: float = 0.0


@dataclass
class GeneratedCompany:
    """A generated company and a manifest of the problems planted in it, for assertions."""

    company: FakeCompany
    problems: dict[str, list[str]] = field(default_factory=dict)


_FIRST = ["Acme", "Blue Ridge", "Cedar", "Delta", "Evergreen", "Fulton", "Granite", "Harbor", "Iron", "Juniper",
          "Keystone", "Lakeside", "Maple", "Northwind", "Oak", "Pioneer", "Quarry", "Riverside", "Summit", "Tidewater"]
_SECOND = ["Supply", "Builders", "Hardware", "Traders", "Outfitters", "Works", "Industries", "Goods", "Depot", "Co"]
_ITEM_WORDS = ["Bolt", "Bracket", "Cable", "Clamp", "Fitting", "Hinge", "Hose", "Nut", "Panel", "Pipe", "Screw",
               "Spring", "Valve", "Washer"]


def generate_company(items: int = 20, customers: int = 20, problems: ProblemMix = ProblemMix(), seed: int = 0,
                     clock: Callable[[], datetime] | None = None) -> GeneratedCompany:
    """A company with ``items`` items (all four kinds) and ``customers`` customers.

    ``problems`` plants, deterministically from ``seed``: names differing only in
    punctuation or spacing ("Acme Supply" / "Acme Supply."), one email on several
    customers, several emails in one Email field (``a@x.test, b@x.test`` or ``;``),
    vendors named like a customer BlueTrace would create (the customer cannot be
    added: 3100), and inactive records. ``GeneratedCompany.problems`` lists the names.
    """
    rng = random.Random(f"generate:{seed}")
    company = company_from_description({}, clock=clock)
    planted: dict[str, list[str]] = {key: [] for key in asdict(problems)}
    used: set[str] = set()

    def fresh_name(words_a: list[str], words_b: list[str], width: int) -> str:
        while True:
            name = f"{rng.choice(words_a)} {rng.choice(words_b)}"
            if name.casefold() not in used:
                break
            name = f"{name} {rng.randint(2, 999)}"
            if name.casefold() not in used:
                break
        used.add(name.casefold())
        return name[:width]

    customer_names: list[str] = []
    for index in range(customers):
        name = fresh_name(_FIRST, _SECOND, 41)
        if customer_names and rng.random() < problems.duplicate_ish_names:
            twin = rng.choice(customer_names)
            variants = [twin + ".", twin + " Inc", twin.replace(" ", "  ", 1), twin + ","]
            name = next((v[:41] for v in variants if v[:41].casefold() not in used), name)
            used.add(name.casefold())
            planted["duplicate_ish_names"].append(name)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20] or f"customer{index}"
        email = f"ap@{slug}.test"
        if customer_names and rng.random() < problems.shared_emails:
            email = "orders@shared-mailbox.test"
            planted["shared_emails"].append(name)
        elif rng.random() < problems.multiple_emails:
            email = f"ap@{slug}.test{rng.choice([',', ';', ', ', '; '])}owner@{slug}.test"
            planted["multiple_emails"].append(name)
        active = not (rng.random() < problems.inactive)
        if not active:
            planted["inactive"].append(name)
        add_entity(company, EntityKind.CUSTOMER, {"name": name, "email": email, "active": active,
                                                   "terms": rng.choice(["Net 30", "Net 15", "15th of month"])})
        customer_names.append(name)
        if rng.random() < problems.vendor_collisions:
            vendor_name = fresh_name(_FIRST, _SECOND, 41)
            add_entity(company, EntityKind.VENDOR, {"name": vendor_name})
            planted["vendor_collisions"].append(vendor_name)
    kinds = list(ITEM_KINDS)
    for index in range(items):
        kind = kinds[index % len(kinds)]
        name = fresh_name(_ITEM_WORDS, [f"{n}" for n in range(100, 999)], 31)
        entry: dict[str, Any] = {"kind": kind, "name": name, "description": f"{name} ({kind.replace('_', ' ')})",
                                 "price": str(money(Decimal(rng.randint(100, 99999)) / 100))}
        if kind == "inventory":
            entry.update(income_account="Sales", cogs_account="Cost of Goods Sold", asset_account="Inventory Asset",
                         quantity_on_hand=str(rng.randint(0, 500)), manufacturer_part_number=f"MPN-{index:04d}")
        else:
            entry["account"] = "Services" if kind == "service" else "Sales"
        if rng.random() < problems.inactive:
            entry["active"] = False
            planted["inactive"].append(name)
        add_item(company, entry)
    return GeneratedCompany(company, {key: names for key, names in planted.items() if names})
