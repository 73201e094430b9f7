"""What every dashboard page shares: its route class (errors as pages, sign-in when signed out,
the renewed session back in its cookie), and reading forms."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.responses import Response

from hookline.errors import Forbidden, HooklineError
from hookline.service.stats import Timeline
from hookline.ui import charts
from hookline.ui.access import SignedOut, node_of, set_session
from hookline.ui.render import page, redirect
from hookline.ui.session import OPERATOR_COOKIE, PORTAL_COOKIE, Session


class PageRoute(APIRoute):
    """A dashboard page: a failure is a page that says what happened (the API answers problem
    JSON instead), no session sends the visitor to sign in, and a session renewed by the
    request goes back in its cookie."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            node = node_of(request)
            try:
                response = await handle(request)
            except SignedOut as exc:
                return _signed_out(request, exc)
            except HooklineError as exc:
                response = page(
                    "message.html",
                    node.settings,
                    getattr(request.state, "renewed", None),
                    code=exc.status,
                    title=exc.title,
                    message=str(exc),
                )
            except RequestValidationError as exc:
                response = page(
                    "message.html",
                    node.settings,
                    getattr(request.state, "renewed", None),
                    code=400,
                    title="Bad request",
                    message="; ".join(
                        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                    ),
                )
            renewed = getattr(request.state, "renewed", None)
            cookies = response.headers.getlist("set-cookie")
            if isinstance(renewed, Session) and not any(
                c.startswith((OPERATOR_COOKIE + "=", PORTAL_COOKIE + "=")) for c in cookies
            ):
                set_session(response, node, renewed)
            return response

        return handler


def _signed_out(request: Request, exc: SignedOut) -> Response:
    node = node_of(request)
    if exc.portal:
        return page(
            "message.html",
            node.settings,
            None,
            code=401,
            title="Signed out",
            message="This portal session has ended. Open the portal again from where you found "
            "it to get a new link.",
        )
    return redirect("/ui/login", node.settings, None)


PAGE_SIZE = 50


def chart(timeline: Timeline, title: str, unit: str) -> Any:
    return charts.timeline_chart(
        timeline.succeeded,
        timeline.failed,
        title=f"{title}, deliveries per {unit}",
        start_label=_clock_label(timeline.start),
        end_label=_clock_label(timeline.end),
    )


def _clock_label(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%b %d, %H:%M UTC")


def form_value(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_errors(exc: ValidationError | HooklineError) -> list[str]:
    if isinstance(exc, ValidationError):
        return [
            f"{'.'.join(str(p) for p in error['loc']) or 'form'}: {error['msg']}"
            for error in exc.errors()
        ]
    return [str(exc)]


def refused(exc: ValidationError | HooklineError) -> list[str]:
    """What to fix, for a mistake the form can show; anything else (a 404, a 403) goes up."""
    if isinstance(exc, HooklineError) and exc.status not in (400, 409, 422):
        raise exc
    return form_errors(exc)


def writable(session: Session) -> None:
    if session.read_only:
        raise Forbidden("this portal link is read-only: it shows everything and changes nothing")


def new_router() -> APIRouter:
    """A router of dashboard pages, under /ui."""
    return APIRouter(prefix="/ui", include_in_schema=False, route_class=PageRoute)
