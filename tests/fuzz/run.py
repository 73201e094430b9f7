"""Fuzz a real `hookline serve` against its own OpenAPI document with schemathesis: every
operation, with the admin key and with a tenant key. Fails on any 5xx, any status code the
document does not declare for the operation, and any response that breaks its declared schema
or media type. Run by `make fuzz` and by CI (on PostgreSQL when HOOKLINE_TEST_POSTGRES_URL is
set, else on SQLite).

    .venv/bin/python -m tests.fuzz.run [--examples 20] [--seed 20261122]

Not part of the pytest run: it takes a minute or two.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.support.databases import fresh_postgres_database, postgres_server_url
from tests.support.harness import ADMIN_KEY, SECRET_KEY, ServeProcess

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "response_schema_conformance",
        "content_type_conformance",
        "response_headers_conformance",
    ]
)
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


@asynccontextmanager
async def database(tmp: Path) -> AsyncIterator[str]:
    server = postgres_server_url()
    if server is None:
        yield f"sqlite:///{tmp / 'hookline.db'}"
        return
    async with fresh_postgres_database(server) as url:
        yield url


def seed(base_url: str) -> dict[str, list[str]]:
    """Something of everything, so that operations on ids reach past 404; returns the ids by
    path parameter name, and the tenant key under `key`."""
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c:

        def post(path: str, body: object) -> dict[str, str]:
            response = c.post(path, json=body)
            response.raise_for_status()
            found: dict[str, str] = response.json()
            return found

        tenant = post("/api/v1/tenants", {"name": "Acme", "uid": "acme"})
        key = post(f"/api/v1/tenants/{tenant['id']}/keys", {"name": "fuzz"})
        post("/api/v1/event-types", {"name": "order.filled"})
        # Port 9 (discard) on loopback: nothing listens, so sends fail fast and are recorded.
        hook = post("/api/v1/webhooks", {"tenant_id": "acme", "url": "http://127.0.0.1:9/hook"})
        event = post("/api/v1/events", {"type": "order.filled", "data": {}, "tenant_id": "acme"})
        deliveries = c.get(f"/api/v1/events/{event['id']}/deliveries").json()["data"]
    return {
        "tenant_id": [tenant["id"], "acme"],
        "key_id": [key["id"]],
        "name": ["order.filled"],
        "webhook_id": [hook["id"]],
        "event_id": [event["id"]],
        "delivery_id": [d["id"] for d in deliveries],
        "key": [key["key"]],
    }


def config(path: Path, ids: dict[str, list[str]]) -> Path:
    """A schemathesis config that uses the seeded ids for most path parameters."""
    lines = []
    for name, values in ids.items():
        if name != "key" and values:
            quoted = ", ".join(f'"{v}"' for v in values)
            lines += [f"[dictionaries.{name}]", f"values = [{quoted}]", ""]
    lines.append("[parameters]")
    for name, values in ids.items():
        if name != "key" and values:
            lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.7 }}')
    path.write_text("\n".join(lines) + "\n")
    return path


async def fuzz(base_url: str, key: str, settings: Path, examples: int, seed: int) -> int:
    process = await asyncio.create_subprocess_exec(  # in the scratch folder: it keeps a cache
        SCHEMATHESIS,
        "--config-file",
        str(settings),
        "run",
        f"{base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--workers",
        "1",  # with threads, CPython 3.11's ast.parse (which hypothesis calls) can fail
        "--request-timeout",
        "10",
        "--warnings",
        "off",
        cwd=settings.parent,
    )
    return await process.wait()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=20, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        async with database(tmp) as url:
            env = {
                "HOOKLINE_DATABASE_URL": url,
                "HOOKLINE_ADMIN_KEY": ADMIN_KEY,
                "HOOKLINE_SECRET_KEY": SECRET_KEY,
                "HOOKLINE_API_RATE_LIMIT": "0",  # 429 is declared; unthrottled reaches further
            }
            log = tmp / "serve.log"
            server = ServeProcess(env, log=log)
            server.start()
            try:
                ids = seed(server.base_url)
                settings = config(tmp / "schemathesis.toml", ids)
                failed = []
                for who, key in (("admin key", ADMIN_KEY), ("tenant key", ids["key"][0])):
                    print(f"\n=== schemathesis with the {who} on {url.split(':')[0]}", flush=True)
                    code = await fuzz(server.base_url, key, settings, args.examples, args.seed)
                    if code != 0:
                        failed.append(who)
            finally:
                server.stop()
            text = log.read_text(errors="replace")
            if "Traceback" in text or "unhandled error" in text:
                print(f"\nThe server logged an unhandled error:\n{text[-5000:]}")
                failed.append("server log")
    if failed:
        print(f"\nfuzz: FAILED ({', '.join(failed)})")
        return 1
    print("\nfuzz: clean")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(asyncio.run(main()))
