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

from hookline import schemes
from hookline.errors import InvalidInput
from hookline.models import Webhook, WebhookCreate, WebhookFormat, WebhookUpdate

FORMATS: tuple[str, ...] = get_args(WebhookFormat)
CUSTOM = "custom"
# The signature schemes the form offers: "" is Standard Webhooks (HMAC), then ed25519 (v1a),
# the presets, and a custom scheme written as JSON.
PRESET_NAMES = {"github": "GitHub", "stripe": "Stripe", "shopify": "Shopify"}
SCHEMES: tuple[tuple[str, str], ...] = (
    ("", "Standard Webhooks (HMAC-SHA256)"),
    (schemes.ED25519, "Standard Webhooks v1a (ed25519)"),
    *(
        (name, f"{PRESET_NAMES.get(name, name)} style ({fields['header']})")
        for name, fields in schemes.PRESETS.items()
    ),
    (CUSTOM, "Custom HMAC scheme"),
)


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
    template: str = ""
    format_options: str = ""
    signature: str = ""  # one of SCHEMES
    signature_custom: str = ""  # the custom scheme as JSON
    headers: str = ""
    rate_limit: str = ""
    batch_max_events: str = ""
    batch_max_wait_ms: str = ""
    is_active: bool = True
    preview_type: str = ""  # the event type the form's preview shows

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
            template=hook.template or "",
            format_options=_json(hook.format_options),
            signature=scheme_choice(hook.signature),
            signature_custom=_json(hook.signature)
            if scheme_choice(hook.signature) == CUSTOM
            else "",
            headers="\n".join(f"{name}: {value}" for name, value in hook.headers.items()),
            rate_limit=str(hook.rate_limit_per_minute or ""),
            batch_max_events=str(hook.batch.max_events) if hook.batch else "",
            batch_max_wait_ms=str(hook.batch.max_wait_ms) if hook.batch else "",
            is_active=hook.is_active,
        )

    @classmethod
    def posted(cls, form: Mapping[str, Sequence[str]]) -> WebhookFields:
        """From a posted form: each name with its values (a checkbox is there when ticked)."""

        def one(name: str) -> str:
            values = form.get(name) or [""]
            return values[0].strip()

        def text(name: str) -> str:  # kept as typed: a template's whitespace is its own
            values = form.get(name) or [""]
            return values[0].replace("\r\n", "\n")

        return cls(
            url=one("url"),
            name=one("name"),
            description=one("description"),
            tenant_id=one("tenant_id"),
            event_types=[v for v in form.get("event_types", []) if v],
            filter=one("filter"),
            format=one("format"),
            template=text("template"),
            format_options=one("format_options"),
            signature=one("signature"),
            signature_custom=one("signature_custom"),
            headers=one("headers"),
            rate_limit=one("rate_limit"),
            batch_max_events=one("batch_max_events"),
            batch_max_wait_ms=one("batch_max_wait_ms"),
            is_active=bool(form.get("is_active")),
            preview_type=one("preview_type"),
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
            "template": self.template if self.template.strip() else None,
            "format_options": parse_object(
                self.format_options, "format_options", example='{"chat_id": "-100123"}'
            ),
            "signature": self.scheme(),
            "batch": parse_batch(self.batch_max_events, self.batch_max_wait_ms),
        }
        if self.format:
            values["format"] = self.format
        return values

    def scheme(self) -> dict[str, Any] | None:
        """The `signature` the API takes for the chosen scheme."""
        if not self.signature:
            return None
        if self.signature == CUSTOM:
            custom = parse_object(
                self.signature_custom, "signature", example='{"header": "X-Signature"}'
            )
            if custom is None:
                raise InvalidInput(
                    'signature: describe the custom scheme as JSON, e.g. {"header": '
                    '"X-Webhook-Signature", "value": "sha256={signature}"}',
                    loc=("signature",),
                )
            return custom
        return {"preset": self.signature}

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
    return parse_object(text, "filter", example='{"data.amount": {"$gte": 100}}')


def parse_object(text: str, field_name: str, *, example: str = "{...}") -> dict[str, Any] | None:
    """A JSON object typed into a field, or nothing when empty."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(
            f"the {field_name} is not JSON ({exc.args[0]}): write an object such as "
            f"{example}, or leave it empty",
            loc=(field_name,),
        ) from exc
    if not isinstance(value, dict):
        raise InvalidInput(
            f"the {field_name} must be a JSON object such as {example}", loc=(field_name,)
        )
    return value


def parse_batch(max_events: str, max_wait_ms: str) -> dict[str, int] | None:
    """Batching from its two fields: both empty is no batching; one empty takes its default."""
    if not max_events and not max_wait_ms:
        return None
    batch: dict[str, int] = {}
    for name, text in (("max_events", max_events), ("max_wait_ms", max_wait_ms)):
        if not text:
            continue
        try:
            batch[name] = int(text)
        except ValueError as exc:
            raise InvalidInput(
                f"batch.{name} is a whole number, or leave both batch fields empty to send "
                "each event alone",
                loc=("batch", name),
            ) from exc
    return batch


def scheme_choice(signature: Mapping[str, Any] | None) -> str:
    """Which of SCHEMES a stored (expanded) signature is."""
    if signature is None:
        return ""
    if schemes.is_ed25519(signature):
        return schemes.ED25519
    for name in schemes.PRESETS:
        if schemes.expand({"preset": name}) == dict(signature):
            return name
    return CUSTOM


def _json(value: Mapping[str, Any] | None) -> str:
    return json.dumps(value, indent=2) if value else ""


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
