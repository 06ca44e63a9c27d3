"""Sales tax outside the US: the tax-code setting, end to end against the fake Intuit.

A QuickBooks Online company outside the US needs a VAT/GST tax code on every invoice line.
The worker pulls the company's tax codes with the other small lists; the person chooses one
(PATCH /settings or the General tab); until then the order is blocked with an Action that
says where to choose it, and choosing it lets the order go out, once, with the code on
every line. A US company is unchanged: QuickBooks' automated sales tax works the tax out.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, func, select

from qbwc_bridge import security
from qbwc_bridge.domain import InvoiceStatus
from qbwc_bridge.operations import ListName, OperationKind
from qbwc_bridge.services import catalog
from qbwc_bridge.services.users import create_user
from qbwc_bridge.store.models import Account, OutboxOperation, QbTaxCode, SyncCursor
from qbwc_bridge.web.app import create_app

from tests.contract.stories import connected, order_status, send_order
from tests.contract.worlds import REALM, OnlineWorld
from tests.integration.admin_pages import PASSWORD, AdminClient
from tests.integration.conftest import settings, store  # noqa: F401  (the fixtures the world stands on)

API_TOKEN = "tax-code-test-token"
BOOKKEEPER = "books@uk.test"


@pytest.fixture
def world(store, settings) -> Iterator[OnlineWorld]:  # noqa: F811
    built = OnlineWorld(store, settings)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def app(world):
    """The bridge's web app over the world's store: the API with a known token, the admin with a bookkeeper."""
    with world.store.begin() as db:
        db.get(Account, world.account_id).api_token_hash = security.token_hash(API_TOKEN)
        create_user(db, BOOKKEEPER, PASSWORD, "bookkeeper", world.account_id)
    return create_app(world.settings, world.store)


def patch_settings(app, changes: dict):
    return app.flask.test_client().patch("/api/v1/settings", data=json.dumps(changes),
                                          headers={"Authorization": f"Bearer {API_TOKEN}",
                                                   "Content-Type": "application/json"})


def uk_company(world: OnlineWorld) -> None:
    world.company.settings.country = "GB"
    world.company.seed_tax_codes()
    world.company.add_tax_code("17.5% S", "Standard rate before 2011", active=False)


def with_order(world: OnlineWorld, order_id: str = "o-1", number: str = "SO-1001") -> None:
    """A connected company creating invoices, a matched customer and two items, one packed order of both."""
    connected(world, invoice_creation=True)
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Lake", "billing_email": "billing@lake.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-4", "name": "Widget four"})
        catalog.upsert_item(db, world.account_id, "i-2", {"sku": "W-5", "name": "Widget five"})
    send_order(world, order_id, number, "c-1", "i-1", "i-2")


def test_the_tax_codes_of_a_company_outside_the_us_are_synced_inactive_included(world):
    uk_company(world)
    connected(world)
    with world.store.begin() as db:
        mirrored = {code.full_name: code.is_active for code in
                    db.scalars(select(QbTaxCode).where(QbTaxCode.account_id == world.account_id))}
    assert mirrored == {"20.0% S": True, "5.0% R": True, "0.0% Z": True, "Exempt": True, "No VAT": True,
                        "17.5% S": False}


def test_without_the_setting_the_order_is_blocked_saying_where_to_choose_the_tax_code(world):
    uk_company(world)
    with_order(world)
    world.run()
    blocked = order_status(world, "o-1")
    assert blocked.status == InvoiceStatus.BLOCKED.value
    assert "General tab" in blocked.action and "Tax code" in blocked.action
    assert world.intuit.invoices(REALM) == []


def test_choosing_the_tax_code_lets_the_order_go_out_once_with_the_code_on_every_line(world, app):
    uk_company(world)
    with_order(world)
    world.run()
    assert order_status(world, "o-1").status == InvoiceStatus.BLOCKED.value
    standard = world.company.tax_code_named("20.0% S")
    answer = patch_settings(app, {"tax_code": "20.0% S"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["tax_code"] == {"id": standard["Id"], "name": "20.0% S", "missing": False,
                                             "active": True}
    world.run()
    world.run()
    [invoice] = world.intuit.invoices(REALM)
    lines = [line["SalesItemLineDetail"] for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    assert len(lines) == 2
    assert [line["TaxCodeRef"]["value"] for line in lines] == [standard["Id"]] * 2
    assert order_status(world, "o-1").status == InvoiceStatus.CREATED.value
    send_order(world, "o-2", "SO-1002", "c-1", "i-1")  # later orders carry it from the start
    world.run()
    assert order_status(world, "o-2").status == InvoiceStatus.CREATED.value
    assert len(world.intuit.invoices(REALM)) == 2


@pytest.mark.parametrize("code, words", [("99.9% X", "no tax code named"), ("17.5% S", "inactive")])
def test_a_tax_code_the_company_lacks_or_retired_is_refused_naming_the_setting(world, app, code, words):
    uk_company(world)
    connected(world)
    answer = patch_settings(app, {"tax_code": code})
    assert answer.status_code == 422, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["field"] == "tax_code" and words in error["message"]
    with world.store.begin() as db:
        assert db.get(Account, world.account_id).tax_code_id is None


def test_a_us_company_takes_no_tax_code_and_sends_none(world, app):
    with_order(world)
    world.run()
    [invoice] = world.intuit.invoices(REALM)
    # The fake stores QuickBooks' own "NON" on a US line that named no code: we sent none.
    assert {line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in invoice["Line"]
            if line["DetailType"] == "SalesItemLineDetail"} == {"NON"}
    answer = patch_settings(app, {"tax_code": "TAX"})
    assert answer.status_code == 422 and "US sales tax" in answer.get_json()["error"]["message"]


def admin(app) -> AdminClient:
    client = AdminClient(app.flask)
    assert client.login(BOOKKEEPER).status_code == 302
    return client


def test_the_general_tab_of_a_company_outside_the_us_offers_its_active_tax_codes_and_saves_one(world, app):
    uk_company(world)
    connected(world)
    client = admin(app)
    page = client.get(f"/admin/accounts/{world.account_id}/general").get_data(as_text=True)
    standard, retired = world.company.tax_code_named("20.0% S"), world.company.tax_code_named("17.5% S")
    assert 'id="tax_code"' in page and "Tax code" in page
    assert f'<option value="{standard["Id"]}"' in page and f'<option value="{retired["Id"]}"' not in page
    response = client.post(f"/admin/accounts/{world.account_id}/general",
                           {"tax_code": standard["Id"], "invoice_creation": "on"})
    assert response.status_code == 302
    assert "General settings saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    with world.store.begin() as db:
        assert db.get(Account, world.account_id).tax_code_id == standard["Id"]


def test_the_general_tab_of_a_us_company_says_quickbooks_applies_sales_tax_itself(world, app):
    connected(world)
    page = admin(app).get(f"/admin/accounts/{world.account_id}/general").get_data(as_text=True)
    assert 'id="tax_code"' not in page
    assert "QuickBooks applies US sales tax itself" in page


def test_a_chosen_tax_code_retired_in_quickbooks_blocks_the_next_order_until_another_is_chosen(world, app):
    uk_company(world)
    with_order(world)
    assert patch_settings(app, {"tax_code": "20.0% S"}).status_code == 200
    world.run()
    assert len(world.intuit.invoices(REALM)) == 1
    world.company.update("TaxCode", world.company.tax_code_named("20.0% S")["Id"], Active=False)
    world.later(minutes=61)  # the whole lists are pulled hourly
    world.run()
    send_order(world, "o-2", "SO-1002", "c-1", "i-1")
    world.run()
    blocked = order_status(world, "o-2")
    assert blocked.status == InvoiceStatus.BLOCKED.value and "General tab \u2192 Tax code" in blocked.action
    assert len(world.intuit.invoices(REALM)) == 1  # nothing sent QuickBooks would refuse
    assert patch_settings(app, {"tax_code": "0.0% Z"}).status_code == 200
    world.run()
    assert order_status(world, "o-2").status == InvoiceStatus.CREATED.value
    zero = world.company.tax_code_named("0.0% Z")["Id"]
    assert world.intuit.invoices(REALM)[-1]["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"]["value"] == zero


def test_an_account_connected_before_tax_codes_were_pulled_gets_them_on_its_next_drive(world):
    uk_company(world)
    connected(world)
    with world.store.begin() as db:  # as the account stood before this list existed
        db.execute(delete(QbTaxCode).where(QbTaxCode.account_id == world.account_id))
        db.execute(delete(SyncCursor).where(SyncCursor.account_id == world.account_id,
                                            SyncCursor.list_name == ListName.TAX_CODES.value))
        db.execute(delete(OutboxOperation).where(OutboxOperation.account_id == world.account_id,
                                                 OutboxOperation.kind == OperationKind.SYNC_TAX_CODES.value))
    world.run()
    with world.store.begin() as db:
        names = set(db.scalars(select(QbTaxCode.full_name).where(QbTaxCode.account_id == world.account_id)))
        pulled = db.get(SyncCursor, (world.account_id, ListName.TAX_CODES.value))
        assert pulled.initial_done  # from now on pulled hourly, like terms, not on every drive
    assert "20.0% S" in names
    world.later(minutes=10)
    world.run()
    with world.store.begin() as db:
        assert db.scalar(select(func.count()).select_from(OutboxOperation).where(
            OutboxOperation.account_id == world.account_id,
            OutboxOperation.kind == OperationKind.SYNC_TAX_CODES.value)) == 1
