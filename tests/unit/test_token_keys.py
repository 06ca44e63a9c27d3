"""Token encryption: newest key encrypts, any key decrypts, an old key's token is flagged for rewriting."""
from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from qbwc_bridge.token_keys import TokenCipher, TokenKeyError, development_keys


def key() -> str:
    return Fernet.generate_key().decode()


def test_encrypts_with_the_newest_and_never_shows_the_token():
    cipher = TokenCipher((key(), key()))
    stored = cipher.encrypt("refresh-token-123")
    assert "refresh-token-123" not in stored
    assert cipher.decrypt(stored) == ("refresh-token-123", False)


def test_a_token_under_an_older_key_decrypts_and_asks_to_be_stored_again():
    old, new = key(), key()
    stored = TokenCipher((old,)).encrypt("abc")
    rotated = TokenCipher((new, old))
    assert rotated.decrypt(stored) == ("abc", True)
    assert TokenCipher((new,)).decrypt(rotated.encrypt("abc")) == ("abc", False)


def test_a_token_no_key_fits_is_a_plain_error():
    stored = TokenCipher((key(),)).encrypt("abc")
    with pytest.raises(TokenKeyError, match="QBWC_BRIDGE_TOKEN_KEYS"):
        TokenCipher((key(),)).decrypt(stored)
    with pytest.raises(TokenKeyError):
        TokenCipher(())


def _read_keys(data_dir: str, queue) -> None:
    queue.put(development_keys(Path(data_dir)))


def test_processes_starting_at_once_all_read_the_one_winning_key(tmp_path):
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_read_keys, args=(str(tmp_path / "var"), queue)) for _ in range(6)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join()
    assert len(set(results)) == 1 and len(results[0]) == 1
    assert os.listdir(tmp_path / "var") == ["token_keys"]  # no candidate left behind
    assert (tmp_path / "var" / "token_keys").stat().st_mode & 0o777 == 0o600
