import stat
from pathlib import Path

import pytest

from hookline.errors import ConfigurationError
from hookline.vault import KEY_FILE, Vault, generate_key


def test_secrets_round_trip_and_are_not_stored_in_clear() -> None:
    vault = Vault([generate_key()])
    sealed = vault.seal("whsec_abc")
    assert "whsec_abc" not in sealed
    assert vault.open(sealed) == "whsec_abc"
    assert vault.seal("whsec_abc") != sealed  # a fresh IV every time


def test_a_key_file_is_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Vault.load(None, data)
    mode = stat.S_IMODE((data / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    sealed = first.seal("whsec_x")
    assert Vault.load(None, data).open(sealed) == "whsec_x"  # the same key next time


def test_rotation_keeps_old_secrets_readable_then_reseals_them() -> None:
    old, new = generate_key(), generate_key()
    sealed_with_old = Vault([old]).seal("whsec_x")
    rotating = Vault.load(f"{new},{old}", Path("/nonexistent"))
    assert rotating.open(sealed_with_old) == "whsec_x"
    resealed = rotating.reseal(sealed_with_old)
    assert Vault([new]).open(resealed) == "whsec_x"
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        Vault([old]).open(resealed)


def test_a_malformed_key_says_how_to_make_one() -> None:
    with pytest.raises(ConfigurationError, match="hookline secrets generate-key"):
        Vault(["not-a-key"])
