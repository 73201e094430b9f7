"""One attempt of one delivery: build the signed request, send it, decide what happens next.

Everything here but `attempt` is pure: the request is a function of the job and the clock, and
the records written afterwards (`hookline.records`) are a function of the finished attempts.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from hookline import formats, ids, schemes
from hookline.clock import Clock, system_clock
from hookline.models import DeliveryStatus, Trigger
from hookline.records import DeliveryUpdate, NewAttempt, NewEvent, SealedTarget, Tally
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
from hookline.transport import Accepted, Failure, OutboundRequest, Response, Result, Sender
from hookline.vault import Vault

NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Target:
    """A webhook as the worker sends to it."""

    webhook_id: str
    url: str
    keys: tuple[bytes, ...]  # current secret first, then a rotated-out one still in its grace
    headers: dict[str, str]
    format: formats.Spec
    context: formats.Context
    scheme: schemes.Scheme = None  # None: Standard Webhooks
    retry_schedule: tuple[float, ...] | None = None  # None: the installation's
    timeout: float | None = None  # None: the installation's
    ordered: bool = False  # FIFO: when its attempt ends, the next in line may go

    @classmethod
    def open(cls, sealed: SealedTarget, now: float, vault: Vault) -> Target:
        """The webhook's secrets opened: the rotated-out secret signs too until it expires."""
        scheme = sealed.signature
        keys = [schemes.key(scheme, vault.open(sealed.secret))]
        expires = sealed.previous_secret_expires_at
        if sealed.previous_secret and expires is not None and expires > now:
            keys.append(schemes.key(scheme, vault.open(sealed.previous_secret)))
        return cls(
            webhook_id=sealed.id,
            url=sealed.url if sealed.url_sealed is None else vault.open(sealed.url_sealed),
            keys=tuple(keys),
            headers=dict(sealed.headers),
            format=formats.Spec(sealed.format, sealed.template, sealed.format_options),
            context=formats.Context(
                webhook_id=sealed.id,
                webhook_name=sealed.name,
                tenant_id=sealed.tenant_id,
                tenant_uid=sealed.tenant_uid,
                tenant_name=sealed.tenant_name,
            ),
            scheme=scheme,
            retry_schedule=sealed.retry_schedule,
            timeout=sealed.timeout,
            ordered=sealed.ordering == "fifo",
        )


@dataclass(frozen=True, slots=True)
class Member:
    """One delivery of a batch: its event, and the number of its attempt in this request."""

    delivery_id: str
    event_id: str
    event_type: str
    payload: str
    number: int
    trigger: Trigger
    trace: str | None = None  # its send's trace context (tracing.py)


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed delivery, ready to attempt. A batch's job (`batch_id` set) is its leader, the
    claimed delivery, and carries every delivery of the batch (the leader too) as `members`,
    in the order their events were accepted: one request sends them all."""

    delivery_id: str
    lease_token: str
    event_id: str
    event_type: str
    payload: str
    target: Target
    number: int  # this attempt's number, from 1
    trigger: Trigger
    tenant_id: str
    batch_id: str | None = None
    members: tuple[Member, ...] = ()
    trace: str | None = None  # its send's trace context: the parent of the attempt's span

    @property
    def deliveries(self) -> tuple[Member, ...]:
        """What this attempt delivers: the batch's members, or the delivery alone."""
        if self.batch_id is not None:
            return self.members
        return (
            Member(
                self.delivery_id,
                self.event_id,
                self.event_type,
                self.payload,
                self.number,
                self.trigger,
                self.trace,
            ),
        )


def one_shot(
    event: NewEvent, target: Target, *, delivery_id: str, tenant_id: str, batched: bool = False
) -> Job:
    """The first and only attempt of an event that is not queued: a test send, a preview,
    `hookline test`. To a batch webhook (`batched`) it goes as a batch of one, shaped as
    every request it gets."""
    job = Job(
        delivery_id=delivery_id,
        lease_token="test",
        event_id=event.id,
        event_type=event.type,
        payload=event.payload,
        target=target,
        number=1,
        trigger=Trigger.TEST,
        tenant_id=tenant_id,
    )
    if not batched:
        return job
    return replace(job, batch_id=ids.new_id(ids.BATCH, event.created_at), members=job.deliveries)


@dataclass(frozen=True, slots=True)
class Finished:
    job: Job
    started_at: float
    ended_at: float
    result: Result
    decision: Decision


@dataclass(frozen=True, slots=True)
class Skipped:
    """A claimed delivery that must not be sent (its webhook was disabled, or its event purged)."""

    delivery_id: str
    lease_token: str
    reason: str


def build_request(job: Job, at: float, trace: Mapping[str, str] = NO_HEADERS) -> OutboundRequest:
    """The request of one attempt made at `at`: the body in the webhook's format, signed with
    its scheme. For `mailto:` the body is the mail's text part (what is signed), with its
    subject and HTML beside it. `trace`: the attempt span's `traceparent` (and `tracestate`),
    which win over the webhook's own headers of those names. Raises formats.FormatError when
    the body cannot be rendered."""
    target = job.target
    payloads = [m.payload for m in job.deliveries]
    if job.batch_id is None:
        message_id, event_type = job.event_id, job.event_type
    else:  # one body, signed once, under the batch's id
        message_id, event_type = job.batch_id, batch_event_type(job.members)
    mail = None
    if formats.is_mail(target.url):  # one mail, for one event or a batch
        mail = formats.render_email(target.format, payloads, target.context)
        body = mail.text.encode()
    elif job.batch_id is None:
        body = formats.render(target.format, job.payload, target.context)
    else:
        body = formats.render_batch(target.format, payloads, target.context)
    signed = schemes.headers(
        target.scheme,
        target.keys,
        schemes.Message(message_id, target.webhook_id, event_type, at, body),
    )
    headers = {**target.headers}
    if mail is None:  # a mail's parts carry their own content types
        headers["content-type"] = "application/json"
    headers["x-webhook-event"] = event_type
    # The trace's headers and the scheme's: their spelling wins over a default's.
    for name, value in (*trace.items(), *signed.items()):
        for taken in [k for k in headers if k.lower() == name.lower()]:
            del headers[taken]
        headers[name] = value
    return OutboundRequest(
        url=target.url,
        headers=headers,
        body=body,
        timeout=target.timeout,
        subject=None if mail is None else mail.subject,
        html=None if mail is None else mail.html,
    )


def batch_event_type(members: Iterable[Member]) -> str:
    """A batch's event type, as `x-webhook-event` and signature schemes show it: its events'
    types, each once, in order, comma-separated (an HTTP list)."""
    return ",".join(dict.fromkeys(m.event_type for m in members))


def prepare(
    job: Job, at: float, trace: Mapping[str, str] = NO_HEADERS
) -> OutboundRequest | Failure:
    """The request of an attempt made at `at`, or the failure of a body that cannot be
    rendered, saying why."""
    try:
        return build_request(job, at, trace)
    except formats.FormatError as exc:
        return Failure(
            error=f"the {job.target.format.name} format could not render this event: {exc}",
            latency_ms=0,
        )


async def attempt(
    job: Job,
    transport: Sender,
    policy: RetryPolicy,
    *,
    clock: Clock = system_clock,
    rand: Callable[[], float] = random.random,
    trace: Mapping[str, str] = NO_HEADERS,
) -> Finished:
    started = clock()
    request = prepare(job, started, trace)
    result = request if isinstance(request, Failure) else await transport.post(request)
    return finish(job, result, policy, started=started, ended=clock(), rand=rand())


def finish(
    job: Job,
    result: Result,
    policy: RetryPolicy,
    *,
    started: float,
    ended: float,
    rand: float,
) -> Finished:
    """An attempt that ended with `result`, and what happens next (on the webhook's own retry
    schedule when it has one)."""
    if isinstance(result, Accepted):
        return Finished(job, started, ended, result, Delivered())
    if isinstance(result, Failure) and result.final:
        return Finished(job, started, ended, result, GiveUp("the destination refused it for good"))
    if job.target.retry_schedule is not None:
        policy = replace(policy, schedule=job.target.retry_schedule)
    if isinstance(result, Response):
        status, retry_after = result.status_code, parse_retry_after(result.retry_after, ended)
        if retry_after is None and status == 429:  # chat services put the wait in the body
            retry_after = formats.body_retry_after(result.body)
    else:
        status, retry_after = None, None
    decision = decide(
        policy,
        attempt=job.number,
        status_code=status,
        retry_after=retry_after,
        now=ended,
        rand=rand,
        final=job.trigger == Trigger.MANUAL,
    )
    return Finished(job, started, ended, result, decision)


def attempt_error(result: Result) -> str | None:
    """What went wrong with one attempt, in words; None for a success."""
    if isinstance(result, Failure):
        return result.error
    if isinstance(result, Accepted):
        return None
    code = result.status_code
    if 200 <= code < 300:
        return None
    if 300 <= code < 400:
        return f"HTTP {code}: redirects are not followed; point the webhook at the final URL"
    return f"HTTP {code}"


def attempt_record(done: Finished) -> NewAttempt:
    """The attempt a single delivery (or a batch's leader) made."""
    return _attempt_of(done, done.job.deliveries[0])


def attempt_records(done: Finished) -> list[NewAttempt]:
    """One attempt row per delivery the request carried: a batch's members each log it, with
    the same outcome and latency."""
    return [_attempt_of(done, member) for member in done.job.deliveries]


def _attempt_of(done: Finished, member: Member) -> NewAttempt:
    result = done.result
    return NewAttempt(
        id=ids.new_id(ids.ATTEMPT, done.started_at),
        delivery_id=member.delivery_id,
        webhook_id=done.job.target.webhook_id,
        number=member.number,
        status_code=result.status_code if isinstance(result, Response) else None,
        latency_ms=result.latency_ms,
        response_body=_answer(result),
        error=attempt_error(result),
        trigger=member.trigger,
        created_at=done.started_at,
    )


def _answer(result: Result) -> str:
    """What the destination answered, as the attempt log shows it."""
    if isinstance(result, Response):
        return result.body
    return result.detail if isinstance(result, Accepted) else ""


def next_states(done: Finished) -> list[DeliveryUpdate]:
    """Each delivery's state after an attempt. A batch's members share its outcome; when it
    is retried, its leader carries the time and the others wait for it (`next_attempt_at`
    null: see hookline.store.batches)."""
    if done.job.batch_id is None:
        return [next_state(done)]
    state = next_state(done)
    waits = state.status == DeliveryStatus.PENDING
    return [
        replace(
            state,
            id=member.delivery_id,
            attempt_count=member.number,
            next_attempt_at=state.next_attempt_at
            if member.delivery_id == done.job.delivery_id or not waits
            else None,
        )
        for member in done.job.members
    ]


def next_state(done: Finished) -> DeliveryUpdate:
    """The delivery's state after an attempt."""
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
    return DeliveryUpdate(
        id=done.job.delivery_id,
        token=done.job.lease_token,
        status=status,
        attempt_count=done.job.number,
        next_attempt_at=next_at,
        last_status_code=done.result.status_code if isinstance(done.result, Response) else None,
        last_error=error,
        finished_at=finished,
    )


def skipped_state(skipped: Skipped, now: float) -> DeliveryUpdate:
    """A claimed delivery that will never be sent is cancelled, with the reason."""
    return DeliveryUpdate(
        id=skipped.delivery_id,
        token=skipped.lease_token,
        status=DeliveryStatus.CANCELLED,
        attempt_count=0,
        next_attempt_at=None,
        last_status_code=None,
        last_error=skipped.reason,
        finished_at=now,
    )


def tallies(done: Iterable[Finished]) -> list[Tally]:
    """Per webhook, in the order attempts ended: counts, and the failure streak after the last
    success."""
    by_webhook: dict[str, Tally] = {}
    for item in sorted(done, key=lambda d: d.ended_at):
        at, webhook_id = item.ended_at, item.job.target.webhook_id
        tally = by_webhook.get(webhook_id) or Tally(
            webhook_id=webhook_id,
            successes=0,
            failures=0,
            reset=False,
            streak=0,
            failing_since=None,
            last_at=at,
            last_success_at=None,
            last_failure_at=None,
        )
        if isinstance(item.decision, Delivered):
            tally = replace(
                tally,
                successes=tally.successes + 1,
                reset=True,
                streak=0,
                failing_since=None,
                last_at=at,
                last_success_at=at,
            )
        else:
            tally = replace(
                tally,
                failures=tally.failures + 1,
                streak=tally.streak + 1,
                failing_since=tally.failing_since or at,
                last_at=at,
                last_failure_at=at,
            )
        by_webhook[webhook_id] = tally
    return list(by_webhook.values())
