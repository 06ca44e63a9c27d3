"""Support staff's view: every account's health, its sessions, and exchange logs with secrets redacted."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from qbwc_bridge import outbox
from qbwc_bridge.services.diagnostics import REDACTED, redact
from qbwc_bridge.store.models import Account, ExchangeLogEntry, WebConnectorSession, utcnow
from tests.integration.admin_pages import admin_app, client, people  # noqa: F401 (fixtures)

SECRET = "hunter2-Zq9"
REQUEST = (
    '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="continueOnError">'
    '<CustomerAddRq requestID="7"><CustomerAdd><Name>Tom &amp; Jerry &lt;script&gt;alert(1)&lt;/script&gt;</Name>'
    "</CustomerAdd></CustomerAddRq></QBXMLMsgsRq></QBXML>"
)


def _a_session_with_secrets(store, account_id: int) -> int:
    with store.begin() as db:
        now = utcnow()
        ws = WebConnectorSession(account_id=account_id, ticket_hash="f" * 64, created_at=now, last_seen_at=now,
                                 expires_at=now + dt.timedelta(minutes=30), company_file_name=r"C:\Books\acme.qbw",
                                 company_verified=True, round_trips=1)  # fmt: skip
        db.add(ws)
        db.flush()
        db.add_all([
            ExchangeLogEntry(account_id=account_id, session_id=ws.id, operation="authenticate", direction="in",
                             summary=f"login password={SECRET}",
                             body=f"<authenticate><strUserName>bt-acme</strUserName><strPassword>{SECRET}</strPassword></authenticate>"),
            ExchangeLogEntry(account_id=account_id, session_id=ws.id, operation="sendRequestXML", direction="out",
                             summary="1 request(s)", body=f"<ticket>{SECRET}</ticket>" + REQUEST),
            ExchangeLogEntry(account_id=account_id, session_id=None, operation="authenticate", direction="in",
                             summary="wrong password"),
        ])  # fmt: skip
        return ws.id


def test_support_reads_a_session_log_with_secrets_redacted_and_xml_escaped(client, people, store):
    session_id = _a_session_with_secrets(store, people.globex.account_id)
    client.login(people.support)
    sessions = client.get(f"/admin/support/accounts/{people.globex.account_id}").get_data(as_text=True)
    assert f"#{session_id}" in sessions and "Exchange log (2)" in sessions and "wrong password" in sessions

    response = client.get(f"/admin/support/accounts/{people.globex.account_id}/sessions/{session_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert SECRET not in page
    assert page.count(REDACTED) >= 3
    assert "&lt;CustomerAddRq requestID=&#34;7&#34;&gt;" in page  # the qbXML is shown as text, never as markup
    assert "<script>" not in page and "&amp;lt;script&amp;gt;" in page
    assert "bt-acme" in page  # only secrets are hidden


def test_a_session_is_read_through_its_own_account_only(client, people, store):
    session_id = _a_session_with_secrets(store, people.globex.account_id)
    client.login(people.support)
    assert client.get(f"/admin/support/accounts/{people.acme.account_id}/sessions/{session_id}").status_code == 404


def test_support_list_shows_health_of_every_account(client, people, store):
    with store.begin() as db:
        globex = db.get(Account, people.globex.account_id)
        globex.status, globex.status_message, globex.error_code = "error", "QuickBooks is not running.", "0x80040408"
        globex.error_at = globex.last_contact_at = utcnow() - dt.timedelta(minutes=5)
        for n in range(3):
            outbox.enqueue(db, globex.id, "sync_terms", {"n": n})
    client.login(people.support)
    page = client.get("/admin/support/").get_data(as_text=True)
    globex_row = page[page.index("Globex Traders"):]
    globex_row = globex_row[: globex_row.index("</tr>")]
    assert "QuickBooks is not running." in globex_row
    assert "5 minutes ago" in globex_row
    assert '<td>3 <span class="muted">oldest <time' in globex_row  # waiting operations and their age
    assert f"/admin/accounts/{people.globex.account_id}/qwc" in globex_row
    assert "Reset password" in globex_row
    searched = client.get("/admin/support/?q=acme").get_data(as_text=True)
    assert "Acme Supply" in searched and "Globex Traders" not in searched


def test_support_downloads_another_accounts_qwc(client, people):
    client.login(people.support)
    response = client.get(f"/admin/accounts/{people.globex.account_id}/qwc")
    assert response.status_code == 200 and people.globex.wc_username.encode() in response.data


_secret = st.text(alphabet=st.characters(blacklist_characters="<&", blacklist_categories=("Cs",)), min_size=1)


@given(tag=st.sampled_from(["strPassword", "ticket", "Password", "qbwc:ticket", "APIToken", "CreditCardNumber"]),
       secret=_secret, before=st.text(alphabet="abc <>/=\"'", max_size=20))  # fmt: skip
def test_redaction_removes_any_secret_element_text(tag, secret, before):
    text = f"{before}<{tag} a=\"1\">{secret}</{tag}>{before}"
    redacted = redact(text)
    assert f"<{tag} a=\"1\">{REDACTED}</{tag}>" in redacted
    assert redacted.replace(f"<{tag} a=\"1\">{REDACTED}</{tag}>", "") == before + before


def test_redaction_of_plain_text_pairs():
    assert redact("password=abc ticket: xyz, other=1") == f"password={REDACTED} ticket: {REDACTED}, other=1"
    assert redact(None) is None
