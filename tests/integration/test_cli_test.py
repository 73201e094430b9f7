"""`hookline test`: signed samples of the catalog's event types straight to a real receiver on
loopback (seed 000's `python webhook_test.py --type cascade`), and `--webhook` through a running
hookline's API. Configured through the environment, as a user runs it: the first test runs the
command in a subprocess, the others run the Typer app (quicker, the same code)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from typer.testing import CliRunner

from hookline.cli import app
from hookline.signing import generate_secret
from tests.support import api
from tests.support.harness import ADMIN_KEY, Running, free_port, make_settings, running
from tests.support.receiver import Receiver, Reply

CASCADE = {
    "symbol": "BTC/USDT",
    "severity": "CRITICAL",
    "title": "Test Cascade Event",
    "source": "CASCADE",
    "data": {"velocity_usd_per_hour": 2000000},
}
FUNDING = {"symbol": "ETH/USDT", "severity": "WARNING", "data": {"funding_rate": 0.002}}
SEED_000_CATALOG = Path(__file__).resolve().parents[2] / "examples/catalogs/000-crypto-regimes.toml"
SEED_000_TYPES: list[dict[str, Any]] = [
    {"name": "LIQUIDATION_CASCADE", "group": "CASCADE", "examples": [CASCADE, {"second": 1}]},
    {"name": "CASCADE_EXHAUSTED", "group": "CASCADE"},  # no example: an empty object goes
    {"name": "FUNDING_ANOMALY", "group": "FUNDING", "examples": [FUNDING]},
]


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
async def local(sqlite_url: str) -> AsyncIterator[Running]:
    """hookline on SQLite: what these tests check is the command, not the store (the first
    test reads the catalog from PostgreSQL too)."""
    async with running(make_settings(sqlite_url)) as app:
        yield app


async def as_a_command(*args: str, env: dict[str, str]) -> Ran:
    """`hookline test ...` in a subprocess, as a user runs it, with only the HOOKLINE_*
    settings given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hookline",
        "test",
        *args,
        env={**clean, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return Ran(process.returncode or 0, out.decode(), err.decode())


async def hookline_test(*args: str, env: dict[str, str]) -> Ran:
    """`hookline test ...` through the Typer app, in a thread so that this loop keeps serving
    the receiver and hookline; only the HOOKLINE_* settings given are set. One at a time: the
    runner swaps the process's environment and standard streams."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HOOKLINE_")}
    result = await asyncio.to_thread(CliRunner().invoke, app, ["test", *args], env={**unset, **env})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


async def seed_000_catalog(hl: Running) -> dict[str, str]:
    """The catalog of a running hookline, and the environment that points at its database."""
    for event_type in SEED_000_TYPES:
        api.ok(await hl.client.post("/api/v1/event-types", json=event_type), 201)
    retired = {"name": "REGIME_CONFIRMED", "group": "CASCADE", "examples": [{"x": 1}]}
    api.ok(await hl.client.post("/api/v1/event-types", json=retired), 201)
    api.ok(await hl.client.delete("/api/v1/event-types/REGIME_CONFIRMED"), 204)  # archived
    return {"HOOKLINE_DATABASE_URL": hl.node.settings.database_url}


def arrived(receiver: Receiver, path: str) -> dict[str, dict[str, Any]]:
    """What reached `path`, by event type."""
    return {r.headers["x-webhook-event"]: json.loads(r.body) for r in receiver.at(path)}


async def test_a_signed_sample_of_each_type_arrives_and_is_reported(
    hookline: Running, receiver: Receiver
) -> None:
    env = await seed_000_catalog(hookline)
    secret = generate_secret()
    ran = await as_a_command("--url", receiver.url("/hook"), "--secret", secret, "--dev", env=env)

    assert ran.code == 0, ran.out + ran.err
    samples = arrived(receiver, "/hook")
    assert sorted(samples) == ["CASCADE_EXHAUSTED", "FUNDING_ANOMALY", "LIQUIDATION_CASCADE"]
    assert samples["LIQUIDATION_CASCADE"]["data"] == CASCADE  # the first example
    assert samples["FUNDING_ANOMALY"]["data"] == FUNDING
    assert samples["CASCADE_EXHAUSTED"]["data"] == {}
    for request in receiver.at("/hook"):
        standardwebhooks.Webhook(secret).verify(request.body, request.headers)
    lines = ran.out.splitlines()
    assert lines[0] == (
        f"hookline test: 3 event types to {receiver.url('/hook')} "
        "(standard, signed in webhook-signature)"
    )
    for name in samples:
        [reported] = [line for line in lines if f" {name} " in line]
        assert re.fullmatch(rf"  ✓ {name} *  200  \d+ ms", reported), reported
    assert lines[-1] == "all 3 succeeded"
    assert secret not in ran.out  # the secret given is not printed


async def test_type_picks_a_group_or_a_name_in_any_case(local: Running, receiver: Receiver) -> None:
    """Seed 000: `webhook_test.py --type cascade` tests the CASCADE source's events."""
    env = await seed_000_catalog(local)
    group = await hookline_test("--url", receiver.url("/g"), "--type", "cascade", "--dev", env=env)
    name = await hookline_test(
        "--url", receiver.url("/n"), "--type", "funding_anomaly", "--dev", env=env
    )

    assert (group.code, name.code) == (0, 0), group.err + name.err
    assert sorted(arrived(receiver, "/g")) == ["CASCADE_EXHAUSTED", "LIQUIDATION_CASCADE"]
    assert sorted(arrived(receiver, "/n")) == ["FUNDING_ANOMALY"]
    # Without --secret, a new one signs, and is printed so the receiver can check.
    [secret] = [line.rsplit(" ", 1)[1] for line in name.out.splitlines() if "new secret" in line]
    [request] = receiver.at("/n")
    standardwebhooks.Webhook(secret).verify(request.body, request.headers)


async def test_failures_are_reported_per_type_and_exit_non_zero(
    local: Running, receiver: Receiver
) -> None:
    env = await seed_000_catalog(local)
    receiver.script("/down", Reply(500, "kaput"))
    failed = await hookline_test(
        "--url", receiver.url("/down"), "--type", "FUNDING", "--dev", env=env
    )
    assert failed.code == 1
    assert "  ✗ FUNDING_ANOMALY  500  " in failed.out
    assert failed.out.splitlines()[-2].endswith(" ms  HTTP 500")
    assert failed.out.splitlines()[-1] == "1 of 1 failed"
    assert len(receiver.at("/down")) == 1  # never retried

    closed = receiver.port
    await receiver.stop()
    refused = await hookline_test(
        "--url", f"http://127.0.0.1:{closed}/", "--type", "FUNDING", "--dev", env=env
    )
    assert refused.code == 1
    reported = refused.out.splitlines()[-2]
    assert re.fullmatch(
        rf"  ✗ FUNDING_ANOMALY  ---  \d+ ms  connection refused by 127.0.0.1:{closed}", reported
    ), reported


async def test_the_ssrf_guard_stands_unless_dev_is_asked_for(
    local: Running, receiver: Receiver
) -> None:
    env = await seed_000_catalog(local)
    guarded = await hookline_test("--url", receiver.url("/guarded"), "--type", "funding", env=env)
    dev = await hookline_test(
        "--url", receiver.url("/dev"), "--type", "funding", env={**env, "HOOKLINE_DEV": "true"}
    )
    assert guarded.code == 1
    assert "blocked by the SSRF guard" in guarded.out
    assert receiver.at("/guarded") == []
    assert dev.code == 0, dev.out + dev.err
    assert len(receiver.at("/dev")) == 1


async def test_an_empty_catalog_says_how_to_add_event_types(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "local.db"
    ran = await hookline_test(
        "--url",
        "http://127.0.0.1:9/",
        "--dev",
        env={"HOOKLINE_DATABASE_URL": f"sqlite:///{missing}"},
    )
    assert ran.code == 2
    assert "no event types in the catalog" in ran.err
    assert "POST /api/v1/event-types" in ran.err
    assert not missing.parent.exists()  # a test creates no database


async def test_an_unknown_type_lists_the_names_and_groups(
    local: Running, receiver: Receiver
) -> None:
    env = await seed_000_catalog(local)
    ran = await hookline_test("--url", receiver.url(), "--type", "volatility", "--dev", env=env)
    assert ran.code == 2
    assert ran.err.strip() == (
        "hookline test: no event type or group is called 'volatility' in "
        f"{local.node.settings.database_url}; event types: CASCADE_EXHAUSTED, "
        "FUNDING_ANOMALY, LIQUIDATION_CASCADE; groups: CASCADE, FUNDING"
    )
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give --url URL"),
        (["--url", "http://127.0.0.1:9/", "--webhook", "wh_x"], "give --url URL"),
        (["--webhook", "wh_x", "--secret", "s" * 20], "--secret: these describe the receiver"),
        (["--url", "http://127.0.0.1:9/", "--secret", "short"], "secret"),
    ],
)
async def test_options_that_cannot_work_are_explained(
    tmp_path: Path, args: list[str], says: str
) -> None:
    ran = await hookline_test(*args, env={"HOOKLINE_DATABASE_URL": f"sqlite:///{tmp_path}/h.db"})
    assert ran.code == 2
    assert ran.err.startswith("hookline test: ")
    assert says in ran.err


async def test_a_seed_000_receiver_verifies_a_sample_signed_in_its_header(
    local: Running, receiver: Receiver
) -> None:
    """`--signature-header H`: the hex HMAC-SHA256 of the body, keyed with the secret's UTF-8
    bytes, as seed 000's `verify_webhook_signature` checks it."""
    env = await seed_000_catalog(local)
    secret = "seed-000-shared-secret"
    ran = await hookline_test(
        "--url",
        receiver.url("/seed"),
        "--type",
        "cascade",
        "--signature-header",
        "X-Webhook-Signature",
        "--secret",
        secret,
        "--dev",
        env=env,
    )
    assert ran.code == 0, ran.out + ran.err
    assert "signed in X-Webhook-Signature" in ran.out
    for request in receiver.at("/seed"):
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["X-Webhook-Signature"], expected)
    assert len(receiver.at("/seed")) == 2


async def test_webhook_goes_through_the_servers_test_send(
    local: Running, receiver: Receiver
) -> None:
    env = await seed_000_catalog(local)
    tenant = await api.tenant(local.client)
    hook = await api.webhook(local.client, tenant["id"], receiver.url("/wh"))
    server = {**env, "HOOKLINE_API_URL": local.base_url, "HOOKLINE_KEY": ADMIN_KEY}

    plain = await hookline_test("--webhook", hook["id"], env=server)
    by_group = await hookline_test("--webhook", hook["id"], "--type", "Cascade", env=server)
    assert plain.code == 0, plain.out + plain.err
    assert plain.out.splitlines()[0] == f"hookline test: {hook['id']} through {local.base_url}"
    assert "  ✓ webhook.test  200  " in plain.out
    assert by_group.code == 0, by_group.out + by_group.err
    assert "  ✓ LIQUIDATION_CASCADE  200  " in by_group.out

    samples = arrived(receiver, "/wh")
    assert sorted(samples) == ["CASCADE_EXHAUSTED", "LIQUIDATION_CASCADE", "webhook.test"]
    assert samples["LIQUIDATION_CASCADE"]["data"] == CASCADE  # the server's first example
    for request in receiver.at("/wh"):
        standardwebhooks.Webhook(hook["secret"]).verify(request.body, request.headers)
    logged = api.ok(await local.client.get(f"/api/v1/webhooks/{hook['id']}/deliveries"))
    assert {d["trigger"] for d in logged["data"]} == {"test"}


async def test_webhook_failures_and_refusals_are_explained(
    local: Running, receiver: Receiver, tmp_path: Path
) -> None:
    env = await seed_000_catalog(local)
    tenant = await api.tenant(local.client)
    receiver.script("/broken", Reply(503))
    hook = await api.webhook(local.client, tenant["id"], receiver.url("/broken"))
    server = {**env, "HOOKLINE_API_URL": local.base_url}

    failed = await hookline_test("--webhook", hook["id"], "--key", ADMIN_KEY, env=server)
    assert failed.code == 1
    assert "  ✗ webhook.test  503  " in failed.out
    assert "HTTP 503" in failed.out

    nowhere = f"http://127.0.0.1:{free_port()}"
    wrong_key = await hookline_test("--webhook", hook["id"], "--key", "hl_" + "x" * 30, env=server)
    unknown = await hookline_test("--webhook", "wh_nope", "--key", ADMIN_KEY, env=server)
    nobody = await hookline_test(
        "--webhook", hook["id"], "--key", ADMIN_KEY, env={**env, "HOOKLINE_API_URL": nowhere}
    )
    assert wrong_key.code == 2
    assert wrong_key.err.startswith(f"hookline test: {local.base_url} answered 401: ")
    assert unknown.code == 2
    assert f"{local.base_url} answered 404: " in unknown.err
    assert nobody.code == 2
    assert nobody.err.startswith(f"hookline test: cannot reach hookline at {nowhere} (")
    assert "--api-url (HOOKLINE_API_URL)" in nobody.err


async def test_format_shapes_the_samples_as_deliveries_are_shaped(
    local: Running, receiver: Receiver
) -> None:
    """Seed 000 sends its object as the body: `--format data`."""
    env = await seed_000_catalog(local)
    ran = await hookline_test(
        "--url", receiver.url("/data"), "--type", "funding", "--format", "data", "--dev", env=env
    )
    assert ran.code == 0, ran.out + ran.err
    assert "(data, signed in webhook-signature)" in ran.out
    [request] = receiver.at("/data")
    assert json.loads(request.body) == FUNDING
    unknown = await hookline_test("--url", receiver.url("/data"), "--format", "xml", env=env)
    assert unknown.code == 2
    assert unknown.err.startswith("hookline test: format: unknown format 'xml'; use one of ")


async def test_seed_000s_webhook_test_from_its_shipped_catalog(
    receiver: Receiver, tmp_path: Path
) -> None:
    """`python webhook_test.py --type cascade`, with the catalog of HOOKLINE_CONFIG (no
    database, no server): seed 000's receiver reads the event's object as the body and checks
    X-Webhook-Signature, the hex HMAC-SHA256 of the body."""
    catalog = SEED_000_CATALOG
    secret = "seed-000-shared-secret"
    database = tmp_path / "hookline.db"
    ran = await hookline_test(
        "--url",
        receiver.url("/webhooks/market-events"),
        "--type",
        "cascade",
        "--format",
        "data",
        "--signature-header",
        "X-Webhook-Signature",
        "--secret",
        secret,
        "--dev",
        env={"HOOKLINE_CONFIG": str(catalog), "HOOKLINE_DATABASE_URL": f"sqlite:///{database}"},
    )
    assert ran.code == 0, ran.out + ran.err
    assert "(data, signed in X-Webhook-Signature)" in ran.out
    [request] = receiver.at("/webhooks/market-events")
    signature = request.headers["X-Webhook-Signature"]
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    event = json.loads(request.body)
    assert (event["event_type"], event["source"], event["symbol"]) == (
        "LIQUIDATION_CASCADE",
        "CASCADE",
        "BTC/USDT",
    )
    assert not database.exists()

    empty = tmp_path / "empty.toml"
    empty.write_text("# nothing declared yet\n")
    none = await hookline_test(
        "--url", receiver.url(), "--dev", env={"HOOKLINE_CONFIG": str(empty)}
    )
    assert none.code == 2
    assert none.err.strip() == (
        f"hookline test: no event types in the catalog of {empty}: declare them as "
        f"[[event_types]] in {empty}, with their examples"
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("[[event_types]]\nname = 5\n")
    bad = await hookline_test(
        "--url", receiver.url(), "--dev", env={"HOOKLINE_CONFIG": str(broken)}
    )
    assert bad.code == 2
    assert bad.err.startswith("hookline test: ")
    assert str(broken) in bad.err
