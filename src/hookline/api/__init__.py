"""The HTTP API: a thin FastAPI face over the service layer (no SQL here)."""

from hookline.api.app import create_app

__all__ = ["create_app"]
