"""Pages from templates, with the headers every dashboard response carries.

The Content-Security-Policy lets the page load scripts, styles and images from this server
only (no inline script, no wildcard; the portal's logo host where one is configured), and
`frame-ancestors` lets only the portal be framed, by HOOKLINE_PORTAL_ORIGINS.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response
from yarl import URL

from hookline.config import Settings
from hookline.ui.session import Session

HERE = Path(__file__).parent
STATIC = HERE / "static"

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def ago(value: datetime | None, now: float) -> str:
    """'3 min ago', '2 h ago', 'in 5 s'..., or '—' for nothing."""
    if value is None:
        return "—"
    seconds = now - value.timestamp()
    future, seconds = seconds < 0, abs(seconds)
    for size, unit in ((86_400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            text = f"{int(seconds // size)} {unit}"
            break
    else:
        text = f"{int(seconds)} s"
    return f"in {text}" if future else f"{text} ago"


def stamp(value: datetime | float | None) -> str:
    if value is None:
        return "—"
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


templates.filters["stamp"] = stamp
templates.filters["percent"] = percent


def policy(settings: Settings, *, framed_by: tuple[str, ...]) -> str:
    images = ["'self'", "data:"]
    logo = settings.portal_brand_logo_url
    if logo and logo.startswith("https://"):
        images.append(str(URL(logo).origin()))
    ancestors = " ".join(framed_by) if framed_by else "'none'"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src {' '.join(images)}; connect-src 'self'; form-action 'self'; "
        f"base-uri 'none'; frame-ancestors {ancestors}"
    )


def secure(response: Response, settings: Settings, session: Session | None) -> Response:
    portal = session is not None and session.portal
    response.headers["Content-Security-Policy"] = policy(
        settings, framed_by=settings.portal_origins if portal else ()
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    if not portal:
        response.headers["X-Frame-Options"] = "DENY"
    return response


def page(
    name: str,
    settings: Settings,
    session: Session | None,
    *,
    code: int = 200,
    **context: Any,
) -> Response:
    html = templates.get_template(name).render(
        session=session,
        brand={
            "name": settings.portal_brand_name,
            "logo": settings.portal_brand_logo_url,
            "color": settings.portal_brand_color,
        },
        **context,
    )
    return secure(HTMLResponse(html, status_code=code), settings, session)


def redirect(to: str, settings: Settings, session: Session | None) -> Response:
    return secure(RedirectResponse(to, status_code=303), settings, session)
