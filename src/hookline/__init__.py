"""hookline: self-hosted webhook delivery.

Events go in through `send`, are stored durably, fanned out to every subscribed webhook, signed
(Standard Webhooks), delivered with retries, and every attempt is recorded.
"""

__version__ = "0.1.0"

from hookline.client import AsyncClient, Client, HooklineAPIError

__all__ = ["AsyncClient", "Client", "HooklineAPIError", "__version__"]
