"""The support view lists failing webhook endpoints: retrying, given up, and the last error."""
from __future__ import annotations

from qbwc_bridge.store.models import WebhookDelivery, WebhookEndpoint, utcnow
from qbwc_bridge.webhooks.sealed_secret import SecretBox, new_secret
from tests.integration.admin_pages import admin_app, client, people  # noqa: F401 (fixtures)


def test_support_sees_failing_webhook_endpoints(client, people, store):
    now = utcnow()
    with store.begin() as db:
        for account in (people.acme, people.globex):
            db.add(WebhookEndpoint(account_id=account.account_id, url=f"https://hooks.{account.name[:4].lower()}.test/in",
                                   events=["invoice.created"], secret_sealed=SecretBox("s" * 40).seal(new_secret())))
        db.add(WebhookDelivery(event_id="e-1", account_id=people.globex.account_id, type="invoice.created",
                               occurred_at=now, body="{}", order_key="order:1", state="pending", attempts=3,
                               next_attempt_at=now, last_status=503, last_error="HTTP 503: down for maintenance"))
        db.add(WebhookDelivery(event_id="e-2", account_id=people.acme.account_id, type="invoice.created",
                               occurred_at=now, body="{}", order_key="order:2", state="delivered", attempts=1,
                               next_attempt_at=now, last_status=200))  # fmt: skip
    client.login(people.support)
    page = client.get("/admin/support/").get_data(as_text=True)
    failing = page[page.index("Failing webhook endpoints"):]
    assert "https://hooks.glob.test/in" in failing and "HTTP 503: down for maintenance" in failing
    assert "hooks.acme.test" not in failing  # delivered: nothing to look at
