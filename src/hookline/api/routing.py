"""One route class for every API route: the one place a request is checked before FastAPI
reads it.

- The JSON body is parsed once, by hookline's rule (`hookline.jsonvalue`): `NaN`, `Infinity`,
  `1e400`, integers beyond 64 bits, NUL characters, lone surrogates and nesting deeper than 64
  levels are refused with a 422 that names the place, instead of becoming `null` or a 500.
- Path and query values get the same text rule (a NUL in `/events/%00` never reaches the
  database), and a query parameter the route does not take is a 400 that names it.
- The problem answers a route can give are declared in its OpenAPI operation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter

from hookline import jsonvalue
from hookline.api.deps import get_principal, require_admin
from hookline.api.problems import declare
from hookline.errors import BadRequest, InvalidInput

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def parse_json(raw: bytes) -> Any:
    """A request body as JSON, refused (400 or 422, naming the place) unless it is plain,
    storable JSON."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"the request body is not valid JSON: {exc.msg} (line {exc.lineno}, column "
            f"{exc.colno})",
            loc=("body",),
        ) from None
    except UnicodeDecodeError:
        raise BadRequest(
            "the request body is not valid JSON: it is not UTF-8 text", loc=("body",)
        ) from None
    except RecursionError:
        raise InvalidInput(
            f"body: nested more than {jsonvalue.MAX_DEPTH} levels deep; flatten it",
            loc=("body",),
        ) from None
    except ValueError:  # an integer of thousands of digits, which Python will not convert
        raise InvalidInput(
            "body: holds an integer that does not fit in 64 bits; send a number this large "
            "as a string",
            loc=("body",),
        ) from None
    jsonvalue.check(value, ("body",))
    return value


class JSONRequest(Request):
    """A request whose `json()` is `parse_json`: FastAPI reads bodies through it."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI parses a body of this type as JSON (it does for `application/json`
    and `application/*+json`; without a type it takes none)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    """The route's dependant and every dependency under it."""
    yield dependant
    for sub in dependant.dependencies:
        yield from _tree(sub)


class StrictRoute(APIRoute):
    """An APIRoute that checks the request (above) and declares its problem answers."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        tree = list(_tree(self.dependant))
        self.query_names = tuple(sorted({p.alias for d in tree for p in d.query_params}))
        self.responses = {**declare(self._problem_statuses(tree)), **self.responses}

    def _problem_statuses(self, tree: list[Dependant]) -> set[int]:
        """What any route like this one can answer besides success: 400 for an unknown query
        parameter or malformed JSON, 503 when the database does not answer, and the rest by
        what the route takes. Routes add their own (403, 404, 409) with `problems(...)`."""
        calls = {d.call for d in tree}
        takes_path = any(d.path_params for d in tree)
        takes_params = takes_path or any(d.query_params or d.header_params for d in tree)
        statuses = {400, 503}
        if get_principal in calls:
            statuses |= {401, 429}
        if require_admin in calls:
            statuses.add(403)
        if takes_path:
            statuses.add(404)
        if takes_params or self.body_field is not None:
            statuses.add(422)
        if self.body_field is not None:
            statuses.add(413)
        return statuses

    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()
        takes_body = self.body_field is not None

        async def strict_handler(request: Request) -> Response:
            request = JSONRequest(request.scope, request.receive)
            self.check_parameters(request)
            is_json = _is_json(request.headers.get("content-type"))
            if takes_body and is_json and await request.body():
                await request.json()  # refusals reach the problem handlers from here
            return await handle(request)

        return strict_handler

    def check_parameters(self, request: Request) -> None:
        items = request.query_params.multi_items()
        unknown = sorted({name for name, _ in items} - set(self.query_names))
        if unknown:
            takes = (
                f"it takes {', '.join(self.query_names)}"
                if self.query_names
                else "it takes no query parameters"
            )
            names = ", ".join(repr(name) for name in unknown)
            plural = "s" if len(unknown) > 1 else ""
            raise BadRequest(
                f"unknown query parameter{plural} {names} for {request.method} "
                f"{request.url.path}; {takes} (check the spelling against /docs)",
                errors=[
                    {"loc": ["query", name], "msg": f"unknown query parameter; {takes}"}
                    for name in unknown
                ],
            )
        for name, value in request.path_params.items():
            if isinstance(value, str):
                jsonvalue.check_text(value, ("path", name))
        for name, value in items:
            jsonvalue.check_text(value, ("query", name))


def router(prefix: str = "", *, tags: list[str] | None = None) -> APIRouter:
    """A router whose routes are StrictRoutes (every API router is made here)."""
    return APIRouter(prefix=prefix, tags=list(tags or []), route_class=StrictRoute)
