"""hookline.destinations.urls: what a destination URL names, what is refused and why, and how
it is shown back (credentials masked)."""

from __future__ import annotations

import pytest

from hookline.destinations.urls import check, is_masked, kind_of, mask
from hookline.errors import Forbidden, InvalidInput
from hookline.ssrf import NetworkPolicy

PUBLIC = NetworkPolicy()
ALL = frozenset({"https", "http", "mailto", "redis", "amqp", "nats"})


@pytest.mark.parametrize(
    ("url", "kind", "masked", "params"),
    [
        ("https://example.com/hook", "https", None, {}),
        ("mailto:alice@example.com,bob@example.com", "mailto", None, {}),
        ("redis://redis.example.com?channel=events", "redis", None, {"channel": "events"}),
        (
            "redis://:pw@redis.example.com:6380/2?stream=s&maxlen=100",
            "redis",
            "redis://:****@redis.example.com:6380/2?stream=s&maxlen=100",
            {"stream": "s", "maxlen": "100"},
        ),
        (
            "rediss://app:pw@redis.example.com/0?channel=a.b:c",
            "redis",
            "rediss://app:****@redis.example.com/0?channel=a.b:c",
            {"channel": "a.b:c"},
        ),
        (
            "amqp://guest:guest@mq.example.com:5672/vh?exchange=x&routing_key=k",
            "amqp",
            "amqp://guest:****@mq.example.com:5672/vh?exchange=x&routing_key=k",
            {"exchange": "x", "routing_key": "k"},
        ),
        ("nats://nats.example.com?subject=a.b", "nats", None, {"subject": "a.b"}),
        (
            "nats://token@nats.example.com?subject=s",
            "nats",
            "nats://****@nats.example.com?subject=s",
            {"subject": "s"},
        ),
    ],
)
def test_good_urls(url: str, kind: str, masked: str | None, params: dict[str, str]) -> None:
    checked = check(url, PUBLIC, allowed=ALL, admin=True)
    assert checked.kind == kind
    assert checked.url == url
    assert checked.masked == (masked or url)
    assert checked.has_credentials == (masked is not None)
    assert dict(checked.params) == params


def test_a_broker_gets_its_default_port_and_host() -> None:
    checked = check("redis://redis.example.com/0?channel=c", PUBLIC, allowed=ALL, admin=True)
    assert (checked.host, checked.port) == ("redis.example.com", 6379)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com", "url must start with https://"),
        ("example.com/hook", "url must start with https://"),
        ("redis://redis.example.com", "exactly one of ?channel=NAME (PUBLISH) or ?stream=NAME"),
        ("redis://redis.example.com?channel=a&stream=b", "exactly one of ?channel=NAME"),
        ("redis://redis.example.com?channel=a&db=1", "unknown parameter 'db'"),
        ("redis://redis.example.com?channel=a&channel=b", "'channel' is given twice"),
        ("redis://redis.example.com?channel=", "channel must be 1 to 255 printable"),
        ("redis://redis.example.com?channel=a&maxlen=9", "maxlen applies to a stream"),
        ("redis://redis.example.com?stream=a&maxlen=0", "maxlen must be a whole number"),
        ("redis://redis.example.com?stream=a&maxlen=x", "maxlen must be a whole number"),
        ("redis://redis.example.com/x?channel=a", "the database is a number"),
        ("redis://redis.example.com:99999?channel=a", "port is not a number from 1 to 65535"),
        ("redis://redis.example.com:0?channel=a", "port 0 is not a port"),
        ("redis://:pw@?channel=a", "has no host name"),
        ("redis://redis.example.com?channel=a b", "spaces or control characters"),
        ("redis://127.0.0.1:6379?channel=a", "not a public internet address"),
        ("redis://localhost?channel=a", "names this machine or a local network"),
        ("amqp://mq.example.com/vh", "amqp url needs ?exchange=NAME"),
        ("nats://nats.example.com", "nats url needs ?subject=NAME"),
        ("mailto:", "mailto: url has no address"),
        ("mailto:not-an-address", "is not an email address"),
        ("mailto:a@example.com?subject=hi", "takes addresses only"),
        ("https://" + "a" * 2100 + ".com", "characters long; the limit is 2048"),
    ],
)
def test_bad_urls_say_what_to_fix(url: str, says: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        check(url, PUBLIC, allowed=ALL, admin=True)
    assert says in raised.value.detail
    assert raised.value.loc == ("url",)


def test_errors_never_show_the_password() -> None:
    for url in (
        "redis://:hunter2@127.0.0.1?channel=a",
        "redis://:hunter2@redis.example.com:99999?channel=a",
        "ftp://user:hunter2@example.com",
    ):
        with pytest.raises(InvalidInput) as raised:
            check(url, PUBLIC, allowed=ALL, admin=True)
        assert "hunter2" not in raised.value.detail


def test_a_disabled_kind_names_the_setting() -> None:
    with pytest.raises(InvalidInput) as raised:
        check(
            "redis://redis.example.com?channel=a", PUBLIC, allowed=frozenset({"https"}), admin=True
        )
    assert raised.value.detail.startswith("redis destinations are not enabled")
    assert "HOOKLINE_DESTINATIONS (enabled: https)" in raised.value.detail


def test_brokers_need_an_admin_key_and_private_hosts_need_dev() -> None:
    with pytest.raises(Forbidden, match="admin key only"):
        check("redis://redis.example.com?channel=a", PUBLIC, allowed=ALL, admin=False)
    # mailto: and HTTP are a tenant's to use.
    check("mailto:a@example.com", PUBLIC, allowed=ALL, admin=False)
    checked = check(
        "redis://127.0.0.1:6379/0?channel=a", NetworkPolicy.development(), allowed=ALL, admin=True
    )
    assert checked.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:pw@host:6379/0?channel=a", "redis://:****@host:6379/0?channel=a"),
        ("redis://user:p%40ss@host/0", "redis://user:****@host/0"),
        ("amqp://guest:guest@host/vh?exchange=x", "amqp://guest:****@host/vh?exchange=x"),
        ("nats://token@host?subject=s", "nats://****@host?subject=s"),
        ("redis://host:6379/0?channel=a@b", "redis://host:6379/0?channel=a@b"),
        ("https://example.com/a@b", "https://example.com/a@b"),
        ("mailto:a@example.com", "mailto:a@example.com"),
        ("redis://a:b@c@host?channel=x", "redis://a:****@host?channel=x"),
    ],
)
def test_mask(url: str, masked: str) -> None:
    assert mask(url) == masked
    assert is_masked(masked) == (masked != url)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("HTTPS://example.com", "https"),
        ("rediss://h", "redis"),
        ("amqps://h", "amqp"),
        ("mailto:a@b.c", "mailto"),
        ("gopher://h", None),
        ("no-scheme", None),
    ],
)
def test_kind_of(url: str, kind: str | None) -> None:
    assert kind_of(url) == kind
