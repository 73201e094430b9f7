"""What follows a batch of recorded attempts, per webhook: the circuit breaker moves, a webhook
that failed for long enough (or answered 410) is disabled, and the operator hears about it, once
per change and per hour at most (a flapping circuit must not flood the operator).

`plan` is pure: it reads the webhooks' health after the batch was tallied and the attempts'
decisions; `apply` writes the result in the same transaction as the attempts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hookline import notices
from hookline.circuit import Breaker, Circuit, State, disable_reason
from hookline.deliver import Finished, Member, attempt_error
from hookline.models import Trigger
from hookline.records import WebhookHealth
from hookline.schedule import Delivered, Disable, GiveUp
from hookline.store import deliveries as delivery_rows
from hookline.store import webhooks as webhook_rows
from hookline.transport import Response

NOTICE_INTERVAL = 3600.0  # seconds: at most one notice per webhook and kind of change


@dataclass(frozen=True, slots=True)
class Rules:
    breaker: Breaker
    disable_after: int
    disable_span: float


@dataclass(slots=True)
class FollowUp:
    circuits: dict[str, Circuit] = field(default_factory=dict)
    hold: dict[str, float] = field(default_factory=dict)  # webhook -> its queue waits until
    release: set[str] = field(default_factory=set)  # webhooks whose queue goes now
    disable: dict[str, str] = field(default_factory=dict)  # webhook -> reason
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    noticed_recovered: set[str] = field(default_factory=set)  # webhooks told about, now
    noticed_disabled: set[str] = field(default_factory=set)


def _quiet(last_notice: float | None, now: float) -> bool:
    """The operator heard of this kind of change for this webhook within the hour."""
    return last_notice is not None and now - last_notice < NOTICE_INTERVAL


def plan(
    health: list[WebhookHealth],
    done: list[Finished],
    rules: Rules,
    *,
    operator: str | None,
    now: float,
) -> FollowUp:
    result = FollowUp()
    by_webhook: dict[str, list[Finished]] = {}
    for item in sorted(done, key=lambda d: d.ended_at):
        by_webhook.setdefault(item.job.target.webhook_id, []).append(item)
    for row in health:
        items = by_webhook.get(row.id, [])
        if not items:
            continue
        noisy = row.tenant_id != operator  # the operator's own webhooks raise no notices
        before = row.circuit
        after = rules.breaker.after_attempts(
            before,
            streak=row.consecutive_failures,
            last_succeeded=isinstance(items[-1].decision, Delivered),
            now=now,
        )
        if after != before:
            result.circuits[row.id] = after
            if after.state == State.OPEN and after.retry_at is not None:
                result.hold[row.id] = after.retry_at
            elif before.state != State.CLOSED:
                result.release.add(row.id)
                if noisy and not _quiet(row.recovered_notice_at, now):
                    result.noticed_recovered.add(row.id)
                    result.notices.append(
                        (
                            notices.WEBHOOK_RECOVERED,
                            {"webhook_id": row.id, "tenant_id": row.tenant_id, "url": row.url},
                        )
                    )
        reason = next((i.decision.reason for i in items if isinstance(i.decision, Disable)), None)
        if reason is None and noisy:
            reason = disable_reason(
                streak=row.consecutive_failures,
                failing_since=row.failing_since,
                now=now,
                disable_after=rules.disable_after,
                disable_span=rules.disable_span,
            )
        if reason is not None and row.is_active:
            result.disable[row.id] = reason
            if noisy and not _quiet(row.disabled_notice_at, now):
                result.noticed_disabled.add(row.id)
                result.notices.append(
                    (
                        notices.WEBHOOK_DISABLED,
                        {
                            "webhook_id": row.id,
                            "tenant_id": row.tenant_id,
                            "url": row.url,
                            "reason": reason,
                            "consecutive_failures": row.consecutive_failures,
                        },
                    )
                )
        if noisy:
            result.notices += [
                _exhausted(row, i, member)
                for i in items
                if isinstance(i.decision, GiveUp)
                for member in i.job.deliveries
                if member.trigger == Trigger.SCHEDULED
            ]
    return result


def _exhausted(row: WebhookHealth, item: Finished, member: Member) -> tuple[str, dict[str, Any]]:
    """A delivery (each of a batch's) that failed for good, as the operator hears of it."""
    result = item.result
    return (
        notices.DELIVERY_EXHAUSTED,
        {
            "delivery_id": member.delivery_id,
            "event_id": member.event_id,
            "event_type": member.event_type,
            "webhook_id": row.id,
            "tenant_id": row.tenant_id,
            "attempts": member.number,
            "last_status_code": result.status_code if isinstance(result, Response) else None,
            "last_error": attempt_error(result),
        },
    )


@dataclass(frozen=True, slots=True)
class Applied:
    """What writing a follow-up did: notice deliveries queued, and pending deliveries
    cancelled because their webhook was disabled."""

    notices: int
    cancelled: int


async def apply(
    conn: AsyncConnection, follow_up: FollowUp, *, horizon: float, now: float
) -> Applied:
    """Write a follow-up. When a circuit closes, what it held back (anything due within
    `horizon`: the recovery time and a probe's lease) goes now."""
    await webhook_rows.set_circuits(conn, follow_up.circuits)
    for webhook_id, until in follow_up.hold.items():
        await delivery_rows.hold_pending(conn, webhook_id, until=until)
    for webhook_id in follow_up.release:
        await delivery_rows.release_pending(conn, webhook_id, now=now, horizon=horizon)
    cancelled = 0
    for webhook_id, reason in follow_up.disable.items():
        cancelled += await webhook_rows.disable(conn, webhook_id, reason, now)
    await webhook_rows.mark_noticed(
        conn, recovered=follow_up.noticed_recovered, disabled=follow_up.noticed_disabled, now=now
    )
    return Applied(notices=await notices.emit(conn, follow_up.notices, now), cancelled=cancelled)
