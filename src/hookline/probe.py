"""`hookline test`: a signed sample of each event type of the catalog, sent straight to a URL.

Nothing is stored and nothing is retried. The catalog is the HOOKLINE_CONFIG file or the
database (`read_catalog`). Each matching type's first example (`{}` when it has none) becomes
an event and a request exactly as a delivery would (`deliver.attempt`: the format, then the
signature scheme), sent once through the delivery transport, SSRF guard included.
`hookline test --webhook` goes through a running server's test endpoint instead; both print
the same line per type (`line`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
from sqlalchemy.engine import make_url

from hookline import declared, deliver, fanout, formats, schemes
from hookline.client import Client, HooklineAPIError
from hookline.clock import Clock, system_clock
from hookline.config import Settings
from hookline.models import TEST_EVENT_TYPE, EventType, WebhookTestResult
from hookline.node import network_policy
from hookline.schedule import RetryPolicy, is_success
from hookline.store import Database
from hookline.store import event_types as event_type_rows
from hookline.transport import Response, Transport

PROBE_WEBHOOK_ID = "wh_test"  # what templates and scheme placeholders see as the webhook's id
ONCE = RetryPolicy(schedule=())

Emit = Callable[[str], None]  # where the lines go


class Kind(Protocol):
    """An event type as a catalog declares it: a stored `EventType` (live ones only) or, from
    a configuration file, an `EventTypeCreate`."""

    @property
    def name(self) -> str: ...
    @property
    def group(self) -> str | None: ...
    @property
    def examples(self) -> list[dict[str, Any]]: ...


K = TypeVar("K", bound=Kind)


class Refused(Exception):
    """Nothing can be tested as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Tried:
    """What one sample got back."""

    event_type: str
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None


def matching(types: Iterable[K], wanted: str | None) -> list[K]:
    """The types `--type` names: every one when None, else those whose name or group is
    `wanted`, case-insensitively (seed 000's `--type cascade` is the group CASCADE)."""
    if wanted is None:
        return list(types)
    key = wanted.strip().casefold()
    return [t for t in types if key in (t.name.casefold(), t.group and t.group.casefold())]


def choices(types: Iterable[Kind]) -> str:
    """What `--type` may say, for an error message."""
    known = list(types)
    names = ", ".join(sorted(t.name for t in known))
    groups = ", ".join(sorted({t.group for t in known if t.group}))
    return f"event types: {names}" + (f"; groups: {groups}" if groups else "")


def scheme_for(signature_header: str | None) -> schemes.Scheme:
    """`--signature-header H`: the scheme {"header": H} (the hex HMAC-SHA256 of the body, as
    seeds 000 and 002 verify); without it, Standard Webhooks. Raises InvalidInput."""
    if signature_header is None:
        return None
    return schemes.expand({"header": signature_header})


def target(
    url: str, secret: str, *, format_name: str | None, scheme: schemes.Scheme
) -> deliver.Target:
    """A webhook to `url` that exists only for this run. Raises InvalidInput for a format the
    URL cannot take or a secret the scheme cannot use."""
    spec = formats.check(formats.Spec(format_name or formats.default_for(url)), url)
    return deliver.Target(
        webhook_id=PROBE_WEBHOOK_ID,
        url=url,
        keys=(schemes.key(scheme, secret),),
        headers={},
        format=spec,
        context=formats.Context(PROBE_WEBHOOK_ID, "hookline test"),
        scheme=scheme,
    )


def sample(event_type: Kind) -> dict[str, Any]:
    """The data a sample of `event_type` carries: its first example, or `{}`."""
    return dict(event_type.examples[0]) if event_type.examples else {}


def job(to: deliver.Target, event_type: Kind, now: float) -> deliver.Job:
    event, _ = fanout.event(event_type.name, sample(event_type), tenant_id=None, now=now, test=True)
    return deliver.one_shot(event, to, delivery_id="", tenant_id="")


async def send(
    transport: Transport,
    to: deliver.Target,
    types: Sequence[Kind],
    *,
    clock: Clock = system_clock,
) -> AsyncIterator[Tried]:
    """Send one sample of each type, one after the other; yields each outcome as it ends."""
    for event_type in types:
        done = await deliver.attempt(job(to, event_type, clock()), transport, ONCE, clock=clock)
        result = done.result
        status = result.status_code if isinstance(result, Response) else None
        yield Tried(
            event_type=event_type.name,
            ok=is_success(status),
            status_code=status,
            latency_ms=result.latency_ms,
            error=deliver.attempt_error(result),
        )


def tried(event_type: str, result: WebhookTestResult) -> Tried:
    """A server's test send, as a line of `hookline test`."""
    return Tried(
        event_type=event_type,
        ok=result.status == "success",
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        error=result.error,
    )


def line(outcome: Tried, width: int) -> str:
    """`  ✓ LIQUIDATION_CASCADE  200  12 ms`, with the error after a failure."""
    mark = "✓" if outcome.ok else "✗"
    status = "---" if outcome.status_code is None else str(outcome.status_code)
    text = f"  {mark} {outcome.event_type:<{width}}  {status}  {outcome.latency_ms} ms"
    return text if outcome.error is None else f"{text}  {outcome.error}"


def summary(outcomes: Sequence[Tried]) -> str:
    failed = sum(not o.ok for o in outcomes)
    if not failed:
        return f"all {len(outcomes)} succeeded"
    return f"{failed} of {len(outcomes)} failed"


# --- the two runs, at the edges: the catalog and the network --------------------------------


def _database_exists(database_url: str) -> bool:
    url = make_url(database_url)
    return url.get_backend_name() != "sqlite" or not url.database or Path(url.database).exists()


async def read_catalog(settings: Settings) -> Sequence[Kind]:
    """The event types to sample: HOOKLINE_CONFIG's `[[event_types]]` when it is set (no
    database needed), else the configured database's live ones (none when its SQLite file does
    not exist: a test creates no database)."""
    if settings.config is not None:
        return declared.read_file(settings.config, declared.environment()).event_types
    if not _database_exists(settings.database_url):
        return []
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.read() as conn:
            return [t for t in await event_type_rows.all_types(conn) if not t.archived]
    finally:
        await db.close()


def catalog_name(settings: Settings, shown_database_url: str) -> str:
    """Where `read_catalog` reads, for messages."""
    return str(settings.config) if settings.config is not None else shown_database_url


ADD_TYPES = (
    'add them with POST /api/v1/event-types {"name": ..., "group": ..., "examples": [{...}]} '
    "(a sample carries the first example)"
)


def _chosen(known: Sequence[K], wanted: str | None, where: str, *, how: str) -> list[K]:
    """The types to sample from the catalog of `where`; `how`: how to add some to it."""
    if not known:
        raise Refused(f"no event types in the catalog of {where}: {how}")
    chosen = matching(known, wanted)
    if not chosen:
        raise Refused(f"no event type or group is called {wanted!r} in {where}; {choices(known)}")
    return chosen


async def to_url(
    settings: Settings,
    url: str,
    wanted: str | None,
    *,
    format_name: str | None,
    secret: str | None,
    signature_header: str | None,
    emit: Emit,
    where: str,
) -> list[Tried]:
    """`hookline test --url`: a sample of each matching type of the catalog (`where` names
    it: `catalog_name`), straight to `url`, one line each. Raises Refused, or InvalidInput or
    ConfigurationError for a bad option or file."""
    scheme = scheme_for(signature_header)
    key = schemes.check_secret(scheme, secret)
    to = target(url, key, format_name=format_name, scheme=scheme)
    how = (
        f"declare them as [[event_types]] in {settings.config}, with their examples"
        if settings.config is not None
        else f"{ADD_TYPES}, or point HOOKLINE_DATABASE_URL at the database that has them"
    )
    types = _chosen(await read_catalog(settings), wanted, where, how=how)
    header = "webhook-signature" if scheme is None else scheme["header"]
    emit(
        f"hookline test: {len(types)} event type{'s' if len(types) != 1 else ''} to {url} "
        f"({to.format.name}, signed in {header})"
    )
    if secret is None:
        emit(f"signed with a new secret (choose one with --secret): {key}")
    transport = Transport(
        timeout=settings.request_timeout,
        max_body_bytes=settings.max_response_body_bytes,
        policy=network_policy(settings),
    )
    await transport.start()
    width = max(len(t.name) for t in types)
    outcomes = []
    try:
        async for outcome in send(transport, to, types):
            emit(line(outcome, width))
            outcomes.append(outcome)
    finally:
        await transport.close()
    return outcomes


def through_server(
    base_url: str,
    key: str | None,
    webhook: str,
    wanted: str | None,
    *,
    emit: Emit,
    timeout: float = 90.0,
) -> list[Tried]:
    """`hookline test --webhook`: the server's own test send of `webhook`, once (the
    `webhook.test` event) or once per matching type of the server's catalog. `timeout`: how
    long one test send may take, the receiver's answer included."""
    try:
        with Client(base_url, key, timeout=timeout) as client:
            names = [TEST_EVENT_TYPE]
            if wanted is not None:
                names = [
                    t.name for t in _chosen(_api_catalog(client), wanted, base_url, how=ADD_TYPES)
                ]
            emit(f"hookline test: {webhook} through {base_url}")
            width = max(map(len, names))
            outcomes = []
            for name in names:
                chosen = None if name == TEST_EVENT_TYPE else name
                outcome = tried(name, client.webhooks.test(webhook, event_type=chosen))
                emit(line(outcome, width))
                outcomes.append(outcome)
            return outcomes
    except HooklineAPIError as exc:
        raise Refused(f"{base_url} answered {exc.status}: {exc.detail}") from None
    except httpx.HTTPError as exc:
        raise Refused(
            f"cannot reach hookline at {base_url} ({exc or type(exc).__name__}): start it, or "
            "give its address with --api-url (HOOKLINE_API_URL)"
        ) from None


def _api_catalog(client: Client) -> list[EventType]:
    """The server's live event types."""
    found: list[EventType] = []
    cursor = None
    while True:
        page = client.event_types.list(limit=250, cursor=cursor)
        found += page.data
        cursor = page.next_cursor
        if cursor is None:
            return found
