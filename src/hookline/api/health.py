from __future__ import annotations

from hookline import __version__
from hookline.api.deps import Node
from hookline.api.routing import router as make_router
from hookline.models import Health

router = make_router(tags=["health"])


@router.get("/health", summary="Liveness and database reachability (no key needed)")
async def health(node: Node) -> Health:
    await node.check_database()
    return Health(status="ok", version=__version__, database=node.db.dialect)
