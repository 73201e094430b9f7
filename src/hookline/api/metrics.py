"""`GET /metrics`: the Prometheus text format. No key needed unless HOOKLINE_METRICS_TOKEN is set.

Kept out of the OpenAPI document: it is for Prometheus, not an API client, and answers text.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from hookline.api.deps import Node
from hookline.errors import Unauthorized
from hookline.metrics import CONTENT_TYPE, authorized

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, node: Node) -> Response:
    token = node.settings.metrics_token
    secret = None if token is None else token.get_secret_value()
    if not authorized(request.headers.get("authorization"), secret):
        raise Unauthorized("/metrics needs Authorization: Bearer <HOOKLINE_METRICS_TOKEN>")
    return Response(await node.metrics.exposition(), media_type=CONTENT_TYPE)
