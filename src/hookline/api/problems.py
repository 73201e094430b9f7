"""Errors as `application/problem+json` (RFC 9457): every body has `type, title, status,
detail`, with a `detail` a person can act on; 400s and 422s also list `errors: [{loc, msg}]`,
`loc` and `msg` as pydantic and FastAPI spell them. The same shapes are declared in the OpenAPI
document, for every status a route can answer."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException

from hookline import jsonvalue
from hookline.errors import HooklineError, InvalidInput
from hookline.models import Problem, ValidationProblem

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
PLACES = ("body", "query", "path", "header")

DESCRIPTIONS = {
    400: "Bad request: an unknown query parameter, a cursor this API did not hand out, "
    "mixed paging, or a body that is not JSON.",
    401: "Missing or invalid API key (send `Authorization: Bearer <key>`).",
    403: "This key may not do this.",
    404: "Not found (or another tenant's).",
    409: "Conflict with the current state.",
    413: "The request body (or the event) is too large.",
    422: "Invalid input: `errors` lists each place and what to send instead.",
    429: "Over a rate limit; retry after `Retry-After` seconds.",
    503: "Unavailable for a moment (the database, or shutting down); retry.",
}


def _printable(value: Any) -> Any:
    """`value` with every string valid Unicode: a message may quote what was refused, and a
    lone surrogate (`"\\udc00"`) is written as that escape rather than break the answer."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> JSONResponse:
    body = _printable(
        {
            "type": "about:blank",
            "title": title or HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            **extra,
        }
    )
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="hookline"'
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


# --- what a route declares -------------------------------------------------------------------


def _response(status: int) -> dict[str, Any]:
    model = ValidationProblem if status == 422 else Problem
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
        }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait."}
        }
    return response


def declare(statuses: Iterable[int]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these problem statuses."""
    return {status: _response(status) for status in sorted(statuses)}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For a route decorator: the problem answers particular to this route, such as 409."""
    return declare(statuses)


def install_openapi(app: FastAPI) -> None:
    """The OpenAPI document with the problem schemas (and without FastAPI's own 422 shape,
    which hookline never sends)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _, defs = models_json_schema(
                [(Problem, "serialization"), (ValidationProblem, "serialization")],
                ref_template="#/components/schemas/{model}",
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(defs["$defs"])
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# --- turning exceptions into problems ------------------------------------------------------


def _where(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
        return ".".join(parts) if parts else "body"
    if parts and parts[0] in ("query", "path", "header"):
        return f"{parts[0]} parameter {'.'.join(parts[1:])}"
    return ".".join(parts)


# Pydantic's messages for the common mistakes, rewritten to say what to send instead.
MESSAGES = {
    "extra_forbidden": "unknown field; check its spelling against the API reference (/docs)",
    "missing": "required; this field must be sent",
    "bool_type": 'must be true or false (a JSON boolean; strings such as "yes" are refused)',
    "int_type": "must be a whole JSON number such as 5 (not a string, a fraction or a boolean)",
    "float_type": "must be a JSON number such as 2.5 (not a string or a boolean)",
    "string_type": "must be a JSON string",
    "dict_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "list_type": "must be a JSON array",
}


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind in MESSAGES:
        return MESSAGES[kind]
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = error.get("ctx", {}).get("error", "invalid JSON")
            return problem(
                400,
                f"the request body is not valid JSON: {reason}",
                title="Bad request",
                errors=[{"loc": ["body"], "msg": f"not valid JSON: {reason}"}],
            )
    explained = [{"loc": list(e.get("loc", ())), "msg": _message(e)} for e in errors]
    detail = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in explained)
    return problem(422, detail, title="Invalid input", errors=explained)


def _invalid(exc: InvalidInput) -> JSONResponse:
    extra = dict(exc.extra)
    errors = extra.pop("errors", None)
    if errors is None:
        loc = list(exc.loc)
        if not loc or loc[0] not in PLACES:
            loc = ["body", *loc]  # a service's place is in the body it was given
        # The detail starts with the place ("data.price: ..."); the item's msg need not.
        msg = exc.detail.removeprefix(f"{jsonvalue.where(exc.loc)}: ") if exc.loc else exc.detail
        errors = [{"loc": loc, "msg": msg}]
    return problem(exc.status, exc.detail, title=exc.title, errors=errors, **extra)


async def _hookline_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HooklineError)
    if isinstance(exc, InvalidInput):
        return _invalid(exc)
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
    install_openapi(app)
