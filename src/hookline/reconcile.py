"""Make the database match the declared configuration (hookline.declared), through the service
layer, at every start: declared things are created, changed, and removed once no longer declared.

- Event types of the file are marked `managed_by: file`; one the file no longer declares is
  archived (its events and the webhooks subscribed to it stay) and left to the API again.
- Tenants of the file likewise; one no longer declared is left to the API, never deleted (that
  would delete its events and delivery logs).
- Webhooks of the environment (`env`) and of the file (`file`) are found again by their key
  (`managed_key`); one no longer declared is deleted.
- Env webhooks, and file webhooks without `tenant_id`, belong to the tenant with uid `default`,
  created when missing.

`plan` lists the changes without making them (`hookline config check`); `apply` makes them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hookline import filters, schemes
from hookline.declared import (
    DEFAULT_TENANT,
    CatalogEntry,
    DeclaredWebhook,
    FileConfig,
    catalog_after,
    env_webhooks,
)
from hookline.destinations.urls import mask
from hookline.errors import ConfigurationError, HooklineError
from hookline.models import (
    EventType,
    EventTypeCreate,
    EventTypeUpdate,
    ManagedBy,
    SecretRotation,
    TenantCreate,
    TenantUpdate,
    Webhook,
    WebhookUpdate,
)
from hookline.service import Service

log = logging.getLogger(__name__)

# The webhook fields a declaration sets, compared with what is stored.
WEBHOOK_FIELDS = (
    "url",
    "name",
    "description",
    "event_types",
    "filter",
    "headers",
    "format",
    "template",
    "format_options",
    "signature",
    "retry_schedule",
    "timeout",
    "is_active",
    "rate_limit_per_minute",
    "max_in_flight",
)


@dataclass(frozen=True)
class Change:
    action: str  # create | update | remove | archive | release | rotate secret
    kind: str  # event type | tenant | webhook
    name: str
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        detail = f": {', '.join(self.fields)}" if self.fields else ""
        return f"{self.action} {self.kind} {self.name}{detail}"


@dataclass
class Outcome:
    changes: list[Change] = field(default_factory=list)
    # Secrets hookline generated for declared webhooks without one, by where they are declared:
    # shown once at start (the API may not rotate a declared webhook's secret).
    secrets: dict[str, str] = field(default_factory=dict)


Step = Callable[[], Awaitable[None]]


class Reconciler:
    def __init__(self, service: Service, file: FileConfig | None, env: Mapping[str, str]) -> None:
        self._service = service
        self._file = file
        self._env = env
        self._steps: list[tuple[Change, Step]] = []
        self.outcome = Outcome()

    def _add(self, change: Change, step: Step) -> None:
        self._steps.append((change, step))
        self.outcome.changes.append(change)

    async def plan(self) -> list[Change]:
        """What `apply` would change, changing nothing."""
        self._steps.clear()
        self.outcome = Outcome()
        live = await self._event_types()
        declared = self._webhooks(live)
        await self._tenants(declared)
        for source in ("env", "file"):
            await self._managed_webhooks(source, [d for d in declared if d.source == source])
        return self.outcome.changes

    async def apply(self) -> Outcome:
        await self.plan()
        for change, step in self._steps:
            log.log(
                logging.WARNING if change.action == "remove" else logging.INFO,
                "configuration: %s",
                change,
            )
            try:
                await step()
            except HooklineError as exc:
                raise ConfigurationError(f"cannot {change}: {exc.detail}") from exc
        return self.outcome

    # --- event types ----------------------------------------------------------------------

    async def _event_types(self) -> list[CatalogEntry]:
        """Plan the file's event types; returns the live catalog once they are in place."""
        current = {t.name: t for t in await self._service.event_types.all()}
        wanted = {t.name: t for t in (self._file.event_types if self._file else ())}
        for name, spec in wanted.items():
            existing = current.get(name)
            if existing is None:
                self._add(Change("create", "event type", name), self._create_type(spec))
                continue
            changed = _type_changes(existing, spec)
            if changed:
                update = EventTypeUpdate.model_validate(
                    {k: v for k, v in _type_values(spec).items() if k in changed}
                )
                self._add(
                    Change("update", "event type", name, tuple(sorted(changed))),
                    self._update_type(name, update),
                )
        for name, existing in current.items():
            if existing.managed_by == "file" and name not in wanted:
                self._add(Change("archive", "event type", name), self._release_type(name))
        live = [
            CatalogEntry(t.name, t.group)
            for t in current.values()
            if not t.archived and not (t.managed_by == "file" and t.name not in wanted)
        ]
        return catalog_after(live, self._file)

    def _create_type(self, spec: EventTypeCreate) -> Step:
        async def step() -> None:
            await self._service.event_types.create(spec, managed="file")

        return step

    def _update_type(self, name: str, update: EventTypeUpdate) -> Step:
        async def step() -> None:
            await self._service.event_types.update(name, update, managed="file")

        return step

    def _release_type(self, name: str) -> Step:
        async def step() -> None:
            await self._service.event_types.archive(name, release=True)

        return step

    # --- tenants --------------------------------------------------------------------------

    async def _tenants(self, webhooks: list[DeclaredWebhook]) -> None:
        wanted = {str(t.uid): t for t in (self._file.tenants if self._file else ())}
        for uid, spec in wanted.items():
            existing = await self._service.tenants.find(uid)
            if existing is None:
                self._add(Change("create", "tenant", uid), self._create_tenant(spec, "file"))
                continue
            changed = {
                k
                for k, v in (("name", spec.name), ("max_webhooks", spec.max_webhooks))
                if getattr(existing, k) != v
            }
            if changed or existing.managed_by != "file":
                update = TenantUpdate(name=spec.name, max_webhooks=spec.max_webhooks)
                fields = tuple(sorted(changed | ({"managed_by"} if not changed else set())))
                self._add(
                    Change("update", "tenant", uid, fields), self._declare_tenant(uid, update)
                )
        for existing in await self._service.tenants.managed("file"):
            if existing.uid not in wanted:
                name = existing.uid or existing.id
                self._add(Change("release", "tenant", name), self._release_tenant(existing.id))
        owners = {w.tenant for w in webhooks} - set(wanted)
        for uid in sorted(owners):
            if await self._service.tenants.find(uid) is not None:
                continue
            if uid != DEFAULT_TENANT:
                where = next(w.where for w in webhooks if w.tenant == uid)
                raise ConfigurationError(
                    f"{where}: tenant_id {uid!r} is no tenant's uid; declare it in [[tenants]] "
                    "or create it with POST /api/v1/tenants"
                )
            spec = TenantCreate(name="default", uid=DEFAULT_TENANT)
            self._add(Change("create", "tenant", uid), self._create_tenant(spec, None))

    def _create_tenant(self, spec: TenantCreate, managed: ManagedBy | None) -> Step:
        async def step() -> None:
            await self._service.tenants.create(spec, managed=managed)

        return step

    def _declare_tenant(self, uid: str, update: TenantUpdate) -> Step:
        async def step() -> None:
            await self._service.tenants.declare(uid, update, "file")

        return step

    def _release_tenant(self, tenant_id: str) -> Step:
        async def step() -> None:
            await self._service.tenants.declare(tenant_id, TenantUpdate(), None)

        return step

    # --- webhooks -------------------------------------------------------------------------

    def _webhooks(self, catalog: list[CatalogEntry]) -> list[DeclaredWebhook]:
        declared = env_webhooks(self._env, catalog)
        return declared + list(self._file.webhooks if self._file else ())

    async def _managed_webhooks(self, source: ManagedBy, wanted: list[DeclaredWebhook]) -> None:
        current = await self._service.webhooks.managed(source)
        keys = {w.key for w in wanted}
        for key, gone in sorted(current.items()):
            if key not in keys:
                self._add(
                    Change("remove", "webhook", f"{gone.id} ({key})"),
                    self._delete_webhook(gone.id),
                )
        for declared in wanted:
            existing = current.get(declared.key)
            if existing is None:
                self._add(
                    Change("create", "webhook", _shown(declared)), self._create_webhook(declared)
                )
                continue
            try:
                values = _webhook_changes(existing, declared)
            except HooklineError as exc:
                raise ConfigurationError(f"{declared.where}: {exc.detail}") from exc
            url = declared.spec.url
            if "url" in values or (
                mask(url) != url and not await self._service.webhooks.has_url(existing.id, url)
            ):
                values["url"] = url  # compared masked, as stored; its credentials sealed apart
            name = f"{existing.id} ({_shown(declared)})"
            steps: list[tuple[Change, Step]] = []
            if values:
                update = WebhookUpdate.model_validate(values)
                change = Change("update", "webhook", name, tuple(sorted(values)))
                steps.append((change, self._update_webhook(existing.id, update)))
            secret = declared.spec.secret
            leaving_scheme = existing.signature is not None and "signature" in values
            if secret is None and leaving_scheme and values["signature"] is None:
                # Back to Standard Webhooks, which signs with a generated whsec_ secret only.
                change = Change("rotate secret", "webhook", name)
                steps.append((change, self._set_secret(existing.id, None, declared)))
            elif secret is not None and not await self._service.webhooks.has_secret(
                existing.id, secret
            ):
                change = Change("rotate secret", "webhook", name)
                steps.append((change, self._set_secret(existing.id, secret, declared)))
            # A new secret is checked under the scheme in force when it is set: leaving a custom
            # scheme, the secret changes first; entering one, the scheme does.
            if existing.signature is not None:
                steps.reverse()
            for change, step in steps:
                self._add(change, step)

    def _create_webhook(self, declared: DeclaredWebhook) -> Step:
        async def step() -> None:
            spec = declared.spec.model_copy(update={"tenant_id": declared.tenant})
            created = await self._service.webhooks.create(
                spec, tenant=None, managed=(declared.source, declared.key)
            )
            if declared.spec.secret is None:
                self.outcome.secrets[_shown(declared)] = created.secret

        return step

    def _update_webhook(self, webhook_id: str, update: WebhookUpdate) -> Step:
        async def step() -> None:
            await self._service.webhooks.update(webhook_id, update, tenant=None, managed=True)

        return step

    def _set_secret(self, webhook_id: str, secret: str | None, declared: DeclaredWebhook) -> Step:
        async def step() -> None:
            rotation = SecretRotation(grace_seconds=0, secret=secret)
            rotated = await self._service.webhooks.rotate_secret(
                webhook_id, rotation, tenant=None, managed=True
            )
            if secret is None:
                self.outcome.secrets[_shown(declared)] = rotated.secret

        return step

    def _delete_webhook(self, webhook_id: str) -> Step:
        async def step() -> None:
            await self._service.webhooks.delete(webhook_id, tenant=None, managed=True)

        return step


def _shown(declared: DeclaredWebhook) -> str:
    """A declared webhook in messages and logs: where, and its URL without credentials."""
    return f"{declared.where} {mask(declared.spec.url)}"


def _type_values(spec: EventTypeCreate) -> dict[str, Any]:
    return {
        "description": spec.description,
        "schema": spec.json_schema,
        "group": spec.group,
        "examples": spec.examples,
        "archived": False,
    }


def _type_changes(existing: EventType, spec: EventTypeCreate) -> set[str]:
    stored = {
        "description": existing.description,
        "schema": existing.json_schema,
        "group": existing.group,
        "examples": existing.examples,
        "archived": existing.archived,
    }
    changed = {k for k, v in _type_values(spec).items() if stored[k] != v}
    if existing.managed_by != "file":
        changed.add("managed_by")  # made through the API until now: the file takes it over
    return changed


def _webhook_changes(existing: Webhook, declared: DeclaredWebhook) -> dict[str, Any]:
    """The declared fields whose stored value differs, with the declared values."""
    spec = declared.spec
    wanted: dict[str, Any] = {name: getattr(spec, name) for name in WEBHOOK_FIELDS}
    wanted["url"] = mask(spec.url)  # stored masked
    wanted["event_types"] = sorted(set(spec.event_types))
    if spec.filter is not None:
        wanted["filter"] = filters.validate(spec.filter)
    wanted["signature"] = schemes.expand(spec.signature)
    if spec.format is None:
        del wanted["format"]  # the default by URL: whatever create chose
    return {k: v for k, v in wanted.items() if getattr(existing, k) != v}
