"""hookline.destinations.redis, pure parts: what a URL names, and a stream entry's fields."""

from __future__ import annotations

from hookline.destinations.redis import Server, Target, fields, parse
from hookline.transport import OutboundRequest


def test_a_channel_url() -> None:
    assert parse("redis://cache.example.com?channel=events") == Target(
        server=Server(
            url="redis://cache.example.com",
            host="cache.example.com",
            port=6379,
            db=0,
            username=None,
            password=None,
            tls=False,
        ),
        channel="events",
    )


def test_a_stream_url_with_credentials_over_tls() -> None:
    target = parse("rediss://app:p%40ss@Cache.Example.com:6380/3?stream=s.1&maxlen=500")
    assert (target.stream, target.maxlen, target.channel) == ("s.1", 500, None)
    server = target.server
    assert server.url == "rediss://app:p%40ss@Cache.Example.com:6380/3"  # the pool's key
    assert (server.host, server.port, server.db) == ("cache.example.com", 6380, 3)
    assert (server.username, server.password, server.tls) == ("app", "p@ss", True)
    assert server.where == "cache.example.com:6380"


def test_a_password_alone_and_an_ipv6_host() -> None:
    server = parse("redis://:secret@[2001:db8::1]:7000/0?channel=c").server
    assert (server.username, server.password) == (None, "secret")
    assert server.where == "[2001:db8::1]:7000"


def test_one_server_is_one_key_whatever_the_channel_or_stream() -> None:
    keys = {
        parse(f"redis://:pw@h:6379/0?{query}").server.url
        for query in ("channel=a", "channel=b", "stream=c&maxlen=3")
    }
    assert keys == {"redis://:pw@h:6379/0"}
    assert parse("redis://:other@h:6379/0?channel=a").server.url not in keys


def test_a_stream_entry_carries_the_body_and_the_headers_but_the_content_type() -> None:
    request = OutboundRequest(
        url="redis://h?stream=s",
        headers={
            "content-type": "application/json",
            "webhook-id": "evt_1",
            "X-Hokusai-Signature": "abc",
            "x-webhook-event": "model.registered",
            "Body": "a header may not replace the body",
        },
        body=b'{"model_id": "m"}',
    )
    assert fields(request) == {
        "body": b'{"model_id": "m"}',
        "webhook-id": "evt_1",
        "x-hokusai-signature": "abc",
        "x-webhook-event": "model.registered",
    }
