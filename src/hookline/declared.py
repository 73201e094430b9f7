"""Declared configuration (pure): the webhooks the seeds' environment variables name, and the
event types, tenants and webhooks of a TOML file (HOOKLINE_CONFIG), parsed into typed values.
hookline.reconcile makes the database match them at every start. See docs/configuration.md.

Environment (seed 000): `WEBHOOKS_ALL=url,url` (every event) and `WEBHOOKS_<NAME>=url,url`,
where NAME is an event type group (CASCADE) or a type's name written in upper case with every
character that is not a letter or digit as `_` (WEBHOOKS_ORDER_FILLED: `order.filled`).
Environment (seed 002): `WEBHOOK_URL`, with `WEBHOOK_SECRET`, `WEBHOOK_TIMEOUT`,
`WEBHOOK_MAX_RETRIES`, `WEBHOOK_RETRY_DELAY`, `WEBHOOK_SIGNATURE_HEADER`, `WEBHOOK_FORMAT`;
and its migration mode, `ENABLE_REDIS_FALLBACK=true` with `REDIS_URL` and `REDIS_CHANNEL`: a
Redis channel next to WEBHOOK_URL, with the same events, body and signature (dual publishing).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from dotenv import dotenv_values
from pydantic import BaseModel, ValidationError

from hookline import formats
from hookline.destinations.urls import kind_of, mask
from hookline.errors import ConfigurationError
from hookline.models import EventTypeCreate, ManagedBy, TenantCreate, WebhookCreate

DEFAULT_TENANT = "default"  # the uid of the tenant env webhooks (and file ones without one) use
ALL = "WEBHOOKS_ALL"
GROUP_PREFIX = "WEBHOOKS_"
# Seed 002's defaults.
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_DELAY = 2.0
DEFAULT_SIGNATURE_HEADER = "X-Webhook-Signature"
DEFAULT_FORMAT = "data"
# Seed 002's migration mode.
REDIS_FALLBACK = "ENABLE_REDIS_FALLBACK"
DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_REDIS_CHANNEL = "hookline.events"
CHANNEL_SAFE = ":/@!$'()*,;"  # kept as written in the URL's query; the rest percent-encoded
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
TABLES = ("event_types", "tenants", "webhooks")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class DeclaredWebhook:
    key: str  # how reconciliation finds it again: "env:WEBHOOKS_CASCADE:<url>", "file:acme:name"
    source: ManagedBy
    tenant: str  # the tenant's uid
    spec: WebhookCreate  # tenant_id left None
    where: str  # where it is declared, for messages: "WEBHOOKS_CASCADE", "webhooks[2]"


@dataclass(frozen=True)
class FileConfig:
    path: str
    event_types: tuple[EventTypeCreate, ...] = ()
    tenants: tuple[TenantCreate, ...] = ()
    webhooks: tuple[DeclaredWebhook, ...] = ()


@dataclass(frozen=True)
class CatalogEntry:
    """What env names are matched against: a live event type and its group."""

    name: str
    group: str | None


def environment(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """The process environment over a `.env` file (seed 000 writes its WEBHOOKS_* there)."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    return values | dict(os.environ)


def env_name(name: str) -> str:
    """`order.filled` -> `ORDER_FILLED`: how an event type or group is spelled in WEBHOOKS_*."""
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


# --- the environment ------------------------------------------------------------------------


def _urls(value: str) -> list[str]:
    return [url.strip() for url in value.split(",") if url.strip()]


def _number(env: Mapping[str, str], name: str, example: str) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name} must be a number such as {example}; got {raw!r}"
        ) from None
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative; got {raw!r}")
    return value


@dataclass(frozen=True)
class _Policy:
    """What WEBHOOK_* says about every env webhook."""

    secret: str | None
    timeout: float | None
    retries: int | None
    delay: float | None
    header: str
    format: str | None

    def schedule(self, default: bool) -> list[float] | None:
        """Seed 002's backoff: d, 2d, 4d... one per retry; None: the installation's."""
        if self.retries is None and self.delay is None and not default:
            return None
        retries = DEFAULT_MAX_RETRIES if self.retries is None else self.retries
        delay = DEFAULT_RETRY_DELAY if self.delay is None else self.delay
        return [delay * 2**n for n in range(retries)]


def _policy(env: Mapping[str, str]) -> _Policy:
    retries = _number(env, "WEBHOOK_MAX_RETRIES", "5")
    if retries is not None and retries != int(retries):
        raise ConfigurationError(f"WEBHOOK_MAX_RETRIES must be a whole number; got {retries:g}")
    secret = env.get("WEBHOOK_SECRET", "").strip() or None
    shape = env.get("WEBHOOK_FORMAT", "").strip() or None
    return _Policy(
        secret=secret,
        timeout=_number(env, "WEBHOOK_TIMEOUT", "30"),
        retries=None if retries is None else int(retries),
        delay=_number(env, "WEBHOOK_RETRY_DELAY", "2"),
        header=env.get("WEBHOOK_SIGNATURE_HEADER", "").strip() or DEFAULT_SIGNATURE_HEADER,
        format=shape,
    )


def _env_webhook(
    variable: str, url: str, event_types: list[str], policy: _Policy, *, seed_002: bool
) -> DeclaredWebhook:
    shape = policy.format
    if shape is None:
        # Seed 000's chat URLs (its Discord webhooks) get their service's format.
        chat = formats.default_for(url)
        shape = DEFAULT_FORMAT if seed_002 or chat == formats.STANDARD else chat
    values: dict[str, Any] = {
        "url": url,
        "name": variable,
        "description": f"Declared by {variable} in hookline's environment",
        "event_types": event_types,
        "format": shape,
        "timeout": DEFAULT_TIMEOUT if seed_002 and policy.timeout is None else policy.timeout,
        "retry_schedule": policy.schedule(default=seed_002),
    }
    if policy.secret is not None:
        values |= {"secret": policy.secret, "signature": {"header": policy.header}}
    try:
        spec = WebhookCreate.model_validate(values)
    except ValidationError as exc:
        raise ConfigurationError(f"{variable}: {_problems(exc, _ENV_FIELDS)}") from None
    key = f"env:{variable}" if variable == REDIS_FALLBACK else f"env:{variable}:{mask(url)}"
    return DeclaredWebhook(key, "env", DEFAULT_TENANT, spec, variable)


_ENV_FIELDS = {
    "format": "WEBHOOK_FORMAT",
    "timeout": "WEBHOOK_TIMEOUT",
    "retry_schedule": "WEBHOOK_MAX_RETRIES / WEBHOOK_RETRY_DELAY",
    "signature": "WEBHOOK_SIGNATURE_HEADER",
    "secret": "WEBHOOK_SECRET",
}


def _could_mean(name: str, catalog: Sequence[CatalogEntry]) -> str:
    groups = sorted({env_name(e.group) for e in catalog if e.group})
    types = sorted(env_name(e.name) for e in catalog)
    close = difflib.get_close_matches(name, groups + types, n=5, cutoff=0.5)
    listing = [f"{GROUP_PREFIX}{g} (group)" for g in groups] + [
        f"{GROUP_PREFIX}{env_name(e.name)} ({e.name})" for e in catalog
    ]
    hint = f"did you mean {', '.join(GROUP_PREFIX + c for c in close)}? " if close else ""
    known = "; ".join(listing) if listing else "none: declare event types first"
    return f"{hint}the names it may use are: {known}"


def env_webhooks(env: Mapping[str, str], catalog: Sequence[CatalogEntry]) -> list[DeclaredWebhook]:
    """The webhooks the environment declares, against the live event types `catalog`."""
    policy = _policy(env)
    found: list[DeclaredWebhook] = []
    for variable in sorted(env):
        if not variable.startswith(GROUP_PREFIX) or not env[variable].strip():
            continue
        if variable == ALL:
            event_types: list[str] = []
        else:
            name = variable[len(GROUP_PREFIX) :].upper()
            event_types = sorted(
                e.name
                for e in catalog
                if env_name(e.name) == name or (e.group is not None and env_name(e.group) == name)
            )
            if not event_types:
                raise ConfigurationError(
                    f"{variable} matches no event type group or event type; "
                    f"{_could_mean(name, catalog)}. Rename the variable, or declare the type "
                    "(HOOKLINE_CONFIG or POST /api/v1/event-types) with that name or group"
                )
        for url in _urls(env[variable]):
            found.append(_env_webhook(variable, url, event_types, policy, seed_002=False))
    if env.get("WEBHOOK_URL", "").strip():
        for url in _urls(env["WEBHOOK_URL"]):
            found.append(_env_webhook("WEBHOOK_URL", url, [], policy, seed_002=True))
    if redis_fallback(env):
        if not env.get("WEBHOOK_URL", "").strip():
            raise ConfigurationError(
                f"{REDIS_FALLBACK}=true publishes to Redis next to WEBHOOK_URL (seed 002's dual "
                "publishing), and WEBHOOK_URL is not set: set it, or declare a redis:// webhook "
                "in HOOKLINE_CONFIG instead"
            )
        url = redis_fallback_url(env)
        found.append(_env_webhook(REDIS_FALLBACK, url, [], policy, seed_002=True))
    return found


def redis_fallback(env: Mapping[str, str]) -> bool:
    """Whether seed 002's migration mode is on: ENABLE_REDIS_FALLBACK=true."""
    raw = env.get(REDIS_FALLBACK, "").strip()
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigurationError(f"{REDIS_FALLBACK} must be true or false; got {raw!r}")


def redis_fallback_url(env: Mapping[str, str]) -> str:
    """The redis:// destination of the migration mode: REDIS_URL's server, REDIS_CHANNEL."""
    server = env.get("REDIS_URL", "").strip() or DEFAULT_REDIS_URL
    channel = env.get("REDIS_CHANNEL", "").strip() or DEFAULT_REDIS_CHANNEL
    if kind_of(server) != "redis":
        raise ConfigurationError(
            f"REDIS_URL must be a Redis server's URL such as {DEFAULT_REDIS_URL} (rediss:// for "
            f"TLS); got {mask(server)!r}"
        )
    if "?" in server or "#" in server:
        raise ConfigurationError(
            f"REDIS_URL names the server only, as in {DEFAULT_REDIS_URL}; the channel comes "
            f"from REDIS_CHANNEL; got {mask(server)!r}"
        )
    return f"{server}?channel={quote(channel, safe=CHANNEL_SAFE)}"


def implied_destinations(env: Mapping[str, str]) -> frozenset[str]:
    """Destination kinds the declared environment enables by itself, beyond
    HOOKLINE_DESTINATIONS: `redis` in seed 002's migration mode (the operator asked for it)."""
    return frozenset({"redis"}) if redis_fallback(env) else frozenset()


def env_mentions_webhooks(env: Mapping[str, str]) -> bool:
    return any(k.startswith(GROUP_PREFIX) or k == "WEBHOOK_URL" for k, v in env.items() if v)


# --- the file -------------------------------------------------------------------------------


def _problems(exc: ValidationError, fields: Mapping[str, str] | None = None) -> str:
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"])
        if fields and error["loc"] and str(error["loc"][0]) in fields:
            loc = fields[str(error["loc"][0])]
        parts.append(f"{loc}: {error['msg']}")
    return "; ".join(parts)


def _line_of(text: str, table: str, index: int, key: str | None) -> int | None:
    """The line of `key` in the index-th [[table]] (or of the table itself), for messages."""
    seen, inside = -1, False
    header = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]")
    for number, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            seen += 1
            inside = seen == index
            if inside and key is None:
                return number
            continue
        if re.match(r"^\s*\[", line):
            if inside:
                return None
            continue
        if inside and key is not None and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
    return None


class _FileReader:
    def __init__(self, path: str, text: str, env: Mapping[str, str]) -> None:
        self.path = path
        self.text = text
        self.env = env

    def fail(self, table: str, index: int, key: str | None, problem: str) -> ConfigurationError:
        line = _line_of(self.text, table, index, key) or _line_of(self.text, table, index, None)
        where = f"{self.path}:{line}" if line is not None else self.path
        field = f"{table}[{index}]" + (f".{key}" if key else "")
        return ConfigurationError(f"{where}: {field}: {problem}")

    def expand(self, value: Any, table: str, index: int, key: str) -> Any:
        """`${NAME}` in any string is the environment variable NAME (keep secrets out of the
        file)."""
        if isinstance(value, str):

            def look_up(match: re.Match[str]) -> str:
                name = match.group(1)
                if name not in self.env:
                    raise self.fail(
                        table,
                        index,
                        key,
                        f"${{{name}}} is not set in the environment; set {name}, or write the "
                        "value itself",
                    )
                return self.env[name]

            return _REFERENCE.sub(look_up, value)
        if isinstance(value, list):
            return [self.expand(v, table, index, key) for v in value]
        if isinstance(value, dict):
            return {k: self.expand(v, table, index, key) for k, v in value.items()}
        return value

    def rows(self, doc: dict[str, Any], table: str) -> Iterable[tuple[int, dict[str, Any]]]:
        rows = doc.get(table, [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ConfigurationError(
                f"{self.path}: {table} must be an array of tables, written [[{table}]]"
            )
        for index, row in enumerate(rows):
            yield index, {k: self.expand(v, table, index, k) for k, v in row.items()}

    def model(self, model: type[M], row: dict[str, Any], table: str, index: int) -> M:
        try:
            return model.model_validate(row)
        except ValidationError as exc:
            # A misspelt field first: it is usually why a required one is missing.
            error = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
            key = str(error["loc"][0]) if error["loc"] else None
            fields = ", ".join(
                (f.alias or name) for name, f in model.model_fields.items() if name != "tenant_id"
            )
            if error["type"] == "extra_forbidden":
                problem = f"{key!r} is not a field here; the fields are: {fields}"
                if table == "webhooks":
                    problem += ", tenant_id (a tenant's uid)"
            else:
                problem = f"{error['msg']} (got {error['input']!r})"
                if error["type"] == "missing":
                    problem = f"this field is required; the fields are: {fields}"
            raise self.fail(table, index, key, problem) from None


def parse_file(text: str, env: Mapping[str, str], *, path: str = "hookline.toml") -> FileConfig:
    """A HOOKLINE_CONFIG file, checked: ConfigurationError names the line and the fix."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not valid TOML: {exc}; see docs/configuration.md for the file's shape"
        ) from None
    unknown = sorted(set(doc) - set(TABLES))
    if unknown:
        raise ConfigurationError(
            f"{path}: {unknown[0]!r} is not a table hookline reads; the tables are "
            + ", ".join(f"[[{t}]]" for t in TABLES)
        )
    reader = _FileReader(path, text, env)
    event_types = tuple(
        reader.model(EventTypeCreate, row, "event_types", i)
        for i, row in reader.rows(doc, "event_types")
    )
    tenants = []
    for index, row in reader.rows(doc, "tenants"):
        tenant = reader.model(TenantCreate, row, "tenants", index)
        if tenant.uid is None:
            raise reader.fail(
                "tenants", index, None, "uid is required: webhooks name their tenant by uid"
            )
        tenants.append(tenant)
    webhooks: list[DeclaredWebhook] = []
    for index, row in reader.rows(doc, "webhooks"):
        owner = row.pop("tenant_id", DEFAULT_TENANT)
        if not isinstance(owner, str) or not owner:
            raise reader.fail("webhooks", index, "tenant_id", "must be a tenant's uid (text)")
        spec = reader.model(WebhookCreate, row, "webhooks", index)
        called = spec.name or mask(spec.url)  # never a password
        key = f"file:{owner}:{called}"
        if any(w.key == key for w in webhooks):
            raise reader.fail(
                "webhooks",
                index,
                "name",
                f"tenant {owner!r} already has a webhook declared as {called!r}; "
                "give each webhook of a tenant its own `name`",
            )
        webhooks.append(DeclaredWebhook(key, "file", owner, spec, f"webhooks[{index}]"))
    _unique(reader, "event_types", [t.name for t in event_types], "name")
    _unique(reader, "tenants", [str(t.uid) for t in tenants], "uid")
    return FileConfig(path, event_types, tuple(tenants), tuple(webhooks))


def _unique(reader: _FileReader, table: str, names: list[str], key: str) -> None:
    for index, name in enumerate(names):
        if name in names[:index]:
            raise reader.fail(table, index, key, f"{name!r} is declared twice; keep one")


def read_file(path: Path, env: Mapping[str, str]) -> FileConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"HOOKLINE_CONFIG: cannot read {path} ({exc.strerror or exc}): check the path"
        ) from None
    return parse_file(text, env, path=str(path))


def catalog_after(live: Iterable[CatalogEntry], file: FileConfig | None) -> list[CatalogEntry]:
    """The live event types once the file's are in place (what WEBHOOKS_* may name); `live`
    leaves out the types the file no longer declares (they are archived)."""
    entries = {e.name: e for e in live}
    for declared in file.event_types if file is not None else ():
        entries[declared.name] = CatalogEntry(declared.name, declared.group)
    return sorted(entries.values(), key=lambda e: e.name)
