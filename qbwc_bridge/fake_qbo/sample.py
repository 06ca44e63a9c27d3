"""A small, realistic sample company for the demo and for support: QuickBooks' sandbox names.

Items carry SKUs except one (the "turn on SKU" hint has something to find), customers
carry billing emails except one, and one of each is inactive, so matching shows its
issues without any setup.
"""
from __future__ import annotations

from .company import FakeCompany
from .intuit import FakeIntuit

SAMPLE_REALM = "9130350000000001"
SAMPLE_NAME = "Sandbox Company US"

ITEMS = (
    ("Design", "DSN-100", "75", "Services"),
    ("Installation", "INS-200", "50", "Services"),
    ("Rock Fountain", "FTN-300", "275", "Sales of Product Income"),
    ("Garden Rocks", "RCK-400", "22.50", "Sales of Product Income"),
    ("Sprinkler Heads", "SPR-500", "2", "Sales of Product Income"),
    ("Pest Control", None, "35", "Services"),
)
CUSTOMERS = (
    ("Amy's Bird Sanctuary", "Birds@Intuit.com", "Net 30"),
    ("Bill's Windsurf Shop", "Surf@Intuit.com", None),
    ("Cool Cars", "Cool_Cars@intuit.com", "Net 15"),
    ("Dukes Basketball Camp", "Dukes_bball@intuit.com", None),
    ("Weiskopf Consulting", None, None),
)


def add_sample_company(intuit: FakeIntuit, realm: str = SAMPLE_REALM, name: str = SAMPLE_NAME) -> FakeCompany:
    company = intuit.add_company(realm, name)
    for item_name, sku, price, account in ITEMS:
        company.add_item(item_name, sku=sku, unit_price=price, income_account=account)
    company.add_item("Lighting (old)", sku="LGT-900", unit_price="10", active=False)
    for display_name, email, terms in CUSTOMERS:
        company.add_customer(display_name, email=email, terms=terms)
    company.add_customer("Diego Rodriguez (closed)", email="Diego@Intuit.com", active=False)
    company.add_vendor("Robertson & Associates")
    company.add_employee("Emily Platt")
    return company
