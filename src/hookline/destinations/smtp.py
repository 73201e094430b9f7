"""`mailto:` destinations: one mail per attempt through the operator's SMTP relay."""

from __future__ import annotations

from hookline.transport import Failure, OutboundRequest, Result


class Smtp:
    def __init__(self, smtp_url: str, sender: str, *, idle: float) -> None:
        self._url = smtp_url
        self._sender = sender
        self._idle = idle

    async def send(self, request: OutboundRequest) -> Result:
        return Failure(error="mailto: destinations are not built yet", latency_ms=0)

    async def close(self) -> None:
        return None
