from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    Text,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.circuit import Circuit, State
from hookline.models import DeliveryStatus, NumberedPage, Page, Paging, Webhook
from hookline.records import Batching, Route, SealedTarget, Tally, WebhookGate, WebhookHealth
from hookline.store import tenants as tenant_rows
from hookline.store.notify import announce
from hookline.store.pages import fetch_page
from hookline.store.schema import (
    BIND,
    AnyRow,
    Timestamp,
    binds,
    deliveries,
    epoch,
    tenants,
    webhooks,
)

PENDING = DeliveryStatus.PENDING.value

# The columns a Webhook record shows: never the secrets.
PUBLIC = tuple(webhooks.c[name] for name in Webhook.model_fields)


def _webhook(row: AnyRow) -> Webhook:
    return Webhook.model_validate(dict(row._mapping))


def _scoped(webhook_id: str, tenant_id: str | None) -> Any:
    condition = webhooks.c.id == webhook_id
    if tenant_id is not None:
        condition = condition & (webhooks.c.tenant_id == tenant_id)
    return condition


async def insert_one(conn: AsyncConnection, values: dict[str, Any]) -> Webhook:
    stmt = insert(webhooks).values(values).returning(*PUBLIC)
    return _webhook((await conn.execute(stmt)).one())


async def get(conn: AsyncConnection, webhook_id: str, *, tenant_id: str | None) -> Webhook | None:
    stmt = select(*PUBLIC).where(_scoped(webhook_id, tenant_id))
    row = (await conn.execute(stmt)).one_or_none()
    return _webhook(row) if row else None


async def managed(conn: AsyncConnection, source: str) -> dict[str, Webhook]:
    """The webhooks declared in `source` (env, file), by their `managed_key`."""
    stmt = select(*PUBLIC, webhooks.c.managed_key).where(webhooks.c.managed_by == source)
    return {row.managed_key: _webhook(row) for row in await conn.execute(stmt)}


async def health(conn: AsyncConnection, webhook_id: str, *, tenant_id: str | None) -> AnyRow | None:
    stmt = select(*PUBLIC, webhooks.c.last_success_at, webhooks.c.last_failure_at).where(
        _scoped(webhook_id, tenant_id)
    )
    return (await conn.execute(stmt)).one_or_none()


async def page(
    conn: AsyncConnection, *, tenant_id: str | None, paging: Paging
) -> Page[Webhook] | NumberedPage[Webhook]:
    query = select(*PUBLIC)
    if tenant_id is not None:
        query = query.where(webhooks.c.tenant_id == tenant_id)
    else:
        query = query.where(webhooks.c.tenant_id.not_in(tenant_rows.reserved_ids()))
    return await fetch_page(conn, query, webhooks.c.id, paging=paging, convert=_webhook)


async def update_one(
    conn: AsyncConnection, webhook_id: str, values: dict[str, Any], *, tenant_id: str | None
) -> Webhook | None:
    stmt = update(webhooks).where(_scoped(webhook_id, tenant_id)).values(values).returning(*PUBLIC)
    row = (await conn.execute(stmt)).one_or_none()
    return _webhook(row) if row else None


async def delete_one(conn: AsyncConnection, webhook_id: str, *, tenant_id: str | None) -> bool:
    result = await conn.execute(delete(webhooks).where(_scoped(webhook_id, tenant_id)))
    return result.rowcount > 0


async def cancel_pending(conn: AsyncConnection, webhook_id: str, reason: str, now: float) -> int:
    """Cancel the pending deliveries of a webhook that was disabled; `recover` brings them back.
    One in flight (leased, its lease not expired) finishes its attempt and is recorded as it
    ends: a retry it earns is cancelled when a worker next claims it. Returns how many were
    cancelled."""
    stmt = (
        update(deliveries)
        .where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.status == PENDING,
            or_(deliveries.c.lease_token.is_(None), deliveries.c.next_attempt_at <= now),
        )
        .values(
            status=DeliveryStatus.CANCELLED.value,
            last_error=reason,
            next_attempt_at=None,
            lease_token=None,
            finished_at=now,
        )
    )
    return (await conn.execute(stmt)).rowcount


def _route(row: AnyRow) -> Route:
    return Route(
        row.id,
        row.tenant_id,
        frozenset(row.event_types),
        row.filter,
        row.ordering == "fifo",
        Batching.of(row.batch),
    )


async def routes(conn: AsyncConnection, tenant_ids: set[str], *, everyone: bool) -> list[Route]:
    """Active webhooks that may receive events for these tenants (every tenant's for a
    broadcast): what fan-out matches against."""
    query = select(
        webhooks.c.id,
        webhooks.c.tenant_id,
        webhooks.c.event_types,
        webhooks.c.filter,
        webhooks.c.batch,
        webhooks.c.ordering,
    ).where(webhooks.c.is_active.is_(True))
    if not everyone:
        if not tenant_ids:
            return []
        query = query.where(webhooks.c.tenant_id.in_(tenant_ids))
    return [_route(row) for row in await conn.execute(query)]


async def targets(
    conn: AsyncConnection, webhook_ids: set[str], *, tenant_id: str | None = None
) -> dict[str, SealedTarget]:
    """What it takes to send to these webhooks, secrets included (still sealed)."""
    stmt = (
        select(
            webhooks.c.id,
            webhooks.c.tenant_id,
            webhooks.c.url,
            webhooks.c.secret,
            webhooks.c.previous_secret,
            webhooks.c.previous_secret_expires_at,
            webhooks.c.headers,
            webhooks.c.format,
            webhooks.c.is_active,
            webhooks.c.name,
            webhooks.c.template,
            webhooks.c.format_options,
            webhooks.c.signature,
            webhooks.c.retry_schedule,
            webhooks.c.timeout,
            webhooks.c.url_sealed,
            webhooks.c.batch,
            webhooks.c.ordering,
            webhooks.c.fifo_on_failure,
            tenants.c.uid.label("tenant_uid"),
            tenants.c.name.label("tenant_name"),
        )
        .join(tenants, tenants.c.id == webhooks.c.tenant_id)
        .where(webhooks.c.id.in_(webhook_ids))
    )
    if tenant_id is not None:
        stmt = stmt.where(webhooks.c.tenant_id == tenant_id)
    return {
        row.id: SealedTarget(
            id=row.id,
            tenant_id=row.tenant_id,
            url=row.url,
            secret=row.secret,
            previous_secret=row.previous_secret,
            previous_secret_expires_at=epoch(row.previous_secret_expires_at),
            headers=dict(row.headers),
            format=row.format,
            is_active=row.is_active,
            name=row.name,
            tenant_uid=row.tenant_uid,
            tenant_name=row.tenant_name,
            template=row.template,
            format_options=row.format_options,
            signature=row.signature,
            retry_schedule=None if row.retry_schedule is None else tuple(row.retry_schedule),
            timeout=row.timeout,
            url_sealed=row.url_sealed,
            batch=row.batch,
            ordering=row.ordering,
            fifo_on_failure=row.fifo_on_failure,
        )
        for row in await conn.execute(stmt)
    }


async def disable(conn: AsyncConnection, webhook_id: str, reason: str, now: float) -> int:
    """Disable a webhook and cancel its pending deliveries; returns how many it cancelled."""
    stmt = (
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(is_active=False, disabled_reason=reason, disabled_at=now, updated_at=now)
    )
    await conn.execute(stmt)
    return await cancel_pending(conn, webhook_id, f"webhook disabled: {reason}", now)


_reset = bindparam(BIND + "reset", type_=Boolean)
_streak = bindparam(BIND + "streak", type_=Integer)
_since = bindparam(BIND + "failing_since", type_=Timestamp)
_TALLY = (
    update(webhooks)
    .where(webhooks.c.id == bindparam(BIND + "webhook_id", type_=Text))
    .values(
        success_count=webhooks.c.success_count + bindparam(BIND + "successes", type_=Integer),
        failure_count=webhooks.c.failure_count + bindparam(BIND + "failures", type_=Integer),
        # `reset`: a success happened in this batch, so the failure streak restarts after it.
        consecutive_failures=case(
            (_reset, _streak), else_=webhooks.c.consecutive_failures + _streak
        ),
        failing_since=case((_reset, _since), else_=func.coalesce(webhooks.c.failing_since, _since)),
        last_triggered_at=bindparam(BIND + "last_at", type_=Timestamp),
        last_success_at=func.coalesce(
            bindparam(BIND + "last_success_at", type_=Timestamp), webhooks.c.last_success_at
        ),
        last_failure_at=func.coalesce(
            bindparam(BIND + "last_failure_at", type_=Timestamp), webhooks.c.last_failure_at
        ),
    )
)


async def tally_many(conn: AsyncConnection, tallies: list[Tally]) -> None:
    """Add a batch of attempt results to each webhook's counters."""
    if tallies:
        await conn.execute(_TALLY, [binds(t) for t in tallies])


def _circuit(row: AnyRow) -> Circuit:
    return Circuit(State(row.circuit_state), epoch(row.circuit_retry_at))


async def gates(conn: AsyncConnection, webhook_ids: set[str], *, lock: bool) -> list[WebhookGate]:
    """What claim admission needs per webhook: circuit, caps, throttle state. With `lock`, the
    rows stay locked until commit, so concurrent workers take turns (in id order: no deadlock)."""
    if not webhook_ids:
        return []
    stmt = (
        select(
            webhooks.c.id,
            webhooks.c.tenant_id,
            webhooks.c.circuit_state,
            webhooks.c.circuit_retry_at,
            webhooks.c.max_in_flight,
            webhooks.c.rate_limit_per_minute,
            webhooks.c.throttle_tat,
            webhooks.c.batch,
            webhooks.c.ordering,
        )
        .where(webhooks.c.id.in_(webhook_ids))
        .order_by(webhooks.c.id)
    )
    if lock:
        stmt = stmt.with_for_update()
    return [
        WebhookGate(
            id=row.id,
            tenant_id=row.tenant_id,
            circuit=_circuit(row),
            max_in_flight=row.max_in_flight,
            rate_limit_per_minute=row.rate_limit_per_minute,
            throttle_tat=epoch(row.throttle_tat),
            batch=Batching.of(row.batch),
            ordered=row.ordering == "fifo",
        )
        for row in await conn.execute(stmt)
    ]


async def follow_ups(conn: AsyncConnection, webhook_ids: set[str]) -> list[WebhookHealth]:
    """Health after a batch of attempts is tallied: what circuit and disable rules read."""
    stmt = select(
        webhooks.c.id,
        webhooks.c.tenant_id,
        webhooks.c.url,
        webhooks.c.is_active,
        webhooks.c.consecutive_failures,
        webhooks.c.failing_since,
        webhooks.c.circuit_state,
        webhooks.c.circuit_retry_at,
        webhooks.c.recovered_notice_at,
        webhooks.c.disabled_notice_at,
    ).where(webhooks.c.id.in_(webhook_ids))
    return [
        WebhookHealth(
            id=row.id,
            tenant_id=row.tenant_id,
            url=row.url,
            is_active=row.is_active,
            consecutive_failures=row.consecutive_failures,
            failing_since=epoch(row.failing_since),
            circuit=_circuit(row),
            recovered_notice_at=epoch(row.recovered_notice_at),
            disabled_notice_at=epoch(row.disabled_notice_at),
        )
        for row in await conn.execute(stmt)
    ]


_SET_CIRCUIT = (
    update(webhooks)
    .where(webhooks.c.id == bindparam("b_id", type_=Text))
    .values(
        circuit_state=bindparam("b_state", type_=Text),
        circuit_retry_at=bindparam("b_retry", type_=Timestamp),
    )
)


async def set_circuits(conn: AsyncConnection, circuits: dict[str, Circuit]) -> None:
    if circuits:
        rows = [
            {"b_id": k, "b_state": c.state.value, "b_retry": c.retry_at}
            for k, c in circuits.items()
        ]
        await conn.execute(_SET_CIRCUIT, rows)


async def mark_noticed(
    conn: AsyncConnection, *, recovered: set[str], disabled: set[str], now: float
) -> None:
    """Remember when the operator was told a webhook recovered or was disabled."""
    for column, webhook_ids in (
        ("recovered_notice_at", recovered),
        ("disabled_notice_at", disabled),
    ):
        if webhook_ids:
            stmt = update(webhooks).where(webhooks.c.id.in_(webhook_ids))
            await conn.execute(stmt.values({column: now}))


_SET_TAT = (
    update(webhooks)
    .where(webhooks.c.id == bindparam("b_id", type_=Text))
    .values(throttle_tat=bindparam("b_tat", type_=Timestamp))
)


async def set_throttle_states(conn: AsyncConnection, tats: dict[str, float]) -> None:
    if tats:
        await conn.execute(_SET_TAT, [{"b_id": k, "b_tat": v} for k, v in tats.items()])


async def reset_throttle(conn: AsyncConnection, webhook_id: str, now: float) -> None:
    """After a rate limit changes: forget the old pace; waiting deliveries queue again."""
    await conn.execute(
        update(webhooks).where(webhooks.c.id == webhook_id).values(throttle_tat=None)
    )
    await conn.execute(
        update(deliveries)
        .where(
            deliveries.c.webhook_id == webhook_id,
            deliveries.c.status == PENDING,
            deliveries.c.throttled.is_(True),
        )
        .values(throttled=False, next_attempt_at=now)
    )
    await announce(conn)


async def any_secret(conn: AsyncConnection) -> str | None:
    """One sealed secret, to check at start that the vault can open them."""
    stmt = select(webhooks.c.secret).limit(1)
    return (await conn.execute(stmt)).scalar_one_or_none()


async def sealed_secrets(conn: AsyncConnection) -> list[AnyRow]:
    stmt = select(
        webhooks.c.id, webhooks.c.secret, webhooks.c.previous_secret, webhooks.c.url_sealed
    )
    return list((await conn.execute(stmt)).all())


async def set_sealed_secrets(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Rows of b_id, b_secret, b_previous, b_url."""
    if rows:
        stmt = (
            update(webhooks)
            .where(webhooks.c.id == bindparam("b_id", type_=Text))
            .values(
                secret=bindparam("b_secret", type_=Text),
                previous_secret=bindparam("b_previous", type_=Text),
                url_sealed=bindparam("b_url", type_=Text),
            )
        )
        await conn.execute(stmt, rows)
