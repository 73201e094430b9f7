"""hookline: self-hosted webhook delivery.

Events go in through `send`, are stored durably, fanned out to every subscribed webhook, signed
(Standard Webhooks), delivered with retries, and every attempt is recorded.

`from hookline import Client` (or `AsyncClient`, `HooklineAPIError`) imports the HTTP client on
first use, so `import hookline` alone (the server, the CLI) does not load httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hookline.client import AsyncClient, Client, HooklineAPIError

_CLIENT_NAMES = frozenset({"AsyncClient", "Client", "HooklineAPIError"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from hookline import client

        return getattr(client, name)
    raise AttributeError(f"module 'hookline' has no attribute {name!r}")


__all__ = ["AsyncClient", "Client", "HooklineAPIError", "__version__"]
