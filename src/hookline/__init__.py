"""hookline: self-hosted webhook delivery.

Events go in through `send`, are stored durably, fanned out to every subscribed webhook, signed
(Standard Webhooks), delivered with retries, and every attempt is recorded.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
