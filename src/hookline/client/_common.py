"""What the blocking and asyncio clients share: errors, and how requests are built."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import httpx

from hookline import __version__


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # "leave this field as it is" in update methods


class HooklineAPIError(Exception):
    """A problem+json answer: `status`, `title` and `detail` say what went wrong."""

    def __init__(self, status: int, title: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.body = body

    @classmethod
    def from_response(cls, response: httpx.Response) -> HooklineAPIError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        return cls(
            response.status_code,
            str(body.get("title", response.reason_phrase)),
            str(body.get("detail", response.text[:500])),
            body,
        )


def default_headers(key: str | None) -> dict[str, str]:
    key = key or os.environ.get("HOOKLINE_KEY")
    headers = {"User-Agent": f"hookline-client/{__version__}"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def fields(**values: Any) -> dict[str, Any]:
    """The fields given, for a PATCH: UNSET ones are left out."""
    return {k: v for k, v in values.items() if v is not UNSET}


def query(**values: Any) -> dict[str, Any]:
    """Query parameters: None ones are left out, datetimes become ISO 8601."""
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in values.items()
        if v is not None
    }
