"""`nats://` destinations."""

from __future__ import annotations

from hookline.ssrf import NetworkPolicy
from hookline.transport import Failure, OutboundRequest, Result


class Nats:
    def __init__(self, policy: NetworkPolicy, *, idle: float) -> None:
        self._policy = policy
        self._idle = idle

    async def send(self, request: OutboundRequest) -> Result:
        return Failure(error="nats destinations are not built yet", latency_ms=0)

    async def close(self) -> None:
        return None
