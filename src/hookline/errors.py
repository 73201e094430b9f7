"""One exception tree. Every error a person can cause says what to fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class HooklineError(Exception):
    """Base of every error hookline raises on purpose."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(HooklineError):
    """Input that cannot be taken as it is. `loc` is where, as pydantic spells it: a path into
    the request body (`("data", "price")`), or from the request's top (`("query", "cursor")`)."""

    status = 422
    title = "Invalid input"

    def __init__(self, detail: str, *, loc: Sequence[str | int] = (), **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.loc = tuple(loc)


class BadRequest(InvalidInput):
    """A request that is not one this API takes: an unknown query parameter, a cursor it did
    not hand out, malformed JSON."""

    status = 400
    title = "Bad request"


class NotFound(HooklineError):
    status = 404
    title = "Not found"


class Conflict(HooklineError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(HooklineError):
    status = 413
    title = "Payload too large"


class TooManyRequests(HooklineError):
    """Over a rate limit; `retry_after` (seconds) says when to come back."""

    status = 429
    title = "Too many requests"


class Unauthorized(HooklineError):
    status = 401
    title = "Unauthorized"


class Forbidden(HooklineError):
    status = 403
    title = "Forbidden"


class Unavailable(HooklineError):
    """hookline cannot take the request right now (for instance, it is shutting down)."""

    status = 503
    title = "Service unavailable"


class StoreUnavailable(Unavailable):
    """The database did not answer, or answered "try again" (restarting, a deadlock): the
    operation did nothing and can be repeated."""


class ConfigurationError(HooklineError):
    title = "Configuration error"
