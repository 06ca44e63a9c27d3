"""QuickBooks Online settings: Intuit's defaults, the https rule for overrides, the token keys."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from qbwc_bridge.config import Settings
from qbwc_bridge.errors import ConfigurationError


def env(tmp_path, **values: str) -> dict[str, str]:
    return {"QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"), **{f"QBWC_BRIDGE_{k}": v for k, v in values.items()}}


def test_defaults_are_intuits_sandbox_and_the_public_callback(tmp_path):
    settings = Settings.from_env(env(tmp_path, PUBLIC_URL="https://bridge.example.com"))
    assert settings.qbo_environment == "sandbox"
    assert settings.qbo_api_base == "https://sandbox-quickbooks.api.intuit.com"
    assert settings.qbo_authorize_url == "https://appcenter.intuit.com/connect/oauth2"
    assert settings.qbo_token_url == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert settings.qbo_revoke_url == "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    assert settings.qbo_redirect_uri == "https://bridge.example.com/qbo/callback"
    assert not settings.qbo_configured


def test_production_has_its_own_api_base_and_overrides_win(tmp_path):
    settings = Settings.from_env(env(tmp_path, QBO_ENVIRONMENT="Production", QBO_CLIENT_ID="id", QBO_CLIENT_SECRET="s",
                                     PUBLIC_URL="https://b.example.com"))
    assert settings.qbo_api_base == "https://quickbooks.api.intuit.com" and settings.qbo_configured
    local = Settings.from_env(env(
        tmp_path, QBO_API_BASE="http://127.0.0.1:9000/", QBO_TOKEN_URL="http://localhost:9000/oauth2/v1/tokens/bearer",
        QBO_REDIRECT_URI="https://bridge.example.com/qbo/callback",
    ))
    assert local.qbo_api_base == "http://127.0.0.1:9000"
    assert local.qbo_token_url == "http://localhost:9000/oauth2/v1/tokens/bearer"
    assert local.qbo_redirect_uri == "https://bridge.example.com/qbo/callback"


@pytest.mark.parametrize("name, value", [
    ("QBO_API_BASE", "http://quickbooks.example.com"),
    ("QBO_API_BASE", "https://quickbooks.example.com/v3/company"),
    ("QBO_AUTHORIZE_URL", "http://appcenter.example.com/connect/oauth2"),
    ("QBO_TOKEN_URL", "http://10.0.0.5/oauth2/v1/tokens/bearer"),
    ("QBO_REVOKE_URL", "ftp://localhost/revoke"),
    ("QBO_REDIRECT_URI", "http://bridge.example.com/qbo/callback"),
    ("QBO_ENVIRONMENT", "staging"),
    ("TOKEN_KEYS", "not-a-key"),
    ("TOKEN_KEYS", " , "),
])
def test_a_bad_qbo_value_is_one_line_naming_its_variable(tmp_path, name, value):
    with pytest.raises(ConfigurationError, match=f"QBWC_BRIDGE_{name}") as refused:
        Settings.from_env(env(tmp_path, **{name: value}))
    assert "\n" not in str(refused.value)


def test_client_id_and_secret_go_together(tmp_path):
    with pytest.raises(ConfigurationError, match="QBWC_BRIDGE_QBO_CLIENT_SECRET"):
        Settings.from_env(env(tmp_path, QBO_CLIENT_ID="id"))


def test_with_app_keys_a_plain_http_public_url_cannot_be_the_redirect(tmp_path):
    with pytest.raises(ConfigurationError, match="QBWC_BRIDGE_PUBLIC_URL"):
        Settings.from_env(env(tmp_path, QBO_CLIENT_ID="id", QBO_CLIENT_SECRET="s", PUBLIC_URL="http://bridge.example.com"))
    assert Settings.from_env(env(tmp_path, QBO_CLIENT_ID="id", QBO_CLIENT_SECRET="s")).qbo_configured  # localhost


def test_token_keys_from_the_environment_keep_their_order(tmp_path):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = Settings.from_env(env(tmp_path, TOKEN_KEYS=f" {new} ,{old}"))
    assert settings.token_keys == (new, old)
    assert new not in repr(settings)


def test_without_token_keys_development_gets_one_private_key_in_the_data_dir(tmp_path):
    first = Settings.from_env(env(tmp_path))
    assert len(first.token_keys) == 1
    assert (tmp_path / "var" / "token_keys").stat().st_mode & 0o777 == 0o600
    assert Settings.from_env(env(tmp_path)).token_keys == first.token_keys
