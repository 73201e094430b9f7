from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hookline import batches, fanout, filters, formats, ids, schemes
from hookline.catalog import EventCatalog
from hookline.circuit import State
from hookline.clock import Clock, system_clock
from hookline.deliver import Job, Target, attempt, attempt_error, attempt_record, one_shot, prepare
from hookline.destinations import urls as destination_urls
from hookline.destinations.smtp import MAIL_HEADERS
from hookline.destinations.urls import DestinationURL, is_masked
from hookline.errors import Conflict, Forbidden, InvalidInput
from hookline.ingest import Ingestor
from hookline.models import (
    FIRST_PAGE,
    TEST_EVENT_TYPE,
    DeliveryStatus,
    ManagedBy,
    NumberedPage,
    Page,
    Paging,
    Preview,
    SecretRotation,
    Trigger,
    Webhook,
    WebhookCreate,
    WebhookPreview,
    WebhookPublicKeys,
    WebhookTest,
    WebhookTestResult,
    WebhookUpdate,
    WebhookWithSecret,
)
from hookline.records import NewEvent, Route, SealedTarget
from hookline.schedule import Delivered, RetryPolicy
from hookline.service.common import found, refuse_managed, resolve_tenant
from hookline.ssrf import NetworkPolicy
from hookline.store import Database
from hookline.store import attempts as attempt_rows
from hookline.store import deliveries as delivery_rows
from hookline.store import events as event_rows
from hookline.store import tenants as tenant_rows
from hookline.store import webhooks as webhook_rows
from hookline.transport import Failure, Response, Sender
from hookline.vault import Vault

ONE_SHOT = RetryPolicy(schedule=())
MAX_HEADERS = 20
MAX_HEADER_BYTES = 8 * 1024
# Headers hookline sets itself, or that belong to the connection rather than the message.
RESERVED_HEADERS = schemes.HTTP_HEADERS | {
    "webhook-id",
    "webhook-signature",
    "webhook-timestamp",
    "x-webhook-event",
}


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    """Custom headers sent with every delivery: valid names, no line breaks, none of ours."""
    if len(headers) > MAX_HEADERS:
        raise InvalidInput(
            f"headers: at most {MAX_HEADERS} custom headers; got {len(headers)}", loc=("headers",)
        )
    size = 0
    for name, value in headers.items():
        if not schemes.HEADER_NAME.match(name):
            raise InvalidInput(
                f"headers: {name!r} is not a valid HTTP header name", loc=("headers", name)
            )
        if name.lower() in RESERVED_HEADERS:
            raise InvalidInput(
                f"headers: {name!r} is set by hookline or by HTTP itself and cannot be overridden"
            )
        if "\r" in value or "\n" in value or "\x00" in value:
            raise InvalidInput(
                f"headers: the value of {name!r} must not contain line breaks",
                loc=("headers", name),
            )
        size += len(name) + len(value)
    if size > MAX_HEADER_BYTES:
        raise InvalidInput(
            f"headers: {size} bytes in all; the limit is {MAX_HEADER_BYTES}", loc=("headers",)
        )
    return headers


def check_mail_headers(url: str, headers: dict[str, str]) -> None:
    """A mailto: webhook's custom headers go into the mail: none may be one the mail is made
    of (From, To, Subject...)."""
    if not formats.is_mail(url):
        return
    for name in headers:
        if name.lower() in MAIL_HEADERS:
            raise InvalidInput(
                f"headers: {name!r} is part of the mail hookline writes for a mailto: webhook "
                "and cannot be set; recipients are the url's addresses, the subject is "
                "format_options.subject",
                loc=("headers", name),
            )


# Fields a PATCH may change but not set to null.
NOT_NULL = frozenset(
    {
        "url",
        "name",
        "description",
        "event_types",
        "headers",
        "format",
        "is_active",
        "fifo_on_failure",
    }
)


@dataclass(frozen=True)
class Draft:
    """A new webhook's fields, each checked as `create` saves them."""

    destination: DestinationURL
    event_types: list[str]
    headers: dict[str, str]
    filter: dict[str, Any] | None
    shape: formats.Spec
    scheme: dict[str, Any] | None
    secret: str
    max_in_flight: int | None
    timeout: float | None


@dataclass(frozen=True)
class DraftPreview:
    """What a webhook not yet saved would send; `sample_secret`: signed with a stand-in for
    the secret it will have (a new webhook's is made when it is created)."""

    preview: Preview
    sample_secret: bool


class Webhooks:
    def __init__(
        self,
        db: Database,
        catalog: EventCatalog,
        policy: NetworkPolicy,
        transport: Sender,
        vault: Vault,
        ingestor: Ingestor,
        *,
        in_flight_ceiling: int,
        max_request_timeout: float = 60.0,
        destination_kinds: frozenset[str] = frozenset({"https", "http"}),
        on_cancelled: Callable[[int], None] = lambda _: None,
        clock: Clock = system_clock,
    ) -> None:
        self._db = db
        self._on_cancelled = on_cancelled
        self._kinds = destination_kinds
        self._catalog = catalog
        self._policy = policy
        self._transport = transport
        self._vault = vault
        self._ingestor = ingestor
        self._ceiling = in_flight_ceiling
        self._max_timeout = max_request_timeout
        self._clock = clock

    def _check_url(self, url: str, tenant: str | None) -> DestinationURL:
        """A webhook's destination, if this installation lets the caller use it (brokers: an
        admin key only)."""
        return destination_urls.check(url, self._policy, allowed=self._kinds, admin=tenant is None)

    def _seal_url(self, destination: DestinationURL) -> str | None:
        """A URL with credentials is kept encrypted; the webhook shows it masked."""
        return self._vault.seal(destination.url) if destination.has_credentials else None

    def _check_max_in_flight(self, value: int | None) -> int | None:
        if value is not None and value > self._ceiling:
            raise InvalidInput(
                f"max_in_flight: at most {self._ceiling} requests at once on this installation "
                "(HOOKLINE_MAX_IN_FLIGHT_CEILING), so one webhook cannot take every delivery "
                f"slot; got {value}",
                loc=("max_in_flight",),
            )
        return value

    async def _check_event_types(self, names: list[str]) -> list[str]:
        unknown = [name for name in names if await self._catalog.get(name) is None]
        if unknown:
            await self._catalog.require(unknown[0])  # raises, listing the known types
        return sorted(set(names))

    def _check_timeout(self, value: float | None) -> float | None:
        if value is not None and value > self._max_timeout:
            raise InvalidInput(
                f"timeout: at most {self._max_timeout:g} s on this installation "
                f"(HOOKLINE_MAX_REQUEST_TIMEOUT), got {value:g}: send a shorter timeout, or "
                "null for the installation's default (HOOKLINE_REQUEST_TIMEOUT)",
                loc=("timeout",),
            )
        return value

    async def _sample(self, event_types: list[str]) -> formats.Sample:
        """What a template is checked against: the first example of the first subscribed type
        that has one."""
        for name in event_types:
            known = await self._catalog.get(name)
            if known is not None and known.examples:
                return formats.Sample(name, known.examples[0], example=True)
        return formats.Sample(event_types[0] if event_types else formats.GENERIC_SAMPLE_TYPE)

    async def _draft(
        self, spec: WebhookCreate, tenant: str | None, context: formats.Context
    ) -> Draft:
        """Every field of a new webhook checked as it would be saved (raises InvalidInput
        saying what to fix); its secret is the one sent, or a new one."""
        destination = self._check_url(spec.url, tenant)
        url = destination.url
        event_types = await self._check_event_types(spec.event_types)
        headers = check_headers(spec.headers)
        check_mail_headers(url, headers)
        payload_filter = None if spec.filter is None else filters.validate(spec.filter)
        shape = formats.check(
            formats.Spec(
                spec.format or formats.default_for(url), spec.template, spec.format_options
            ),
            url,
            await self._sample(event_types),
            context,
        )
        batches.check(
            None if spec.batch is None else spec.batch.model_dump(),
            ordering=spec.ordering,
            format_name=shape.name,
            url=url,
        )
        scheme = schemes.expand(spec.signature)
        return Draft(
            destination=destination,
            event_types=event_types,
            headers=headers,
            filter=payload_filter,
            shape=shape,
            scheme=scheme,
            secret=schemes.check_secret(scheme, spec.secret),
            max_in_flight=self._check_max_in_flight(spec.max_in_flight),
            timeout=self._check_timeout(spec.timeout),
        )

    async def create(
        self,
        spec: WebhookCreate,
        *,
        tenant: str | None,
        managed: tuple[ManagedBy, str] | None = None,
    ) -> WebhookWithSecret:
        """`managed`: (where it is declared, its key there), for hookline.reconcile only."""
        tenant_id = _owner(spec.tenant_id, tenant)
        draft = await self._draft(spec, tenant, formats.Context("wh_example", spec.name))
        destination, shape = draft.destination, draft.shape
        at = self._clock()
        async with self._db.write() as conn:
            tenant_id = await resolve_tenant(conn, tenant_id)
            owner = found(await tenant_rows.get(conn, tenant_id), "tenant", tenant_id)
            count = await tenant_rows.webhook_count(conn, tenant_id)
            if count >= owner.max_webhooks:
                raise Forbidden(
                    f"tenant {tenant_id!r} has {count} webhooks and may have at most "
                    f"{owner.max_webhooks} (its max_webhooks); delete one or raise the limit"
                )
            created = await webhook_rows.insert_one(
                conn,
                {
                    "id": ids.new_id(ids.WEBHOOK, at),
                    "tenant_id": tenant_id,
                    "name": spec.name,
                    "url": destination.masked,
                    "url_sealed": self._seal_url(destination),
                    "description": spec.description,
                    "event_types": draft.event_types,
                    "filter": draft.filter,
                    "headers": draft.headers,
                    "format": shape.name,
                    "template": shape.template,
                    "format_options": None if shape.options is None else dict(shape.options),
                    "signature": draft.scheme,
                    "retry_schedule": spec.retry_schedule,
                    "timeout": draft.timeout,
                    "secret": self._vault.seal(draft.secret),
                    "is_active": spec.is_active,
                    "rate_limit_per_minute": spec.rate_limit_per_minute,
                    "max_in_flight": draft.max_in_flight,
                    "batch": None if spec.batch is None else spec.batch.model_dump(),
                    "ordering": spec.ordering,
                    "fifo_on_failure": spec.fifo_on_failure,
                    "managed_by": None if managed is None else managed[0],
                    "managed_key": None if managed is None else managed[1],
                    "created_at": at,
                    "updated_at": at,
                },
            )
        return WebhookWithSecret(**created.model_dump(), secret=draft.secret)

    async def get(self, webhook_id: str, *, tenant: str | None) -> Webhook:
        async with self._db.read() as conn:
            webhook = await webhook_rows.get(conn, webhook_id, tenant_id=tenant)
        return found(webhook, "webhook", webhook_id)

    async def list(
        self, *, tenant: str | None, paging: Paging = FIRST_PAGE
    ) -> Page[Webhook] | NumberedPage[Webhook]:
        async with self._db.read() as conn:
            return await webhook_rows.page(conn, tenant_id=tenant, paging=paging)

    async def managed(self, source: ManagedBy) -> dict[str, Webhook]:
        """The webhooks declared in `source`, by their key there."""
        async with self._db.read() as conn:
            return await webhook_rows.managed(conn, source)

    async def has_secret(self, webhook_id: str, secret: str) -> bool:
        """Whether `secret` is the webhook's current secret."""
        async with self._db.read() as conn:
            row = (await webhook_rows.targets(conn, {webhook_id})).get(webhook_id)
        return row is not None and self._vault.open(row.secret) == secret

    async def has_url(self, webhook_id: str, url: str) -> bool:
        """Whether `url` is the webhook's URL, credentials included (they are kept sealed)."""
        async with self._db.read() as conn:
            row = (await webhook_rows.targets(conn, {webhook_id})).get(webhook_id)
        if row is None:
            return False
        return (row.url if row.url_sealed is None else self._vault.open(row.url_sealed)) == url

    async def _sealed(self, webhook_id: str, tenant: str | None) -> SealedTarget:
        """The webhook as the worker sends to it, its secrets still sealed (404 if unknown)."""
        async with self._db.read() as conn:
            sealed = await webhook_rows.targets(conn, {webhook_id}, tenant_id=tenant)
        return found(sealed.get(webhook_id), "webhook", webhook_id)

    async def update(
        self,
        webhook_id: str,
        spec: WebhookUpdate,
        *,
        tenant: str | None,
        managed: bool = False,
        reason: str | None = None,
    ) -> Webhook:
        """`managed`: hookline.reconcile changing a declared webhook (the API may not).
        `reason`: why it is disabled (`hookline webhooks disable --reason`), when is_active
        turns false."""
        current = await self.get(webhook_id, tenant=tenant)
        if not managed:
            refuse_managed("webhook", webhook_id, current.managed_by)
        values = spec.model_dump(exclude_unset=True)
        cleared = sorted(k for k, v in values.items() if v is None and k in NOT_NULL)
        if cleared:
            raise InvalidInput(
                f"{', '.join(cleared)} cannot be null; omit a field to keep it", loc=(cleared[0],)
            )
        if "url" in values and values["url"] == current.url and is_masked(current.url):
            del values["url"]  # shown back masked and sent again unchanged: keep its credentials
        if "url" in values:
            destination = self._check_url(values["url"], tenant)
            values["url"], values["url_sealed"] = destination.masked, self._seal_url(destination)
        if "event_types" in values:
            values["event_types"] = await self._check_event_types(values["event_types"])
        if "headers" in values:
            values["headers"] = check_headers(values["headers"])
        if values.keys() & {"headers", "url"}:
            check_mail_headers(
                values.get("url", current.url), values.get("headers", current.headers)
            )
        if values.get("filter") is not None:
            values["filter"] = filters.validate(values["filter"])
        if "max_in_flight" in values:
            values["max_in_flight"] = self._check_max_in_flight(values["max_in_flight"])
        if "timeout" in values:
            values["timeout"] = self._check_timeout(values["timeout"])
        if "signature" in values:
            values["signature"] = schemes.expand(values["signature"])
        if values.keys() & {"format", "template", "format_options", "url"}:
            moved = "url" in values and formats.is_mail(values["url"]) != formats.is_mail(
                current.url
            )
            if moved and "format" not in values:  # to or from mailto: the new kind's default
                values["format"] = formats.default_for(values["url"])
            if values.get("format", current.format) != current.format:
                # another format: the old one's template and options go unless sent again
                values.setdefault("template", None)
                values.setdefault("format_options", None)
            shape = formats.check(
                formats.Spec(
                    values.get("format", current.format),
                    values.get("template", current.template),
                    values.get("format_options", current.format_options),
                ),
                values.get("url", current.url),  # masked: formats read its kind and host only
                await self._sample(values.get("event_types", current.event_types)),
                formats.Context(current.id, values.get("name", current.name), current.tenant_id),
            )
            values |= {
                "format": shape.name,
                "template": shape.template,
                "format_options": None if shape.options is None else dict(shape.options),
            }
        if values.keys() & {"batch", "ordering", "format", "url"}:
            batches.check(
                values.get("batch", current.batch and current.batch.model_dump()),
                ordering=values.get("ordering", current.ordering),
                format_name=values.get("format", current.format),
                url=values.get("url", current.url),
            )
        if values.get("is_active") is True:  # re-enabled: a fresh start
            values |= {
                "disabled_reason": None,
                "disabled_at": None,
                "consecutive_failures": 0,
                "failing_since": None,
                "circuit_state": State.CLOSED.value,
                "circuit_retry_at": None,
            }
        at = self._clock()
        values["updated_at"] = at
        if values.get("is_active") is False and reason is not None:
            values |= {"disabled_reason": reason, "disabled_at": at}
        cancelled = 0
        async with self._db.write() as conn:
            if "signature" in values:
                values |= await self._secrets_under(conn, webhook_id, values["signature"], tenant)
            updated = found(
                await webhook_rows.update_one(conn, webhook_id, values, tenant_id=tenant),
                "webhook",
                webhook_id,
            )
            if "rate_limit_per_minute" in values:
                await webhook_rows.reset_throttle(conn, webhook_id, at)
            if (updated.ordering, updated.fifo_on_failure) != (
                current.ordering,
                current.fifo_on_failure,
            ):
                await delivery_rows.set_ordered(conn, webhook_id, fifo=updated.ordering == "fifo")
            if values.get("is_active") is False:
                cancelled = await webhook_rows.cancel_pending(
                    conn,
                    webhook_id,
                    f"webhook disabled: {reason or 'deactivated through the API'}",
                    at,
                )
        if cancelled:
            self._on_cancelled(cancelled)
        return updated

    async def _secrets_under(
        self, conn: AsyncConnection, webhook_id: str, scheme: schemes.Scheme, tenant: str | None
    ) -> dict[str, Any]:
        """Changes to the stored secrets a new signature scheme needs. Standard Webhooks signs
        with `whsec_` secrets only, so another secret must be rotated first; ed25519 gets a new
        private key (receivers need only its public key); a rotated-out secret that cannot sign
        under the new scheme stops signing."""
        row = (await webhook_rows.targets(conn, {webhook_id}, tenant_id=tenant)).get(webhook_id)
        row = found(row, "webhook", webhook_id)
        changes: dict[str, Any] = {}
        if not schemes.fits(scheme, self._vault.open(row.secret)):
            if schemes.is_ed25519(scheme):
                changes["secret"] = self._vault.seal(schemes.check_secret(scheme, None))
            elif schemes.is_ed25519(row.signature):
                raise InvalidInput(
                    "signature: this webhook signs with an ed25519 private key, which must "
                    "never become a secret shared with a receiver; create a new webhook with "
                    "the scheme you want, then delete this one",
                    loc=("signature",),
                )
            else:
                raise InvalidInput(
                    "signature: Standard Webhooks signs with a 'whsec_...' secret and this "
                    "webhook's secret is not one; first rotate the secret (POST /api/v1/webhooks/"
                    f"{webhook_id}/rotate-secret without `secret`: hookline generates a whsec_ "
                    "secret), then set `signature` to null",
                    loc=("signature",),
                )
        previous = row.previous_secret
        if "secret" in changes or (
            previous is not None and not schemes.fits(scheme, self._vault.open(previous))
        ):
            changes |= {"previous_secret": None, "previous_secret_expires_at": None}
        return changes

    async def public_keys(self, webhook_id: str, *, tenant: str | None) -> WebhookPublicKeys:
        """The public keys receivers verify an ed25519 (v1a) webhook's signatures with."""
        sealed = await self._sealed(webhook_id, tenant)
        if not schemes.is_ed25519(sealed.signature):
            raise Conflict(
                f"webhook {webhook_id!r} signs with a secret it shares with its receiver and has "
                'no public key; set its `signature` to {"preset": "ed25519"} for one'
            )
        target = Target.open(sealed, self._clock(), self._vault)
        return WebhookPublicKeys(public_keys=schemes.public_keys(sealed.signature, target.keys))

    async def rotate_secret(
        self,
        webhook_id: str,
        spec: SecretRotation,
        *,
        tenant: str | None,
        managed: bool = False,
    ) -> WebhookWithSecret:
        """A new secret; the old one keeps signing too for `grace_seconds`, so receivers can
        switch over without rejecting a request."""
        if not managed:
            declared = await self.get(webhook_id, tenant=tenant)
            refuse_managed("webhook", webhook_id, declared.managed_by)
        at = self._clock()
        async with self._db.write() as conn:
            current = await webhook_rows.targets(conn, {webhook_id}, tenant_id=tenant)
            row = found(current.get(webhook_id), "webhook", webhook_id)
            secret = schemes.check_secret(row.signature, spec.secret)
            keep_old = spec.grace_seconds > 0
            updated = await webhook_rows.update_one(
                conn,
                webhook_id,
                {
                    "secret": self._vault.seal(secret),
                    "previous_secret": row.secret if keep_old else None,
                    "previous_secret_expires_at": at + spec.grace_seconds if keep_old else None,
                    "updated_at": at,
                },
                tenant_id=tenant,
            )
        return WebhookWithSecret(
            **found(updated, "webhook", webhook_id).model_dump(), secret=secret
        )

    async def send_test(
        self, webhook_id: str, spec: WebhookTest, *, tenant: str | None
    ) -> WebhookTestResult:
        """Send one signed test event now and report what the receiver answered (an event type
        named without `data` sends the type's first example). It passes the rules a real send
        passes (the catalog, the type's schema, the size limit) and goes once: it is recorded
        as a test attempt in the webhook's delivery log, never retried, never counted towards
        the webhook's health, and never listed, recovered or replayed as an event."""
        event_type = TEST_EVENT_TYPE
        data: dict[str, Any] = {
            "test": True,
            "message": "Webhook configuration verified",
            "webhook_id": webhook_id,
        }
        if spec.event_type is not None:
            event_type = spec.event_type
            data = spec.data if spec.data is not None else await self._example(event_type)
        elif spec.data is not None:
            data = spec.data
        sealed = await self._sealed(webhook_id, tenant)
        event, _ = await self._ingestor.prepare(event_type, data, test=True)
        event = replace(event, tenant_id=sealed.tenant_id)
        route = Route(sealed.id, sealed.tenant_id, frozenset())
        queued = fanout.delivery(route, event.id, event.type, event.created_at)
        job = self._one_shot(sealed, event, queued.id)
        done = await attempt(job, self._transport, ONE_SHOT, clock=self._clock)
        succeeded = isinstance(done.decision, Delivered)
        status_code = done.result.status_code if isinstance(done.result, Response) else None
        error = attempt_error(done.result)
        delivered = replace(
            queued,
            status=DeliveryStatus.SUCCEEDED if succeeded else DeliveryStatus.FAILED,
            trigger=Trigger.TEST,
            attempt_count=1,
            next_attempt_at=None,
            last_status_code=status_code,
            last_error=error,
            finished_at=done.ended_at,
            batch_id=job.batch_id,
        )
        record = attempt_record(done)
        async with self._db.write() as conn:
            await event_rows.insert_many(conn, [event])
            await delivery_rows.insert_many(conn, [delivered])
            await attempt_rows.insert_many(conn, [record])
        return WebhookTestResult(
            status="success" if succeeded else "failure",
            status_code=status_code,
            latency_ms=done.result.latency_ms,
            response_body=record.response_body,
            error=error,
            event_id=event.id,
            delivery_id=queued.id,
        )

    async def _example(self, event_type: str) -> dict[str, Any]:
        """The data of a test send that names only its type: the type's first example, or
        an empty object when it has none."""
        examples = (await self._catalog.require(event_type)).examples
        return dict(examples[0]) if examples else {}

    async def preview(
        self, webhook_id: str, spec: WebhookPreview, *, tenant: str | None
    ) -> Preview:
        """The headers and exact body a delivery of this event would carry, built as a real
        delivery builds them (deliver.build_request), without sending or storing anything."""
        sealed = await self._sealed(webhook_id, tenant)
        target = Target.open(sealed, self._clock(), self._vault)
        return await self._preview(target, sealed.tenant_id, spec, batched=sealed.batch is not None)

    async def preview_draft(
        self,
        spec: WebhookCreate,
        example: WebhookPreview,
        *,
        tenant: str | None,
        webhook_id: str | None = None,
    ) -> DraftPreview:
        """What a webhook saved as `spec` would send, checked as it would be saved, without
        saving or sending anything: the dashboard's form previews with it. `webhook_id`: the
        webhook being edited, whose secret signs while it fits the scheme."""
        sealed = None if webhook_id is None else await self._sealed(webhook_id, tenant)
        hook_id = webhook_id or "wh_preview"
        tenant_id = sealed.tenant_id if sealed else tenant or spec.tenant_id or ""
        if sealed is not None and sealed.url_sealed and spec.url == sealed.url:
            # shown masked and sent back unchanged: the URL with its credentials, kept
            spec = spec.model_copy(update={"url": self._vault.open(sealed.url_sealed)})
        draft = await self._draft(spec, tenant, formats.Context(hook_id, spec.name, tenant_id))
        secret = draft.secret
        if sealed is not None and schemes.fits(draft.scheme, self._vault.open(sealed.secret)):
            secret = self._vault.open(sealed.secret)
        target = Target(
            webhook_id=hook_id,
            url=draft.destination.url,
            keys=(schemes.key(draft.scheme, secret),),
            headers=draft.headers,
            format=draft.shape,
            context=formats.Context(hook_id, spec.name, tenant_id),
            scheme=draft.scheme,
        )
        preview = await self._preview(target, tenant_id, example, batched=spec.batch is not None)
        kept = sealed is not None and secret == self._vault.open(sealed.secret)
        return DraftPreview(preview, sample_secret=not kept)

    async def _preview(
        self, target: Target, tenant_id: str, spec: WebhookPreview, *, batched: bool
    ) -> Preview:
        data = spec.data
        if data is None:
            known = await self._catalog.require(spec.event_type)
            if not known.examples:
                raise InvalidInput(
                    f"data: event type {spec.event_type!r} has no example to preview; send "
                    "`data`, or add `examples` to the event type",
                    loc=("data",),
                )
            data = known.examples[0]
        event, _ = await self._ingestor.prepare(spec.event_type, data)
        job = one_shot(
            event, target, delivery_id="dlv_preview", tenant_id=tenant_id, batched=batched
        )
        request = prepare(job, event.created_at)
        if isinstance(request, Failure):
            raise InvalidInput(request.error, loc=("data",))
        return Preview(
            headers=request.headers,
            body=request.body.decode(),
            subject=request.subject,
            html=request.html,
        )

    def _one_shot(self, sealed: SealedTarget, event: NewEvent, delivery_id: str) -> Job:
        """The first and only attempt of a test send or a preview, as the worker would make
        it."""
        target = Target.open(sealed, event.created_at, self._vault)
        return one_shot(
            event,
            target,
            delivery_id=delivery_id,
            tenant_id=sealed.tenant_id,
            batched=sealed.batch is not None,
        )

    async def reseal_secrets(self) -> int:
        """Re-encrypt every stored secret with the vault's first key (after a key rotation)."""
        async with self._db.write() as conn:
            rows = await webhook_rows.sealed_secrets(conn)
            await webhook_rows.set_sealed_secrets(
                conn,
                [
                    {
                        "b_id": row.id,
                        "b_secret": self._vault.reseal(row.secret),
                        "b_previous": row.previous_secret
                        and self._vault.reseal(row.previous_secret),
                        "b_url": row.url_sealed and self._vault.reseal(row.url_sealed),
                    }
                    for row in rows
                ],
            )
        return len(rows)

    async def delete(self, webhook_id: str, *, tenant: str | None, managed: bool = False) -> None:
        if not managed:
            current = await self.get(webhook_id, tenant=tenant)
            refuse_managed("webhook", webhook_id, current.managed_by)
        async with self._db.write() as conn:
            deleted = await webhook_rows.delete_one(conn, webhook_id, tenant_id=tenant)
        if not deleted:
            found(None, "webhook", webhook_id)


def _owner(requested: str | None, tenant: str | None) -> str:
    """The tenant a new webhook belongs to: a tenant key's own, or the one an admin names."""
    if tenant is not None:
        if requested is not None and requested != tenant:
            raise Forbidden("a tenant key can only create webhooks for its own tenant")
        return tenant
    if requested is None:
        raise InvalidInput(
            "tenant_id is required when an admin key creates a webhook", loc=("tenant_id",)
        )
    return requested
