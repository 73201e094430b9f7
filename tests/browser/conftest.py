"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, which `.ci/run`
installs; Playwright cannot download its own browsers here) against a real hookline on
loopback, a real database and a real receiver.

One Chromium serves every browser test of a worker process (a session-scoped fixture), each test
in a new context. The browser lives in the worker's session event loop, so a browser test and
every async fixture it uses run in that loop too: test modules here set
`pytestmark = pytest.mark.asyncio(loop_scope="session")` and declare their async fixtures with
`loop_scope="session"` (the receiver below is tests/conftest.py's, in that loop)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.support.receiver import Receiver

CHROMIUM = os.environ.get("HOOKLINE_TEST_CHROMIUM", "/usr/bin/chromium")
HAVE_CHROMIUM = os.path.exists(CHROMIUM)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium per worker process; each test gets a new context of it."""
    if not HAVE_CHROMIUM:
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (CI does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    opened = await browser.new_context()
    opened.set_default_timeout(15_000)
    try:
        yield opened
    finally:
        await opened.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@pytest_asyncio.fixture(loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    """tests/conftest.py's receiver, in the browser's loop (where the browser tests run)."""
    server = Receiver()
    await server.start()
    yield server
    await server.stop()
