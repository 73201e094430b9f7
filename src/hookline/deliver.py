"""One attempt of one delivery: build the signed request, send it, decide what happens next.

Everything here but `attempt` is pure: the request is a function of the job and the clock, and
the rows written afterwards are a function of the finished attempts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hookline import ids, signing
from hookline.models import DeliveryStatus, Trigger
from hookline.schedule import (
    Decision,
    Delivered,
    Disable,
    GiveUp,
    Retry,
    RetryPolicy,
    decide,
    parse_retry_after,
)
from hookline.store.schema import AnyRow
from hookline.transport import Failure, OutboundRequest, Response, Transport
from hookline.vault import Vault


@dataclass(frozen=True, slots=True)
class Target:
    """A webhook as the worker sends to it."""

    webhook_id: str
    url: str
    keys: tuple[bytes, ...]  # current secret first, then a rotated-out one still in its grace
    headers: dict[str, str]
    format: str

    @classmethod
    def from_row(cls, row: AnyRow, now: float, vault: Vault) -> Target:
        """From `store.webhooks.targets` (secrets sealed): the rotated-out secret signs too
        until it expires."""
        keys = [signing.stored_key(vault.open(row.secret))]
        expires = row.previous_secret_expires_at
        if row.previous_secret and expires is not None and expires.timestamp() > now:
            keys.append(signing.stored_key(vault.open(row.previous_secret)))
        return cls(
            webhook_id=row.id,
            url=row.url,
            keys=tuple(keys),
            headers=dict(row.headers),
            format=row.format,
        )


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed delivery, ready to attempt."""

    delivery_id: str
    lease_token: str
    event_id: str
    event_type: str
    payload: str
    target: Target
    number: int  # this attempt's number, from 1
    trigger: Trigger


@dataclass(frozen=True, slots=True)
class Finished:
    job: Job
    started_at: float
    ended_at: float
    result: Response | Failure
    decision: Decision


@dataclass(frozen=True, slots=True)
class Skipped:
    """A claimed delivery that must not be sent (its webhook was disabled, or its event purged)."""

    delivery_id: str
    lease_token: str
    reason: str


def build_request(job: Job, timestamp: int) -> OutboundRequest:
    body = job.payload.encode()
    headers = {
        **job.target.headers,
        "content-type": "application/json",
        "webhook-id": job.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature_header(
            job.target.keys, job.event_id, timestamp, body
        ),
        "x-webhook-event": job.event_type,
    }
    return OutboundRequest(url=job.target.url, headers=headers, body=body)


async def attempt(
    job: Job,
    transport: Transport,
    policy: RetryPolicy,
    *,
    clock: Callable[[], float] = time.time,
    rand: Callable[[], float] = random.random,
) -> Finished:
    started = clock()
    result = await transport.post(build_request(job, int(started)))
    ended = clock()
    if isinstance(result, Response):
        status, retry_after = result.status_code, parse_retry_after(result.retry_after, ended)
    else:
        status, retry_after = None, None
    decision = decide(
        policy,
        attempt=job.number,
        status_code=status,
        retry_after=retry_after,
        now=ended,
        rand=rand(),
        final=job.trigger == Trigger.MANUAL,
    )
    return Finished(job, started, ended, result, decision)


def attempt_error(result: Response | Failure) -> str | None:
    """What went wrong with one attempt, in words; None for a success."""
    if isinstance(result, Failure):
        return result.error
    code = result.status_code
    if 200 <= code < 300:
        return None
    if 300 <= code < 400:
        return f"HTTP {code}: redirects are not followed; point the webhook at the final URL"
    return f"HTTP {code}"


def attempt_row(done: Finished) -> dict[str, Any]:
    result = done.result
    return {
        "id": ids.new_id(ids.ATTEMPT, done.started_at),
        "delivery_id": done.job.delivery_id,
        "webhook_id": done.job.target.webhook_id,
        "number": done.job.number,
        "status_code": result.status_code if isinstance(result, Response) else None,
        "latency_ms": result.latency_ms,
        "response_body": result.body if isinstance(result, Response) else "",
        "error": attempt_error(result),
        "trigger": done.job.trigger.value,
        "created_at": done.started_at,
    }


def finish_row(done: Finished) -> dict[str, Any]:
    """The delivery's next state, as bind parameters for `store.deliveries.finish_many`."""
    error = attempt_error(done.result)
    next_at: float | None = None
    finished: float | None = done.ended_at
    match done.decision:
        case Delivered():
            status = DeliveryStatus.SUCCEEDED
        case Retry(at=at):
            status, next_at, finished = DeliveryStatus.PENDING, at, None
        case GiveUp(reason=reason) | Disable(reason=reason):
            status, error = DeliveryStatus.FAILED, f"{reason}; last error: {error}"
    return {
        "b_id": done.job.delivery_id,
        "b_token": done.job.lease_token,
        "b_status": status.value,
        "b_attempts": done.job.number,
        "b_next": next_at,
        "b_code": done.result.status_code if isinstance(done.result, Response) else None,
        "b_error": error,
        "b_finished": finished,
    }


def skip_row(skipped: Skipped, now: float) -> dict[str, Any]:
    return {
        "b_id": skipped.delivery_id,
        "b_token": skipped.lease_token,
        "b_status": DeliveryStatus.CANCELLED.value,
        "b_attempts": 0,
        "b_next": None,
        "b_code": None,
        "b_error": skipped.reason,
        "b_finished": now,
    }


def tallies(done: Iterable[Finished]) -> list[dict[str, Any]]:
    """Per webhook, in the order attempts ended: counts, and the failure streak after the last
    success (bind parameters for `store.webhooks.tally_many`)."""
    by_webhook: dict[str, dict[str, Any]] = {}
    for item in sorted(done, key=lambda d: d.ended_at):
        at = item.ended_at
        tally = by_webhook.setdefault(
            item.job.target.webhook_id,
            {
                "b_id": item.job.target.webhook_id,
                "b_successes": 0,
                "b_failures": 0,
                "b_reset": False,
                "b_streak": 0,
                "b_since": None,
                "b_last": at,
                "b_last_success": None,
                "b_last_failure": None,
            },
        )
        tally["b_last"] = at
        if isinstance(item.decision, Delivered):
            tally |= {"b_reset": True, "b_streak": 0, "b_since": None, "b_last_success": at}
            tally["b_successes"] += 1
        else:
            tally["b_failures"] += 1
            tally["b_streak"] += 1
            tally["b_since"] = tally["b_since"] or at
            tally["b_last_failure"] = at
    return list(by_webhook.values())
