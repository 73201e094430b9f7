"""The SSRF guard end to end, over one table of every spelling of "this machine"
(tests/unit/test_ssrf.py LOCAL_HOSTS):

- at save: a server started without --dev answers 422 to a webhook created or changed to any of
  them (with plain http allowed, so the host is what gets judged);
- at connect: a real Transport with a strict policy, aimed at a real loopback receiver, refuses
  each of them without connecting, also for a URL that reached the store before this check
  existed, through the test send and through the worker;
- DNS: a name that resolves inside only at delivery time is refused whatever the answer holds.
  DNS is the boundary we do not own, so those answers come from `FakeDNS`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from hookline import HooklineAPIError
from hookline.ssrf import NetworkPolicy, check_url
from hookline.store import webhooks as webhook_rows
from hookline.transport import Failure, OutboundRequest, Response, Result, Transport
from tests.support.flow import settled
from tests.support.harness import Running, make_settings, running
from tests.support.receiver import Receiver
from tests.unit.test_ssrf import LOCAL_HOSTS, circled, fullwidth_digits

STRICT = NetworkPolicy()
BLOCKED = "blocked by the SSRF guard: "


class FakeDNS(AbstractResolver):
    """Answers a test chooses, and the names hookline asked for."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self._answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self._answers:
            raise OSError(f"{host} is not in this test's DNS")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self._answers[host]
        ]

    async def close(self) -> None:
        return None


@asynccontextmanager
async def transport(policy: NetworkPolicy, dns: FakeDNS | None = None) -> AsyncIterator[Transport]:
    client = Transport(timeout=2.0, max_body_bytes=4096, policy=policy, dns=dns)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def post(client: Transport, url: str) -> Result:
    return await client.post(OutboundRequest(url=url, headers={}, body=b"{}"))


def assert_blocked(result: Result, says: str) -> str:
    assert isinstance(result, Failure), result
    assert result.error.startswith(BLOCKED), result.error
    assert says in result.error, result.error
    return result.error


# --- at connect ------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "says"), LOCAL_HOSTS)
async def test_every_spelling_of_this_machine_is_refused_at_connect(
    receiver: Receiver, host: str, says: str
) -> None:
    async with transport(STRICT) as client:
        result = await post(client, f"http://{host}:{receiver.port}/in")
    assert_blocked(result, says)
    assert receiver.requests == []


@pytest.mark.parametrize(
    "host",
    [fullwidth_digits("127.0.0.1"), circled("127.0.0.1"), "127\u30020\u30020\u30021"],
    ids=["fullwidth", "circled", "ideographic"],
)
async def test_dev_mode_still_connects_to_the_host_the_url_means(
    receiver: Receiver, host: str
) -> None:
    async with transport(NetworkPolicy.development()) as client:
        result = await post(client, f"http://{host}:{receiver.port}/dev")
    assert isinstance(result, Response), result
    assert result.status_code == 200
    [got] = receiver.at("/dev")
    assert got.headers["Host"] == f"127.0.0.1:{receiver.port}"  # normalised once, as checked


@pytest.mark.parametrize(
    "host",
    ["xn--zz.example", "%31%32%37.0.0.1", "a..example", "[::ffff:127.1]", "ex\u00adample.com"],
)
@pytest.mark.parametrize("policy", [STRICT, NetworkPolicy.development()], ids=["strict", "dev"])
async def test_a_url_the_client_cannot_read_one_way_is_a_recorded_failure(
    receiver: Receiver, host: str, policy: NetworkPolicy
) -> None:
    """Such a URL can only be in the store from before the save check; `post` must still
    return a Failure to record (never raise) and connect nowhere."""
    async with transport(policy) as client:
        result = await post(client, f"http://{host}:{receiver.port}/odd")
    assert isinstance(result, Failure), result
    assert "not a valid" in result.error
    assert receiver.requests == []


# --- DNS answers at delivery time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (["127.0.0.1"], "rebind.example resolves to 127.0.0.1, not"),
        (["::1"], "rebind.example resolves to ::1, not"),
        (["::ffff:10.0.0.1"], "(it carries 10.0.0.1), not"),
        (["169.254.169.254"], "rebind.example resolves to 169.254.169.254, not"),
        (["10.0.0.1"], "rebind.example resolves to 10.0.0.1, not"),
        (["93.184.216.34", "127.0.0.1"], "rebind.example resolves to 127.0.0.1, not"),
        (["127.0.0.1", "2606:4700:4700::1111"], "rebind.example resolves to 127.0.0.1, not"),
    ],
    ids=[
        "v4-loopback",
        "v6-loopback",
        "v4-mapped",
        "metadata",
        "private",
        "public+private",
        "private+public",
    ],
)
async def test_a_name_that_resolves_inside_at_delivery_is_refused(
    receiver: Receiver, answer: list[str], says: str
) -> None:
    url = f"http://rebind.example:{receiver.port}/rebind"
    assert check_url(url, NetworkPolicy(allow_http=True)) == url  # nothing to see at save time
    dns = FakeDNS({"rebind.example": answer})
    async with transport(STRICT, dns) as client:
        result = await post(client, url)
    assert "not a public internet address" in assert_blocked(result, says)
    assert dns.asked == ["rebind.example"]
    assert receiver.requests == []


async def test_a_name_in_a_network_opened_on_purpose_is_delivered(receiver: Receiver) -> None:
    """The guard is not "refuse everything": HOOKLINE_ALLOWED_NETWORKS lets a chosen range in,
    and only that range."""
    policy = NetworkPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
    dns = FakeDNS({"hooks.example": ["127.0.0.1"], "other.example": ["10.0.0.1"]})
    async with transport(policy, dns) as client:
        delivered = await post(client, f"http://hooks.example:{receiver.port}/open")
        refused = await post(client, f"http://other.example:{receiver.port}/closed")
    assert isinstance(delivered, Response), delivered
    assert delivered.status_code == 200
    [got] = receiver.requests
    assert (got.path, got.headers["Host"]) == ("/open", f"hooks.example:{receiver.port}")
    assert_blocked(refused, "other.example resolves to 10.0.0.1, not")


# --- at save, through the API of a server started without --dev ------------------------------


@pytest.fixture
async def guarded(database_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(database_url, dev=False, allow_http=True)) as app:
        yield app


async def test_every_spelling_of_this_machine_is_refused_by_the_api(
    guarded: Running, receiver: Receiver
) -> None:
    tenant = await guarded.api.tenants.create("Acme")
    hook = await guarded.api.webhooks.create(url="https://hooks.example/in", tenant_id=tenant.id)
    for param in LOCAL_HOSTS:
        host, says = param.values
        url = f"http://{host}:{receiver.port}/x"
        with pytest.raises(HooklineAPIError) as created:
            await guarded.api.webhooks.create(url=url, tenant_id=tenant.id)
        with pytest.raises(HooklineAPIError) as changed:
            await guarded.api.webhooks.update(hook.id, url=url)
        for refused in (created.value, changed.value):
            assert refused.status == 422, (param.id, refused)
            assert str(says) in refused.detail, (param.id, refused.detail)
    assert (await guarded.api.webhooks.get(hook.id)).url == "https://hooks.example/in"


async def test_a_stored_local_url_is_refused_by_the_test_send_and_the_worker(
    guarded: Running, receiver: Receiver
) -> None:
    """A URL that reached the store before today's save check (an older version, an import)
    is still refused when hookline connects: the test send and deliveries use one Transport."""
    tenant = await guarded.api.tenants.create("Acme")
    await guarded.api.event_types.create("order.filled")
    says_by_hook: dict[str, str] = {}
    for param in LOCAL_HOSTS:
        host, says = param.values
        hook = await guarded.api.webhooks.create(url="https://hooks.example/", tenant_id=tenant.id)
        async with guarded.node.db.write() as conn:
            await webhook_rows.update_one(
                conn, hook.id, {"url": f"http://{host}:{receiver.port}/{param.id}"}, tenant_id=None
            )
        says_by_hook[hook.id] = str(says)
    for hook_id, says in says_by_hook.items():
        tested = await guarded.api.webhooks.test(hook_id)
        assert tested.status == "failure"
        assert tested.error is not None
        assert tested.error.startswith(BLOCKED), tested.error
        assert says in tested.error
    sent = await guarded.api.events.send("order.filled", {"n": 1}, tenant_id=tenant.id)
    deliveries = await settled(guarded.api, sent.id, count=len(says_by_hook))
    for delivery in deliveries:
        attempt = (await guarded.api.deliveries.attempts(delivery.id)).data[0]
        assert attempt.status_code is None
        assert attempt.error is not None
        assert attempt.error.startswith(BLOCKED), attempt.error
        assert says_by_hook[delivery.webhook_id] in attempt.error
    assert receiver.requests == []
