"""The webhook form of the dashboard (new and edit), as a pure value: what the form shows, read
from a webhook or from a posted form, and turned into the API's own input models
(`WebhookCreate`, `WebhookUpdate`), so the service layer checks it exactly as it checks the
API's. A field the form cannot read (a filter that is not a JSON object, a header line without
a colon, a rate limit that is not a whole number) is an `InvalidInput` naming that field."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from hookline.errors import InvalidInput
from hookline.models import Webhook, WebhookCreate, WebhookFormat, WebhookUpdate

FORMATS: tuple[str, ...] = get_args(WebhookFormat)


@dataclass(frozen=True)
class WebhookFields:
    """The form's fields as text, exactly as shown or as typed."""

    url: str = ""
    name: str = ""
    description: str = ""
    tenant_id: str = ""
    event_types: list[str] = field(default_factory=list)
    filter: str = ""
    format: str = ""
    headers: str = ""
    rate_limit: str = ""
    is_active: bool = True

    @classmethod
    def of(cls, hook: Webhook) -> WebhookFields:
        return cls(
            url=hook.url,
            name=hook.name,
            description=hook.description,
            tenant_id=hook.tenant_id,
            event_types=list(hook.event_types),
            filter=json.dumps(hook.filter, indent=2) if hook.filter is not None else "",
            format=hook.format,
            headers="\n".join(f"{name}: {value}" for name, value in hook.headers.items()),
            rate_limit=str(hook.rate_limit_per_minute or ""),
            is_active=hook.is_active,
        )

    @classmethod
    def posted(cls, form: Mapping[str, Sequence[str]]) -> WebhookFields:
        """From a posted form: each name with its values (a checkbox is there when ticked)."""

        def one(name: str) -> str:
            values = form.get(name) or [""]
            return values[0].strip()

        return cls(
            url=one("url"),
            name=one("name"),
            description=one("description"),
            tenant_id=one("tenant_id"),
            event_types=[v for v in form.get("event_types", []) if v],
            filter=one("filter"),
            format=one("format"),
            headers=one("headers"),
            rate_limit=one("rate_limit"),
            is_active=bool(form.get("is_active")),
        )

    def _common(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "url": self.url,
            "name": self.name,
            "description": self.description,
            "event_types": self.event_types,
            "filter": parse_filter(self.filter),
            "headers": parse_headers(self.headers),
            "rate_limit_per_minute": parse_rate_limit(self.rate_limit),
        }
        if self.format:
            values["format"] = self.format
        return values

    def create(self, tenant: str | None) -> WebhookCreate:
        """A new webhook: the session's tenant, or (an admin's) the chosen one."""
        return WebhookCreate.model_validate(
            {**self._common(), "tenant_id": tenant or self.tenant_id, "is_active": self.is_active}
        )

    def update(self) -> WebhookUpdate:
        """Every field the form shows, set: an emptied filter or rate limit is removed, an
        unticked `Active` disables the webhook."""
        return WebhookUpdate.model_validate({**self._common(), "is_active": self.is_active})


def parse_filter(text: str) -> dict[str, Any] | None:
    """A payload filter as JSON (docs/filters.md), or nothing when empty."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(
            f"the filter is not JSON ({exc.args[0]}): write an object such as "
            '{"data.amount": {"$gte": 100}}, or leave it empty',
            loc=("filter",),
        ) from exc
    if not isinstance(value, dict):
        raise InvalidInput(
            'the filter must be a JSON object such as {"data.amount": {"$gte": 100}}',
            loc=("filter",),
        )
    return value


def parse_headers(text: str) -> dict[str, str]:
    """Custom headers, one `Name: value` a line; blank lines are skipped."""
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise InvalidInput(
                f"headers, line {number}: write one header a line as `Name: value`",
                loc=("headers",),
            )
        headers[name.strip()] = value.strip()
    return headers


def parse_rate_limit(text: str) -> int | None:
    """Requests a minute as a whole number, or no limit when empty."""
    if not text:
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise InvalidInput(
            "the rate limit is a whole number of requests a minute, or empty for no limit",
            loc=("rate_limit_per_minute",),
        ) from exc
