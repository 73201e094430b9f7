"""Take the screenshots in docs/ui.md: a hookline on a scratch SQLite file with a few tenants,
webhooks and deliveries to a receiver on loopback, photographed in Debian's Chromium.

    python scripts/ui_screenshots.py            # writes docs/ui/*.png
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import httpx
import uvicorn
from aiohttp import web
from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hookline.api import create_app  # noqa: E402
from hookline.config import Settings  # noqa: E402
from hookline.node import Hookline  # noqa: E402

KEY = "screenshots-admin-key-0123456789"
OUT = ROOT / "docs" / "ui"


async def receiver() -> tuple[web.AppRunner, int]:
    answers = {"fills": 200, "alerts": 503}

    async def handle(request: web.Request) -> web.Response:
        return web.Response(status=answers.get(request.match_info["name"], 200), text="ok")

    app = web.Application()
    app.router.add_post("/{name}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


async def shoot(page: Page, url: str, name: str) -> None:
    await page.goto(url)
    await page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"docs/ui/{name}.png")


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="hookline-shots-"))
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{scratch / 'shots.db'}",
        admin_key=KEY,
        dev=True,
        data_dir=scratch,
        retry_schedule=(0.2, 0.2),
    )
    node = Hookline(settings, environ={})
    server = uvicorn.Server(
        uvicorn.Config(create_app(node), host="127.0.0.1", port=0, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    runner, port = await receiver()
    while not server.started:
        await asyncio.sleep(0.05)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    headers = {"Authorization": f"Bearer {KEY}"}
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers) as api:
            tenant = (await api.post("/api/v1/tenants", json={"name": "Acme Trading"})).json()
            for name, example in (
                ("order.filled", {"symbol": "BTCUSDT", "n": 1, "amount": 2500}),
                ("price.above", {"symbol": "ETHUSDT", "n": 1, "price": 4100.5}),
            ):
                await api.post("/api/v1/event-types", json={"name": name, "examples": [example]})
            hooks = [
                (
                    await api.post(
                        "/api/v1/webhooks",
                        json={
                            "tenant_id": tenant["id"],
                            "url": f"http://127.0.0.1:{port}/{name}",
                            "name": name,
                            "event_types": types,
                        },
                    )
                ).json()
                for name, types in (("fills", ["order.filled"]), ("alerts", ["price.above"]))
            ]
            for n in range(12):
                for kind in ("order.filled", "price.above"):
                    await api.post(
                        "/api/v1/events",
                        json={
                            "type": kind,
                            "tenant_id": tenant["id"],
                            "data": {"n": n, "amount": 250 * n},
                        },
                    )
            await asyncio.sleep(2)  # the failing webhook's retries run out
            portal = (
                await api.post(f"/api/v1/tenants/{tenant['id']}/portal", json={"read_only": True})
            ).json()
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium")
            context = await browser.new_context(viewport={"width": 1200, "height": 800})
            page = await context.new_page()
            await shoot(page, f"{base}/ui/login", "login")
            await page.get_by_label("API key").fill(KEY)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(f"{base}/ui/")
            await shoot(page, f"{base}/ui/", "overview")
            await shoot(page, f"{base}/ui/webhooks", "webhooks")
            await shoot(page, f"{base}/ui/webhooks/new", "webhook-new")
            await page.goto(f"{base}/ui/webhooks/{hooks[0]['id']}/edit")
            await page.get_by_label("Signature scheme").select_option("github")
            await page.get_by_label("Payload filter").fill('{"data.amount": {"$gte": 1500}}')
            await page.wait_for_selector("form[data-checked]")
            await page.wait_for_selector("#filter-summary")
            await page.screenshot(path=str(OUT / "webhook-edit.png"), full_page=True)
            print("docs/ui/webhook-edit.png")
            await shoot(page, f"{base}/ui/webhooks/{hooks[1]['id']}", "webhook")
            await page.get_by_role("link").filter(has_text="dlv_").first.click()
            await page.screenshot(path=str(OUT / "delivery.png"), full_page=True)
            print("docs/ui/delivery.png")
            await shoot(page, f"{base}/ui/events", "events")
            await page.get_by_role("link").filter(has_text="evt_").first.click()
            await page.screenshot(path=str(OUT / "event.png"), full_page=True)
            print("docs/ui/event.png")
            await shoot(page, f"{base}/ui/event-types", "event-types")
            await shoot(page, f"{base}/ui/tenants", "tenants")
            dark = await browser.new_context(
                viewport={"width": 390, "height": 844}, color_scheme="dark"
            )
            phone = await dark.new_page()
            await shoot(phone, portal["url"], "portal-phone-dark")
            await shoot(phone, f"{base}/ui/webhooks", "portal-webhooks-phone-dark")
            await browser.close()
    finally:
        await runner.cleanup()
        server.should_exit = True
        await task


if __name__ == "__main__":
    asyncio.run(main())
