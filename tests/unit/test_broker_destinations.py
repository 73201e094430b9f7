"""The pure parts of the `amqp://` and `nats://` destinations: what a URL names, what message an
attempt becomes, and the SSRF guard refusing a host before anything connects."""

from __future__ import annotations

import pytest
from aio_pika.abc import DeliveryMode
from yarl import URL

from hookline.destinations import amqp, nats, urls
from hookline.errors import InvalidInput
from hookline.ssrf import NetworkPolicy
from hookline.transport import Failure, OutboundRequest

HEADERS = {
    "content-type": "application/json",
    "x-webhook-event": "order.filled",
    "webhook-id": "evt_1",
    "webhook-timestamp": "1732270000",
    "webhook-signature": "v1,abc=",
    "X-Team": "payments",
}


def request(url: str, headers: dict[str, str] = HEADERS) -> OutboundRequest:
    return OutboundRequest(url=url, headers=dict(headers), body=b'{"id": "evt_1"}')


@pytest.mark.parametrize(
    ("url", "vhost", "port", "tls"),
    [
        ("amqp://u:p@rabbit.example.com/?exchange=x", "/", 5672, False),
        ("amqp://u:p@rabbit.example.com?exchange=x", "/", 5672, False),
        ("amqp://u:p@rabbit.example.com:5673/%2F?exchange=x", "/", 5673, False),
        ("amqp://u:p@rabbit.example.com/orders?exchange=x", "orders", 5672, False),
        ("amqp://u:p@rabbit.example.com/a%2Fb?exchange=x", "a/b", 5672, False),
        ("amqps://u:p@rabbit.example.com/prod?exchange=x", "prod", 5671, True),
    ],
)
def test_an_amqp_url_names_vhost_port_and_tls(url: str, vhost: str, port: int, tls: bool) -> None:
    target = amqp.parse(url)
    assert (target.host, target.vhost, target.port, target.tls) == (
        "rabbit.example.com",
        vhost,
        port,
        tls,
    )


def test_amqp_credentials_are_decoded_default_to_guest_and_stay_out_of_repr() -> None:
    target = amqp.parse("amqp://svc%40ops:p%3Ass%2Fw@h/?exchange=orders&routing_key=eu.%23")
    assert (target.login, target.password) == ("svc@ops", "p:ss/w")
    assert (target.exchange, target.routing_key) == ("orders", "eu.#")
    assert "p:ss/w" not in repr(target)
    anonymous = amqp.parse("amqp://h/?exchange=orders")
    assert (anonymous.login, anonymous.password, anonymous.routing_key) == ("guest", "guest", None)


def test_an_amqp_message_is_persistent_json_with_the_webhook_id_and_headers() -> None:
    message = amqp.message(request("amqp://h/?exchange=x"))
    assert message.body == b'{"id": "evt_1"}'
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert message.content_type == "application/json"
    assert message.message_id == "evt_1"
    assert message.headers == {k: v for k, v in HEADERS.items() if k != "content-type"}


def test_an_amqp_message_without_a_webhook_id_still_has_an_id() -> None:
    # RabbitMQ hands an unroutable message back by its id: without one it would go unnoticed.
    headers = {k: v for k, v in HEADERS.items() if k != "webhook-id"}
    first = amqp.message(request("amqp://h/?exchange=x", headers))
    second = amqp.message(request("amqp://h/?exchange=x", headers))
    assert first.message_id
    assert second.message_id
    assert first.message_id != second.message_id


def test_the_routing_key_defaults_to_the_event_type() -> None:
    plain = "amqp://h/?exchange=x"
    assert amqp.routing_key(amqp.parse(plain), request(plain)) == "order.filled"
    given = "amqp://h/?exchange=x&routing_key=orders.eu"
    assert amqp.routing_key(amqp.parse(given), request(given)) == "orders.eu"


def test_a_nats_url_names_subject_stream_and_credentials() -> None:
    target = nats.parse("nats://u:p%40ss@nats.example.com?subject=orders.filled&stream=ORDERS")
    assert (target.host, target.port, target.user, target.password) == (
        "nats.example.com",
        4222,
        "u",
        "p@ss",
    )
    assert (target.subject, target.stream) == ("orders.filled", "ORDERS")
    assert "p@ss" not in repr(target)
    anonymous = nats.parse("nats://nats.example.com:4333?subject=s")
    assert (anonymous.port, anonymous.user, anonymous.password, anonymous.stream) == (
        4333,
        None,
        None,
        None,
    )


def test_nats_headers_carry_every_header_and_jetstream_a_message_id() -> None:
    core = nats.headers(request("nats://h?subject=s"), jetstream=False)
    assert core == HEADERS
    stream = nats.headers(request("nats://h?subject=s&stream=S"), jetstream=True)
    assert stream == {**HEADERS, "Nats-Msg-Id": "evt_1"}


@pytest.mark.parametrize(
    ("destination", "url", "where"),
    [
        (amqp.Amqp, "amqp://guest:guest@127.0.0.1:5672/?exchange=x", "RabbitMQ at 127.0.0.1:5672"),
        (nats.Nats, "nats://10.1.2.3:4222?subject=s", "NATS at 10.1.2.3:4222"),
    ],
)
async def test_the_ssrf_guard_refuses_a_private_host_before_connecting(
    destination: type[amqp.Amqp] | type[nats.Nats], url: str, where: str
) -> None:
    sender = destination(NetworkPolicy(), idle=60)
    try:
        result = await sender.send(request(url))
    finally:
        await sender.close()
    assert isinstance(result, Failure)
    assert result.error.startswith(f"{where}: blocked by the SSRF guard:"), result.error
    assert "guest:guest" not in result.error


async def test_an_amqps_connection_to_the_checked_address_verifies_the_host_name() -> None:
    # aio-pika passes its connection's keywords to asyncio.open_connection (through aiormq): TLS
    # to 203.0.113.7, the address the SSRF guard checked, verifies rabbit.example.com's cert.
    url = URL("amqps://u:p@203.0.113.7:5671/")
    connection = amqp.GuardedConnection(url, server_hostname="rabbit.example.com")
    assert connection.kwargs["server_hostname"] == "rabbit.example.com"


@pytest.mark.parametrize(
    ("subject", "says"),
    [("orders.*", "is a wildcard"), ("orders.>", "is a wildcard"), ("orders..eu", "empty token")],
)
def test_a_nats_subject_must_be_one_subject(subject: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says) as raised:
        urls.check(
            f"nats://nats.example.com:4222?subject={subject}",
            NetworkPolicy(),
            allowed=frozenset({"nats"}),
            admin=True,
        )
    assert raised.value.loc == ("url",)
    assert (
        urls.check(
            "nats://nats.example.com:4222?subject=orders.eu.*x",
            NetworkPolicy(),
            allowed=frozenset({"nats"}),
            admin=True,
        ).params["subject"]
        == "orders.eu.*x"
    )
