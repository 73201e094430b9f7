"""`hookline listen`: a local receiver that verifies every request and prints the event.

The other half of the quickstart, and a handy way to watch a webhook while building one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from aiohttp import web

from hookline import signing


def make_app(
    secret: str, *, status: int = 200, echo: Callable[[str], None] = print
) -> web.Application:
    signing.secret_key(secret)  # fail now, not on the first request, if it is malformed

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            signing.verify(secret, dict(request.headers), body, now=time.time())
        except (signing.SignatureError, ValueError) as exc:
            echo(f"✗ {request.method} {request.path_qs}: rejected, {exc}")
            return web.json_response({"error": str(exc)}, status=401)
        event_type = request.headers.get("x-webhook-event", "?")
        webhook_id = request.headers.get("webhook-id", "?")
        try:
            shown = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        except ValueError:
            shown = body.decode("utf-8", errors="replace")
        echo(f"✓ {event_type} {webhook_id} (signature verified)\n{shown}")
        return web.json_response({"received": webhook_id}, status=status)

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", receive)
    return app


async def serve(host: str, port: int, secret: str, *, status: int = 200) -> None:
    runner = web.AppRunner(make_app(secret, status=status), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    print(
        f"hookline listen: verifying webhooks on http://{host}:{port}/ (Ctrl-C to stop)", flush=True
    )
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
