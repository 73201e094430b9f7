"""The operator's commands: `hookline keys`, `webhooks`, `deliveries retry` and `purge`.

Each works on the configured database directly, through the service layer (no running hookline
needed), prints aligned tables (`--json` for scripts), and exits 1 with one line saying why when
the database cannot be reached or the service refuses (the same message the API would give)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from hookline import console, durations
from hookline.errors import HooklineError, InvalidInput, StoreUnavailable
from hookline.models import DeliveryStatus, Webhook, WebhookUpdate
from hookline.service.common import every

if TYPE_CHECKING:
    from hookline.models import ApiKey
    from hookline.node import Hookline

T = TypeVar("T")
log = logging.getLogger("hookline.cli")

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhooks: list, disable, enable.", no_args_is_help=True)
deliveries_app = typer.Typer(help="Deliveries: retry in bulk.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="One JSON document, for scripts.")]


def register(app: typer.Typer) -> None:
    """Add the operator's commands to the `hookline` command."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(webhooks_app, name="webhooks")
    app.add_typer(deliveries_app, name="deliveries")
    app.command("purge")(purge)


def _on_service(command: str, work: Callable[[Hookline], Awaitable[T]]) -> T:
    """Run `work` with a node over the configured database (no worker, nothing started);
    any failure is one line on stderr and exit status 1."""
    from hookline.cli import explain, load_settings
    from hookline.node import Hookline

    settings = load_settings()

    async def run() -> T:
        node = Hookline(settings, run_worker=False)
        try:
            await node.check_database()
            return await work(node)
        finally:
            await node.db.close()

    try:
        return asyncio.run(run())
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        log.debug("%s failed", command, exc_info=True)
        if isinstance(exc, HooklineError) and not isinstance(exc, StoreUnavailable):
            why = exc.detail
        else:
            why = explain(exc, settings)
        typer.echo(f"hookline {command}: {why}", err=True)
        raise typer.Exit(1) from None


# keys


def _key_row(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "tenant": key.tenant_id,
        "scope": "admin" if key.tenant_id is None else "tenant",
        "created": key.created_at,
        "last used": key.last_used_at,
        "revoked": key.revoked_at,
    }


KEY_COLUMNS = ("id", "name", "prefix", "tenant", "scope", "created", "last used", "revoked")


@keys_app.command("create")
def keys_create(
    admin: Annotated[bool, typer.Option("--admin", help="An admin key: sees everything.")] = False,
    tenant: Annotated[
        str | None, typer.Option(help="A key for this tenant (id or uid) only.")
    ] = None,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "",
    as_json: Json = False,
) -> None:
    """Create an API key and print it: it is shown this once, and only its digest is kept."""
    from hookline.models import ApiKeyCreate

    if admin == (tenant is not None):
        typer.echo("hookline keys create: give --admin or --tenant ID (one of them)", err=True)
        raise typer.Exit(2)

    async def work(node: Hookline) -> Any:
        return await node.service.keys.create(ApiKeyCreate(name=name), tenant=tenant)

    created = _on_service("keys create", work)
    if as_json:
        console.print_json(_key_row(created) | {"key": created.key})
        return
    console.show([_key_row(created)], KEY_COLUMNS[:5], as_json=False)
    typer.echo(f"\nThe key (shown ONCE; store it now):\n\n    {created.key}\n")


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys (id or uid).")] = None,
    as_json: Json = False,
) -> None:
    """Every API key (admin and tenants'), or one tenant's: never the key itself."""

    async def work(node: Hookline) -> list[ApiKey]:
        tenant_id = None if tenant is None else await node.service.tenants.resolve(tenant)
        keys = node.service.keys
        return [
            key
            async for key in every(
                lambda paging: keys.list(
                    tenant_id=tenant_id, paging=paging, every=tenant_id is None
                )
            )
        ]

    keys = _on_service("keys list", work)
    console.show([_key_row(key) for key in keys], KEY_COLUMNS, as_json=as_json)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (key_...).")]) -> None:
    """Revoke a key: it stops working at once (a running hookline forgets it within seconds)."""

    async def work(node: Hookline) -> None:
        await node.service.keys.revoke(key_id, tenant_id=None)

    _on_service("keys revoke", work)
    typer.echo(f"hookline: revoked key {key_id}")


# webhooks

WEBHOOK_STATUSES = ("active", "disabled", "failing")


def webhook_status(webhook: Webhook) -> str:
    """disabled; failing (enabled, with failures in a row or its circuit not closed); or
    active."""
    if not webhook.is_active:
        return "disabled"
    if webhook.consecutive_failures > 0 or webhook.circuit_state != "closed":
        return "failing"
    return "active"


def _webhook_row(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "tenant": webhook.tenant_id,
        "name": webhook.name,
        "url": webhook.url,  # masked as the API shows it: credentials are kept sealed
        "status": webhook_status(webhook),
        "circuit": webhook.circuit_state,
        "failures in a row": webhook.consecutive_failures,
        "last triggered": webhook.last_triggered_at,
        "disabled reason": webhook.disabled_reason,
        "managed by": webhook.managed_by,
    }


WEBHOOK_COLUMNS = (
    "id",
    "tenant",
    "name",
    "url",
    "status",
    "circuit",
    "failures in a row",
    "last triggered",
    "disabled reason",
)


@webhooks_app.command("list")
def webhooks_list(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's webhooks (id or uid).")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="Only those that are active, disabled or failing.")
    ] = None,
    as_json: Json = False,
) -> None:
    """The webhooks, with their status, circuit and failures (URLs masked as the API shows
    them)."""
    if status is not None and status not in WEBHOOK_STATUSES:
        typer.echo(
            f"hookline webhooks list: --status must be one of {', '.join(WEBHOOK_STATUSES)}; "
            f"got {status!r}",
            err=True,
        )
        raise typer.Exit(2)

    async def work(node: Hookline) -> list[Webhook]:
        tenant_id = None if tenant is None else await node.service.tenants.resolve(tenant)
        hooks = node.service.webhooks
        return [
            webhook
            async for webhook in every(lambda paging: hooks.list(tenant=tenant_id, paging=paging))
            if status is None or webhook_status(webhook) == status
        ]

    webhooks = _on_service("webhooks list", work)
    rows = [_webhook_row(w) for w in webhooks]
    console.show(rows, WEBHOOK_COLUMNS, as_json=as_json)


def _set_active(command: str, webhook_id: str, active: bool, reason: str | None) -> Webhook:
    async def work(node: Hookline) -> Webhook:
        return await node.service.webhooks.update(
            webhook_id, WebhookUpdate(is_active=active), tenant=None, reason=reason
        )

    return _on_service(command, work)


@webhooks_app.command("disable")
def webhooks_disable(
    webhook_id: Annotated[str, typer.Argument(help="The webhook's id (wh_...).")],
    reason: Annotated[str, typer.Option(help="Why (shown with the webhook).")] = (
        "disabled by an operator"
    ),
) -> None:
    """Disable a webhook, as PATCH is_active=false: its pending deliveries are cancelled
    (`deliveries retry --status cancelled` or the API's recover bring them back)."""
    _set_active("webhooks disable", webhook_id, False, reason)
    typer.echo(f"hookline: disabled webhook {webhook_id} ({reason})")


@webhooks_app.command("enable")
def webhooks_enable(
    webhook_id: Annotated[str, typer.Argument(help="The webhook's id (wh_...).")],
) -> None:
    """Enable a webhook again, as PATCH is_active=true: a fresh start (failures forgotten,
    circuit closed)."""
    _set_active("webhooks enable", webhook_id, True, None)
    typer.echo(f"hookline: enabled webhook {webhook_id}")


# deliveries


def parse_span(text: str) -> float:
    """Seconds in '90s', '30m', '2h', '7d' or '1w' (`durations.seconds`)."""
    span = durations.seconds(text)
    if span is None:
        raise InvalidInput(
            f"{text!r} is not a duration: write a positive whole number and a unit "
            "(s, m, h, d, w), e.g. 30m, 2h, 7d",
            loc=("duration",),
        )
    return span


def parse_instant(text: str, now: datetime) -> datetime:
    """A duration back from `now` ('2h': two hours ago) or an ISO 8601 instant (UTC unless
    it says), as `durations.instant` reads them."""
    at = durations.instant(text, now.timestamp())
    if at is None:
        raise InvalidInput(
            f"{text!r} is neither a duration (2h, 7d) nor an ISO 8601 instant "
            "(2026-12-01T10:00:00Z)",
            loc=("instant",),
        )
    return datetime.fromtimestamp(at, UTC)


def _refused(command: str, exc: InvalidInput) -> typer.Exit:
    typer.echo(f"hookline {command}: {exc.detail}", err=True)
    return typer.Exit(2)


@deliveries_app.command("retry")
def deliveries_retry(
    since: Annotated[
        str, typer.Option(help="Deliveries created since: 2h, 7d, or an ISO 8601 instant.")
    ],
    status: Annotated[str, typer.Option(help="failed or cancelled.")] = "failed",
    until: Annotated[
        str | None, typer.Option(help="...and before: a duration ago or an instant (now).")
    ] = None,
    webhook: Annotated[str | None, typer.Option(help="Only this webhook's (wh_...).")] = None,
    as_json: Json = False,
) -> None:
    """Queue failed (or cancelled) deliveries again: one more attempt each, now, as the API's
    POST /api/v1/deliveries/{id}/retry. Those of a disabled webhook are skipped (enable it
    first)."""
    command = "deliveries retry"
    now = datetime.now(UTC)
    try:
        if status not in ("failed", "cancelled"):
            raise InvalidInput(f"--status must be failed or cancelled; got {status!r}")
        start = parse_instant(since, now)
        end = None if until is None else parse_instant(until, now)
    except InvalidInput as exc:
        raise _refused(command, exc) from None

    async def work(node: Hookline) -> tuple[int, list[dict[str, str]]]:
        service = node.service.deliveries
        ids = await service.finished(
            DeliveryStatus(status), since=start, until=end, webhook_id=webhook
        )
        requeued, skipped = 0, []
        for delivery_id in console.progress(ids, total=len(ids), label="retrying"):
            try:
                await service.retry(delivery_id, tenant=None)
            except HooklineError as exc:
                if isinstance(exc, StoreUnavailable):
                    raise
                skipped.append({"id": delivery_id, "reason": exc.detail})
            else:
                requeued += 1
        return requeued, skipped

    requeued, skipped = _on_service(command, work)
    if as_json:
        console.print_json({"requeued": requeued, "skipped": skipped})
        return
    typer.echo(f"hookline: queued {requeued} {status} deliveries again")
    if skipped:
        typer.echo(f"skipped {len(skipped)}:")
        console.show(skipped, ("id", "reason"), as_json=False)


# purge


def purge(
    older_than: Annotated[str, typer.Option(help="Delete events older than this: 30d, 12h, 1w.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: Json = False,
) -> None:
    """Delete events older than a duration, with their deliveries and attempts, now (what
    retention does every HOOKLINE_RETENTION_INTERVAL). Events with a delivery still pending
    are kept."""
    from hookline.retention import Retention

    command = "purge"
    try:
        keep = parse_span(older_than)
    except InvalidInput as exc:
        raise _refused(command, exc) from None
    cutoff = datetime.now(UTC) - timedelta(seconds=keep)
    if not yes:
        typer.confirm(
            f"Delete every event created before {cutoff:%Y-%m-%d %H:%M:%S} UTC, with its "
            "deliveries and attempts?",
            abort=True,
        )

    async def work(node: Hookline) -> int:
        return await Retention(node.db, keep=keep, interval=keep, clock=node.clock).purge()

    purged = _on_service(command, work)
    summary: Mapping[str, Any] = {"purged": purged, "cutoff": cutoff}
    if as_json:
        console.print_json(summary)
        return
    typer.echo(f"hookline: purged {purged} events created before {cutoff:%Y-%m-%d %H:%M:%S} UTC")
