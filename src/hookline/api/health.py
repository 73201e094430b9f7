from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from hookline import __version__
from hookline.api.deps import Node

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    database: str


@router.get("/health", summary="Liveness and database reachability (no key needed)")
async def health(node: Node) -> Health:
    await node.check_database()
    return Health(status="ok", version=__version__, database=node.db.dialect)
