from __future__ import annotations

from fastapi.responses import JSONResponse

from hookline import __version__, readiness
from hookline.api.deps import Node
from hookline.api.routing import router as make_router
from hookline.models import Health

router = make_router(tags=["health"])


@router.get(
    "/health", summary="Liveness: the process runs (no key needed)", include_in_schema=False
)
async def health(node: Node) -> Health:
    return Health(status="ok", version=__version__, database=node.db.dialect)


@router.get("/ready", include_in_schema=False)
async def ready(node: Node) -> JSONResponse:
    """200 when this process should take traffic, else 503; each check says why
    (`hookline.readiness`)."""
    result = await readiness.check(
        node.db,
        runs_worker=node.worker is not None,
        now=node.clock(),
        interval=node.settings.heartbeat_interval,
    )
    body = {
        "status": "ready" if result.ready else "unavailable",
        "checks": {
            name: {"ok": check.ok, "detail": check.detail} for name, check in result.checks.items()
        },
    }
    return JSONResponse(body, status_code=200 if result.ready else 503)
