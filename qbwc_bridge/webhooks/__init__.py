"""Signed webhooks to BlueTrace: events recorded with the change that causes them, delivered at least once.

- :mod:`.events`: the event types and their recording, in the unit of work of the change.
- :mod:`.signature`: the ``X-QBWC-Bridge-Signature`` header (HMAC-SHA256 over timestamp + body).
- :mod:`.sealed_secret`: the per-account secret, encrypted at rest (it must be recoverable to sign).
- :mod:`.endpoints`: the account's endpoint and its deliveries (``/api/v1/webhook``).
- :mod:`.deliverer`: drains the durable queue (``serve``'s thread, ``qbwc-bridge deliver-webhooks``).
"""
