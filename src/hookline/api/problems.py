"""Errors as `application/problem+json` (RFC 9457), with a `detail` a person can act on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hookline.errors import HooklineError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"


def problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="hookline"'
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _where(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
        return ".".join(parts) if parts else "body"
    if parts and parts[0] in ("query", "path", "header"):
        return f"{parts[0]} parameter {'.'.join(parts[1:])}"
    return ".".join(parts)


def _explain(error: dict[str, Any]) -> dict[str, str]:
    where = _where(error.get("loc", ()))
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        message = "unknown field; check its spelling against the API reference (/docs)"
    elif kind == "missing":
        message = "required"
    else:
        message = str(error.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
    return {"field": where, "message": message}


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = error.get("ctx", {}).get("error", "invalid JSON")
            return problem(400, f"the request body is not valid JSON: {reason}")
    explained = [_explain(e) for e in errors]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in explained)
    return problem(422, detail, title="Invalid input", errors=explained)


async def _hookline_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HooklineError)
    return problem(exc.status, exc.detail, title=exc.title, **exc.extra)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path} (see /docs)"
    return problem(exc.status_code, detail)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "hookline hit an unexpected error; the server log has the details")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HooklineError, _hookline_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
