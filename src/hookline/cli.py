"""The `hookline` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import ValidationError

from hookline import __version__
from hookline.config import Settings
from hookline.errors import HooklineError
from hookline.models import CreatedApiKey

if TYPE_CHECKING:
    from hookline.node import Hookline
    from hookline.store import Database

T = TypeVar("T")

app = typer.Typer(
    help="hookline: self-hosted webhook delivery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hookline {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Send events in; hookline stores, signs, delivers, retries and records them."""


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        ]
        typer.echo("hookline: invalid configuration\n" + "\n".join(lines), err=True)
        raise typer.Exit(2) from None


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _announce_admin_key(created: CreatedApiKey) -> None:
    bar = "=" * 72
    typer.echo(
        f"\n{bar}\n"
        "No admin key was configured, so hookline created one. It is shown ONCE:\n\n"
        f"    {created.key}\n\n"
        "Store it now (for example: export HOOKLINE_KEY=...). Set HOOKLINE_ADMIN_KEY to use\n"
        "your own instead.\n"
        f"{bar}\n",
        err=False,
    )


def _announce_operator_secret(node: Hookline) -> None:
    if node.generated_operator_secret is not None:
        typer.echo(
            "\nOperational events go to HOOKLINE_OPERATOR_WEBHOOK_URL, signed with this secret "
            "(shown ONCE; set HOOKLINE_OPERATOR_WEBHOOK_SECRET to choose your own):"
            f"\n\n    {node.generated_operator_secret}\n"
        )


def _make_node(settings: Settings, *, run_worker: bool) -> Hookline:
    from hookline.node import Hookline

    if settings.dev:
        typer.secho(
            "WARNING: --dev mode: webhooks may use plain http and reach private and loopback "
            "addresses. Never run --dev where tenants you do not trust can create webhooks.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    try:
        return Hookline(settings, run_worker=run_worker)
    except HooklineError as exc:
        typer.echo(f"hookline: {exc.detail}", err=True)
        raise typer.Exit(2) from None


def _run_http(settings: Settings, log_level: str, *, run_worker: bool) -> None:
    """The HTTP API (and, with `run_worker`, the delivery worker) until SIGTERM or Ctrl-C."""
    from hookline.api import create_app

    _setup_logging(log_level)
    node = _make_node(settings, run_worker=run_worker)

    async def on_started(started: Hookline) -> None:
        if settings.admin_key is None:
            created = await started.service.keys.ensure_admin()
            if created is not None:
                _announce_admin_key(created)
        _announce_operator_secret(started)

    config = uvicorn.Config(
        create_app(node, on_started=on_started),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        server_header=False,
        timeout_graceful_shutdown=int(settings.request_timeout) + 5,
    )
    # uvicorn re-raises the stop signal once it has shut down (and the node has drained);
    # a handler of ours makes that a clean exit instead of death by signal.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: None)
    uvicorn.Server(config).run()


Host = Annotated[str | None, typer.Option(help="Address to listen on.")]
Port = Annotated[int | None, typer.Option(help="Port to listen on.")]
Dev = Annotated[
    bool | None, typer.Option("--dev", help="Allow plain http and private/loopback webhook URLs.")
]
LogLevel = Annotated[str, typer.Option(help="debug, info, warning or error.")]


@app.command()
def serve(
    host: Host = None, port: Port = None, dev: Dev = None, log_level: LogLevel = "info"
) -> None:
    """The HTTP API and the delivery worker in one process: the single-node default."""
    _run_http(load_settings(host=host, port=port, dev=dev), log_level, run_worker=True)


@app.command()
def api(
    host: Host = None, port: Port = None, dev: Dev = None, log_level: LogLevel = "info"
) -> None:
    """The HTTP API only: run any number of these, with workers, on one PostgreSQL database."""
    _run_http(load_settings(host=host, port=port, dev=dev), log_level, run_worker=False)


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Requests in flight at once (HOOKLINE_WORKER_CONCURRENCY).")
    ] = None,
    dev: Dev = None,
    log_level: LogLevel = "info",
) -> None:
    """The delivery worker only: claims, sends, retries and records, until SIGTERM or Ctrl-C."""
    settings = load_settings(worker_concurrency=concurrency, dev=dev)
    _setup_logging(log_level)
    node = _make_node(settings, run_worker=True)

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stop_signal, stop.set)
        await node.start()
        _announce_operator_secret(node)
        logging.getLogger("hookline.worker").info(
            "worker started: %d requests in flight at most", settings.worker_concurrency
        )
        await stop.wait()
        logging.getLogger("hookline.worker").info("stopping: finishing in-flight deliveries")
        await node.stop()

    asyncio.run(work())


def _on_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` against the configured database, closing it after."""
    from hookline.store import Database

    async def run() -> T:
        db = Database(settings.database_url, pool_size=settings.database_pool_size)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (serve does this at start too)."""
    from hookline.store.migrate import upgrade

    settings = load_settings()
    _on_database(settings, upgrade)
    typer.echo(f"hookline: schema is up to date ({settings.database_url})")


@app.command("export")
def export_command(
    path: Annotated[str, typer.Argument(help="File to write, or - for standard output.")] = "-",
) -> None:
    """Write the whole installation as JSON Lines (stop hookline first for a clean cut)."""
    from hookline import portable

    settings = load_settings()
    with (
        contextlib.nullcontext(sys.stdout)
        if path == "-"
        else open(path, "w", encoding="utf-8") as out
    ):
        counts = _on_database(settings, lambda db: portable.export(db, out))
    summary = ", ".join(f"{n} {table}" for table, n in counts.items())
    typer.echo(f"hookline: exported {summary}", err=True)


@app.command("import")
def import_command(
    path: Annotated[str, typer.Argument(help="An export file, or - for standard input.")],
) -> None:
    """Load an export into a new, empty database at HOOKLINE_DATABASE_URL."""
    from hookline import portable

    settings = load_settings()
    try:
        with (
            contextlib.nullcontext(sys.stdin)
            if path == "-"
            else open(path, encoding="utf-8") as lines
        ):
            counts = _on_database(settings, lambda db: portable.import_(db, lines))
    except (HooklineError, OSError) as exc:
        typer.echo(f"hookline import: {getattr(exc, 'detail', exc)}", err=True)
        raise typer.Exit(2) from None
    summary = ", ".join(f"{n} {table}" for table, n in counts.items())
    typer.echo(f"hookline: imported {summary}")


@app.command()
def listen(
    secret: Annotated[str, typer.Option(help="The webhook's whsec_... secret.")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    status: Annotated[int, typer.Option(help="Status to answer verified requests with.")] = 200,
) -> None:
    """Receive webhooks locally: verify each signature and print the event."""
    from hookline import listen as listener

    try:
        asyncio.run(listener.serve(host, port, secret, status=status))
    except ValueError as exc:
        typer.echo(f"hookline listen: {exc}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass


secrets_app = typer.Typer(help="The key that encrypts webhook secrets at rest.")
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("generate-key")
def generate_secret_key() -> None:
    """Print a new key for HOOKLINE_SECRET_KEY."""
    from hookline.vault import generate_key

    typer.echo(generate_key())


@secrets_app.command("rotate")
def rotate_secret_key() -> None:
    """Re-encrypt every webhook secret with the first key of HOOKLINE_SECRET_KEY.

    Rotation: put the new key first, keep the old one after it (HOOKLINE_SECRET_KEY=new,old),
    restart, run this, then drop the old key."""
    from hookline.node import Hookline

    settings = load_settings()

    async def run() -> int:
        node = Hookline(settings, run_worker=False)
        try:
            await node.check_vault()
            return await node.service.webhooks.reseal_secrets()
        finally:
            await node.db.close()

    try:
        count = asyncio.run(run())
    except HooklineError as exc:
        typer.echo(f"hookline secrets rotate: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"hookline: re-encrypted the secrets of {count} webhooks with the first key")


def main() -> None:
    app()
