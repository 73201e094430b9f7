"""Protection for the API itself: a request body limit and per-key rate limits."""

from __future__ import annotations

import math

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookline import throttle
from hookline.api.problems import problem
from hookline.auth import Principal
from hookline.clock import Clock, system_clock
from hookline.errors import TooManyRequests


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes (HOOKLINE_MAX_REQUEST_BYTES)"


class BodyLimit:
    """Refuse bodies over `limit` bytes with a 413: at once when Content-Length says so, and
    mid-stream for chunked bodies, before they are buffered."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await problem(413, _too_large(self.limit))(scope, receive, send)
            return
        received = 0

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # An HTTPException passes FastAPI's body parsing untouched, to the
                    # problem handlers.
                    raise HTTPException(413, _too_large(self.limit))
            return message

        await self.app(scope, counting, send)


class KeyRateLimiter:
    """Requests per second per API key, in this process (a burst of one second's worth)."""

    def __init__(
        self, *, tenant_rate: float, admin_rate: float, clock: Clock = system_clock
    ) -> None:
        self._rates = {False: tenant_rate * 60, True: admin_rate * 60}
        self._tats: dict[str, float] = {}
        self._clock = clock

    def check(self, caller: Principal) -> None:
        rate = self._rates[caller.is_admin]
        if rate <= 0:
            return
        now = self._clock()
        key = caller.key_id or "admin"
        allowed, tat, wait = throttle.take(rate, self._tats.get(key), now)
        self._tats[key] = tat
        if len(self._tats) > 100_000:  # forget keys whose bucket has refilled
            self._tats = {k: v for k, v in self._tats.items() if v > now}
        if not allowed:
            retry_after = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"this API key is over its rate limit; retry in {retry_after} s",
                retry_after=retry_after,
            )
