"""A typed Python client for hookline's HTTP API, blocking (`Client`) or asyncio (`AsyncClient`).

    from hookline import Client

    with Client("http://127.0.0.1:8000", key="hl_...") as hookline:
        tenant = hookline.tenants.create("Acme Trading", uid="acme")
        hookline.event_types.create("order.filled")
        webhook = hookline.webhooks.create(url="https://acme.example/hooks", tenant_id="acme")
        hookline.events.send("order.filled", {"symbol": "BTCUSDT"}, tenant_id="acme")

`AsyncClient` has the same methods, awaited. The key defaults to $HOOKLINE_KEY.
"""

from hookline.client._async import AsyncClient
from hookline.client._common import UNSET, HooklineAPIError
from hookline.client._sync import Client

__all__ = ["UNSET", "AsyncClient", "Client", "HooklineAPIError"]
