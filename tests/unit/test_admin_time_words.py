"""The admin's relative time words: moments past and ahead (an authorization's expiry)."""
from __future__ import annotations

import datetime as dt

from qbwc_bridge.web.admin import ago

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone.utc)


def test_past_moments_read_ago_and_moments_ahead_read_in():
    assert ago(NOW - dt.timedelta(minutes=5), NOW) == "5 minutes ago"
    assert ago(NOW - dt.timedelta(seconds=20), NOW) == "just now"
    assert ago(NOW + dt.timedelta(days=100), NOW) == "in 100 days"
    assert ago(NOW + dt.timedelta(hours=1, minutes=2), NOW) == "in 1 hour"
    assert ago(None, NOW) == "never"
