from __future__ import annotations

import pytest

from qbwc_bridge.config import Settings
from qbwc_bridge.errors import ConfigurationError


def test_defaults_use_sqlite_under_the_data_dir_and_create_a_private_secret(tmp_path):
    settings = Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var")})
    assert settings.database_url == f"sqlite:///{tmp_path}/var/qbwc_bridge.sqlite3"
    assert settings.public_url == "http://localhost:8080"
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    again = Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var")})
    assert again.secret_key == settings.secret_key
    assert settings.secure_cookies is False


@pytest.mark.parametrize("name, value", [
    ("DATABASE_URL", "not a url"),
    ("PUBLIC_URL", "ftp://x"),
    ("PUBLIC_URL", "https://x/?a=b"),
    ("SECRET_KEY", "short"),
    ("LOG_LEVEL", "LOUD"),
    ("RUN_EVERY_MINUTES", "0"),
    ("RUN_EVERY_MINUTES", "ten"),
    ("SECURE_COOKIES", "maybe"),
    ("TRUSTED_PROXIES", "10.0.0.1, proxy.internal"),
])
def test_a_bad_value_names_its_variable(tmp_path, name, value):
    with pytest.raises(ConfigurationError, match=f"QBWC_BRIDGE_{name}"):
        Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path), f"QBWC_BRIDGE_{name}": value})


def test_https_public_url_turns_on_secure_cookies(tmp_path):
    settings = Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path), "QBWC_BRIDGE_PUBLIC_URL": "https://b.example.com/"})
    assert settings.public_url == "https://b.example.com" and settings.secure_cookies


def test_trusted_proxies_are_addresses_and_networks(tmp_path):
    settings = Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path), "QBWC_BRIDGE_TRUSTED_PROXIES": "10.0.0.0/8, ::1,"})
    assert [str(network) for network in settings.trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    assert Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path)}).trusted_proxies == ()
