"""Declared configuration, parsed: the seeds' environment variables and the HOOKLINE_CONFIG file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hookline.declared import (
    CatalogEntry,
    env_name,
    env_webhooks,
    environment,
    implied_destinations,
    parse_file,
)
from hookline.errors import ConfigurationError

CATALOG = [
    CatalogEntry("LIQUIDATION_CASCADE", "CASCADE"),
    CatalogEntry("FUNDING_ANOMALY", "FUNDING"),
    CatalogEntry("FUNDING_REVERSAL", "FUNDING"),
    CatalogEntry("order.filled", None),
    CatalogEntry("order.canceled", "orders"),
]


@pytest.mark.parametrize(
    ("name", "spelled"),
    [("order.filled", "ORDER_FILLED"), ("price-above", "PRICE_ABOVE"), ("CASCADE", "CASCADE")],
)
def test_names_are_spelled_in_upper_case_with_underscores(name: str, spelled: str) -> None:
    assert env_name(name) == spelled


def test_webhooks_all_takes_every_event_and_a_group_takes_its_types() -> None:
    env = {
        "WEBHOOKS_ALL": "https://a.example/all",
        "WEBHOOKS_FUNDING": "https://b.example/1, https://b.example/2",
        "webhooks_order_filled": "ignored: lower case is not the seed's spelling",
        "WEBHOOKS_Order_Filled": "https://c.example/of",
        "WEBHOOKS_REGIME": "",  # empty: nothing declared
    }
    declared = {(w.where, w.spec.url): w for w in env_webhooks(env, CATALOG)}
    assert sorted(declared) == [
        ("WEBHOOKS_ALL", "https://a.example/all"),
        ("WEBHOOKS_FUNDING", "https://b.example/1"),
        ("WEBHOOKS_FUNDING", "https://b.example/2"),
        ("WEBHOOKS_Order_Filled", "https://c.example/of"),
    ]
    assert declared["WEBHOOKS_ALL", "https://a.example/all"].spec.event_types == []
    funding = declared["WEBHOOKS_FUNDING", "https://b.example/1"]
    assert funding.spec.event_types == ["FUNDING_ANOMALY", "FUNDING_REVERSAL"]
    assert declared["WEBHOOKS_Order_Filled", "https://c.example/of"].spec.event_types == [
        "order.filled"
    ]
    assert {w.tenant for w in declared.values()} == {"default"}
    assert {w.source for w in declared.values()} == {"env"}
    assert funding.key == "env:WEBHOOKS_FUNDING:https://b.example/1"


def test_seed_000_webhooks_send_the_object_as_the_body_and_chat_urls_get_their_own_format() -> None:
    env = {
        "WEBHOOKS_CASCADE": "https://hooks.example/cascade,https://discord.com/api/webhooks/1/t",
        "WEBHOOK_SECRET": "seed-000-shared-secret",
    }
    plain, discord = env_webhooks(env, CATALOG)
    assert plain.spec.format == "data"
    assert discord.spec.format == "discord"  # seed 000's format_for_discord
    assert plain.spec.signature == {"header": "X-Webhook-Signature"}
    assert plain.spec.secret == "seed-000-shared-secret"
    # The installation's policy unless the seed 002 variables say otherwise.
    assert (plain.spec.timeout, plain.spec.retry_schedule) == (None, None)


def test_without_a_secret_env_webhooks_are_signed_the_standard_way() -> None:
    [hook] = env_webhooks({"WEBHOOKS_ALL": "https://a.example/"}, CATALOG)
    assert (hook.spec.signature, hook.spec.secret) == (None, None)


def test_seed_002_variables_with_their_defaults() -> None:
    env = {"WEBHOOK_URL": "https://hokusai.example/api/models/ready", "WEBHOOK_SECRET": "s" * 20}
    [hook] = env_webhooks(env, CATALOG)
    assert hook.where == "WEBHOOK_URL"
    assert hook.spec.event_types == []
    assert hook.spec.format == "data"
    assert hook.spec.timeout == 30
    assert hook.spec.retry_schedule == [2, 4, 8, 16, 32]
    assert hook.spec.signature == {"header": "X-Webhook-Signature"}


def test_seed_002_variables_set() -> None:
    env = {
        "WEBHOOK_URL": "https://hokusai.example/ready",
        "WEBHOOK_SECRET": "s" * 20,
        "WEBHOOK_TIMEOUT": "12.5",
        "WEBHOOK_MAX_RETRIES": "3",
        "WEBHOOK_RETRY_DELAY": "1",
        "WEBHOOK_SIGNATURE_HEADER": "X-Hokusai-Signature",
        "WEBHOOK_FORMAT": "standard",
    }
    [hook] = env_webhooks(env, CATALOG)
    assert hook.spec.timeout == 12.5
    assert hook.spec.retry_schedule == [1, 2, 4]
    assert hook.spec.signature == {"header": "X-Hokusai-Signature"}
    assert hook.spec.format == "standard"
    # ...and the delivery policy applies to seed 000's webhooks too once it is set.
    [group] = env_webhooks(
        {**env, "WEBHOOK_URL": "", "WEBHOOKS_CASCADE": "https://x.example"},
        [CatalogEntry("LIQUIDATION_CASCADE", "CASCADE")],
    )
    assert (group.spec.timeout, group.spec.retry_schedule) == (12.5, [1, 2, 4])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEBHOOK_URL": "https://a.example", "WEBHOOK_TIMEOUT": "soon"}, "WEBHOOK_TIMEOUT must"),
        ({"WEBHOOK_URL": "https://a.example", "WEBHOOK_MAX_RETRIES": "2.5"}, "whole number"),
        ({"WEBHOOK_URL": "https://a.example", "WEBHOOK_RETRY_DELAY": "-1"}, "not be negative"),
        ({"WEBHOOK_URL": "https://a.example", "WEBHOOK_FORMAT": "xml"}, "WEBHOOK_FORMAT"),
    ],
)
def test_bad_seed_variables_say_which_and_how(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        env_webhooks(env, CATALOG)


def test_a_name_matching_nothing_lists_what_it_could_mean() -> None:
    with pytest.raises(ConfigurationError) as raised:
        env_webhooks({"WEBHOOKS_CASCADES": "https://a.example"}, CATALOG)
    message = raised.value.detail
    assert message.startswith("WEBHOOKS_CASCADES matches no event type group or event type")
    assert "did you mean WEBHOOKS_CASCADE" in message
    assert "WEBHOOKS_FUNDING (group)" in message
    assert "WEBHOOKS_ORDER_FILLED (order.filled)" in message


def test_the_environment_reads_a_dot_env_file_under_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("WEBHOOKS_ALL=https://from-file.example\nWEBHOOK_SECRET=file\n")
    monkeypatch.setenv("WEBHOOK_SECRET", "process")
    env = environment(dotenv)
    assert (env["WEBHOOKS_ALL"], env["WEBHOOK_SECRET"]) == ("https://from-file.example", "process")


# --- the file -------------------------------------------------------------------------------

FILE = """\
[[event_types]]
name = "LIQUIDATION_CASCADE"
group = "CASCADE"
schema = { type = "object", required = ["symbol"] }
examples = [{ symbol = "BTC/USDT" }]

[[tenants]]
uid = "acme"
name = "Acme Trading"
max_webhooks = 5

[[webhooks]]
tenant_id = "acme"
name = "alerts"
url = "https://acme.example/hooks"
event_types = ["LIQUIDATION_CASCADE"]
secret = "${ACME_SECRET}"
signature = { header = "X-Webhook-Signature" }

[[webhooks]]
url = "https://ops.example/all"
"""


def test_a_file_declares_event_types_tenants_and_webhooks() -> None:
    config = parse_file(FILE, {"ACME_SECRET": "acme-secret-0123456789"})
    [event_type] = config.event_types
    assert (event_type.name, event_type.group) == ("LIQUIDATION_CASCADE", "CASCADE")
    assert event_type.examples == [{"symbol": "BTC/USDT"}]
    [tenant] = config.tenants
    assert (tenant.uid, tenant.name, tenant.max_webhooks) == ("acme", "Acme Trading", 5)
    alerts, ops = config.webhooks
    assert (alerts.tenant, alerts.key, alerts.where) == ("acme", "file:acme:alerts", "webhooks[0]")
    assert alerts.spec.secret == "acme-secret-0123456789"
    assert alerts.spec.tenant_id is None
    assert (ops.tenant, ops.key) == ("default", "file:default:https://ops.example/all")


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[[webhooks]\nurl = 1", {}, r"^x.toml: not valid TOML: .*line 1"),
        ("[[hooks]]\nurl = 'x'", {}, r"'hooks' is not a table hookline reads; the tables are"),
        (
            "[[webhooks]]\nurl = 'https://a.example'\n\n[[webhooks]]\nname = 'b'\nurll = 'x'\n",
            {},
            r"^x.toml:6: webhooks\[1\].urll: 'urll' is not a field here; the fields are: url, ",
        ),
        (
            "[[webhooks]]\nname = 'no url'\n",
            {},
            r"^x.toml:1: webhooks\[0\].url: this field is required",
        ),
        (
            "[[webhooks]]\nurl = 'https://a.example'\ntimeout = 'long'\n",
            {},
            r"^x.toml:3: webhooks\[0\].timeout: Input should be a valid number",
        ),
        (
            FILE,
            {},
            r"^x.toml:17: webhooks\[0\].secret: \$\{ACME_SECRET\} is not set in the environment",
        ),
        ("[[tenants]]\nname = 'x'\n", {}, r"^x.toml:1: tenants\[0\]: uid is required"),
        (
            "[[event_types]]\nname = 'a'\n[[event_types]]\nname = 'a'\n",
            {},
            r"^x.toml:4: event_types\[1\].name: 'a' is declared twice",
        ),
        (
            "[[webhooks]]\nurl = 'https://a.example'\n[[webhooks]]\nurl = 'https://a.example'\n",
            {},
            r"webhooks\[1\].name: tenant 'default' already has a webhook declared as",
        ),
        ("event_types = 3\n", {}, r"event_types must be an array of tables, written"),
    ],
)
def test_a_bad_file_names_the_line_and_the_fix(
    text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_file(text, env, path="x.toml")


# --- seed 002's migration mode: ENABLE_REDIS_FALLBACK ----------------------------------------

SEED_002 = {"WEBHOOK_URL": "https://hokusai.example/ready", "WEBHOOK_SECRET": "s" * 20}


def test_the_redis_fallback_publishes_next_to_webhook_url_with_its_defaults() -> None:
    env = {**SEED_002, "ENABLE_REDIS_FALLBACK": "true", "WEBHOOK_SIGNATURE_HEADER": "X-Sig"}
    webhook, redis = env_webhooks(env, CATALOG)
    assert redis.where == "ENABLE_REDIS_FALLBACK"
    assert redis.key == "env:ENABLE_REDIS_FALLBACK"  # one per installation, whatever its URL
    assert redis.spec.url == "redis://localhost:6379/0?channel=hookline.events"
    assert (redis.tenant, redis.source) == (webhook.tenant, "env")
    # The same events, body, signature and schedule as the env webhook.
    for field in ("event_types", "format", "secret", "signature", "timeout", "retry_schedule"):
        assert getattr(redis.spec, field) == getattr(webhook.spec, field), field
    assert redis.spec.format == "data"
    assert implied_destinations(env) == {"redis"}


def test_the_redis_fallback_url_and_channel() -> None:
    env = {
        **SEED_002,
        "ENABLE_REDIS_FALLBACK": "TRUE",
        "REDIS_URL": "rediss://:pw@cache.example.com:6380/2",
        "REDIS_CHANNEL": "models#ready:v1",
    }
    [_, redis] = env_webhooks(env, CATALOG)
    assert redis.spec.url == "rediss://:pw@cache.example.com:6380/2?channel=models%23ready:v1"
    assert redis.key == "env:ENABLE_REDIS_FALLBACK"  # never the password


@pytest.mark.parametrize("value", ["false", "0", "no", "", "  "])
def test_the_redis_fallback_off(value: str) -> None:
    env = {**SEED_002, "ENABLE_REDIS_FALLBACK": value, "REDIS_URL": "redis://x.example"}
    assert [w.where for w in env_webhooks(env, CATALOG)] == ["WEBHOOK_URL"]
    assert implied_destinations(env) == frozenset()
    assert implied_destinations({}) == frozenset()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({**SEED_002, "ENABLE_REDIS_FALLBACK": "maybe"}, "must be true or false; got 'maybe'"),
        ({"ENABLE_REDIS_FALLBACK": "true"}, "WEBHOOK_URL is not set"),
        (
            {**SEED_002, "ENABLE_REDIS_FALLBACK": "true", "REDIS_URL": "https://x.example"},
            "REDIS_URL must be a Redis server's URL",
        ),
        (
            {**SEED_002, "ENABLE_REDIS_FALLBACK": "true", "REDIS_URL": "redis://h/0?channel=x"},
            "the channel comes from REDIS_CHANNEL",
        ),
    ],
)
def test_bad_redis_fallback_variables_say_which_and_how(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        env_webhooks(env, CATALOG)


def test_a_password_in_redis_url_is_never_in_a_message() -> None:
    env = {**SEED_002, "ENABLE_REDIS_FALLBACK": "true", "REDIS_URL": "redis://:pw1234@h/0?x=1"}
    with pytest.raises(ConfigurationError) as raised:
        env_webhooks(env, CATALOG)
    assert "pw1234" not in raised.value.detail


def test_a_file_webhook_without_a_name_is_keyed_by_its_masked_url() -> None:
    text = '[[webhooks]]\nurl = "redis://:pw-4321@cache.example.com/0?channel=c"\n'
    [webhook] = parse_file(text, {}).webhooks
    assert webhook.key == "file:default:redis://:****@cache.example.com/0?channel=c"
    assert webhook.spec.url == "redis://:pw-4321@cache.example.com/0?channel=c"
