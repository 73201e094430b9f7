from hookline.errors import Conflict, NotFound
from hookline.ingest import Outcome, Plan, Replay, Submission, plan_batch, scoped_key
from hookline.models import SentEvent
from hookline.records import NewEvent, Route

ACME, GLOBEX = "ten_acme", "ten_globex"
TENANTS = {ACME: ACME, "acme-uid": ACME, GLOBEX: GLOBEX}
ROUTES = [
    Route("wh_acme_orders", ACME, frozenset({"order.filled"})),
    Route("wh_acme_all", ACME, frozenset()),
    Route("wh_globex_orders", GLOBEX, frozenset({"order.filled", "order.canceled"})),
]


def sub(
    event_id: str,
    event_type: str = "order.filled",
    tenant: str | None = ACME,
    key: str | None = None,
    request_hash: str | None = None,
) -> Submission:
    return Submission(
        event=NewEvent(
            id=event_id, tenant_id=None, type=event_type, payload="{}", created_at=1000.0
        ),
        tenant_ref=tenant,
        envelope={"id": event_id, "type": event_type, "data": {}},
        idempotency_key=key,
        request_hash=request_hash,
    )


def delivered_to(plan: Plan, event_id: str) -> set[str]:
    return {d.webhook_id for d in plan.deliveries if d.event_id == event_id}


def test_an_event_goes_to_its_tenants_subscribed_webhooks_only() -> None:
    plan = plan_batch([sub("evt_1")], tenants=TENANTS, routes=ROUTES, earlier={})
    assert delivered_to(plan, "evt_1") == {"wh_acme_orders", "wh_acme_all"}
    result = plan.results[0]
    assert isinstance(result, SentEvent)
    assert (result.tenant_id, result.deliveries) == (ACME, 2)


def test_an_empty_subscription_receives_every_type() -> None:
    plan = plan_batch([sub("evt_1", "balance.updated")], tenants=TENANTS, routes=ROUTES, earlier={})
    assert delivered_to(plan, "evt_1") == {"wh_acme_all"}


def test_a_broadcast_reaches_every_tenant() -> None:
    plan = plan_batch([sub("evt_1", tenant=None)], tenants=TENANTS, routes=ROUTES, earlier={})
    assert delivered_to(plan, "evt_1") == {"wh_acme_orders", "wh_acme_all", "wh_globex_orders"}
    assert {d.tenant_id for d in plan.deliveries} == {ACME, GLOBEX}
    assert plan.events[0].tenant_id is None


def test_a_tenant_may_be_named_by_uid() -> None:
    plan = plan_batch([sub("evt_1", tenant="acme-uid")], tenants=TENANTS, routes=ROUTES, earlier={})
    assert plan.events[0].tenant_id == ACME


def test_an_unknown_tenant_fails_alone_and_writes_nothing() -> None:
    plan = plan_batch(
        [sub("evt_1", tenant="ten_nobody"), sub("evt_2")],
        tenants=TENANTS,
        routes=ROUTES,
        earlier={},
    )
    assert isinstance(plan.results[0], NotFound)
    assert "ten_nobody" in str(plan.results[0])
    assert [e.id for e in plan.events] == ["evt_2"]
    assert delivered_to(plan, "evt_1") == set()


def test_an_event_no_webhook_wants_is_still_stored() -> None:
    plan = plan_batch(
        [sub("evt_1", tenant=GLOBEX, event_type="x.y")], tenants=TENANTS, routes=ROUTES, earlier={}
    )
    assert [e.id for e in plan.events] == ["evt_1"]
    assert plan.deliveries == []


def test_a_repeated_key_in_one_batch_replays_the_first_event() -> None:
    plan = plan_batch(
        [sub("evt_1", key="k", request_hash="h"), sub("evt_2", key="k", request_hash="h")],
        tenants=TENANTS,
        routes=ROUTES,
        earlier={},
    )
    assert [e.id for e in plan.events] == ["evt_1"]
    replay = plan.results[1]
    assert isinstance(replay, Replay)
    assert replay.event.id == "evt_1"
    assert replay.event.duplicate


def test_a_key_reused_with_another_body_is_a_conflict() -> None:
    plan = plan_batch(
        [sub("evt_1", key="k", request_hash="h1"), sub("evt_2", key="k", request_hash="h2")],
        tenants=TENANTS,
        routes=ROUTES,
        earlier={},
    )
    assert isinstance(plan.results[1], Conflict)
    assert len(plan.events) == 1


def test_a_key_seen_earlier_replays_the_stored_event() -> None:
    first = plan_batch(
        [sub("evt_1", key="k", request_hash="h")], tenants=TENANTS, routes=ROUTES, earlier={}
    )
    stored = first.results[0]
    assert isinstance(stored, SentEvent)
    earlier: dict[str, Outcome] = {scoped_key(ACME, "k"): (stored, "h")}
    again = plan_batch(
        [sub("evt_9", key="k", request_hash="h")], tenants=TENANTS, routes=ROUTES, earlier=earlier
    )
    assert (again.events, again.deliveries) == ([], [])
    replay = again.results[0]
    assert isinstance(replay, Replay)
    assert (replay.event.id, replay.event.deliveries) == ("evt_1", 2)


def test_keys_are_scoped_per_tenant() -> None:
    plan = plan_batch(
        [
            sub("evt_1", tenant=ACME, key="k", request_hash="h"),
            sub("evt_2", tenant=GLOBEX, key="k", request_hash="h"),
            sub("evt_3", tenant=None, key="k", request_hash="h"),
        ],
        tenants=TENANTS,
        routes=ROUTES,
        earlier={},
    )
    assert [e.id for e in plan.events] == ["evt_1", "evt_2", "evt_3"]
    assert plan.events[0].idempotency_key == "ten_acme:k"
    assert plan.events[2].idempotency_key == "*:k"
