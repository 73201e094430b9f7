import pytest
from pydantic import ValidationError

from hookline.config import Settings


def test_defaults_follow_the_design() -> None:
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite:///./hookline.db"
    assert settings.retry_schedule == (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    assert settings.max_attempts == 8
    assert settings.request_timeout == 15
    assert settings.lease > settings.request_timeout


def test_retry_schedule_comes_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOOKLINE_RETRY_SCHEDULE", "1, 2.5,60")
    assert Settings(_env_file=None).retry_schedule == (1.0, 2.5, 60.0)


def test_a_bad_retry_schedule_says_how_to_write_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_RETRY_SCHEDULE", "5,five")
    with pytest.raises(ValidationError, match="comma-separated seconds"):
        Settings(_env_file=None)


def test_a_lease_shorter_than_the_timeout_is_refused() -> None:
    with pytest.raises(ValidationError, match="must be longer than"):
        Settings(_env_file=None, request_timeout=10, lease_seconds=5)


def test_a_lease_shorter_than_a_webhooks_longest_timeout_is_refused() -> None:
    with pytest.raises(ValidationError, match="HOOKLINE_MAX_REQUEST_TIMEOUT"):
        Settings(_env_file=None, request_timeout=10, max_request_timeout=60, lease_seconds=30)
    lease = Settings(_env_file=None, request_timeout=10, max_request_timeout=20).lease
    assert lease == 45


def test_a_blank_admin_key_means_none_was_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_ADMIN_KEY", " ")
    assert Settings(_env_file=None).admin_key is None


def test_a_short_admin_key_is_refused_with_a_way_to_make_one() -> None:
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(_env_file=None, admin_key="hunter2")


def test_every_setting_is_documented_with_its_default() -> None:
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    for name in Settings.model_fields:
        assert f"HOOKLINE_{name.upper()}" in guide, f"document HOOKLINE_{name.upper()}"


def test_the_seed_names_for_the_circuit_breaker_are_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEBHOOK_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "7")
    monkeypatch.setenv("WEBHOOK_CIRCUIT_BREAKER_RECOVERY_TIME", "90")
    settings = Settings(_env_file=None)
    assert (settings.circuit_breaker_failure_threshold, settings.circuit_breaker_recovery_time) == (
        7,
        90,
    )
    monkeypatch.setenv("HOOKLINE_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "3")
    assert Settings(_env_file=None).circuit_breaker_failure_threshold == 3


def test_allowed_networks_must_be_cidrs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLINE_ALLOWED_NETWORKS", "10.0.0.0/8, 192.168.1.0/24")
    assert Settings(_env_file=None).allowed_networks == ("10.0.0.0/8", "192.168.1.0/24")
    monkeypatch.setenv("HOOKLINE_ALLOWED_NETWORKS", "10.0.0.0/8,intranet")
    with pytest.raises(ValidationError, match="'intranet' is not a CIDR network"):
        Settings(_env_file=None)
