"""The `hookline` command."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError

from hookline import __version__
from hookline.config import Settings
from hookline.errors import HooklineError
from hookline.models import CreatedApiKey

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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    dev: Annotated[
        bool | None,
        typer.Option("--dev", help="Allow plain http and private/loopback webhook URLs."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the HTTP API and the delivery worker in one process (SQLite by default)."""
    from hookline.api import create_app
    from hookline.node import Hookline

    settings = load_settings(host=host, port=port, dev=dev)
    _setup_logging(log_level)
    if settings.dev:
        typer.secho(
            "WARNING: --dev mode: webhooks may use plain http and reach private and loopback "
            "addresses. Never run --dev where tenants you do not trust can create webhooks.",
            fg=typer.colors.YELLOW,
            err=True,
        )

    async def on_started(node: Hookline) -> None:
        if settings.admin_key is None:
            created = await node.service.keys.ensure_admin()
            if created is not None:
                _announce_admin_key(created)
        if node.generated_operator_secret is not None:
            typer.echo(
                "\nOperational events go to HOOKLINE_OPERATOR_WEBHOOK_URL, signed with this "
                f"secret (shown ONCE; set HOOKLINE_OPERATOR_WEBHOOK_SECRET to choose your own):"
                f"\n\n    {node.generated_operator_secret}\n"
            )

    try:
        node = Hookline(settings)
    except HooklineError as exc:
        typer.echo(f"hookline: {exc.detail}", err=True)
        raise typer.Exit(2) from None
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


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (serve does this at start too)."""
    from hookline.store import Database
    from hookline.store.migrate import upgrade

    settings = load_settings()

    async def run() -> None:
        db = Database(settings.database_url)
        try:
            await upgrade(db)
        finally:
            await db.close()

    asyncio.run(run())
    typer.echo(f"hookline: schema is up to date ({settings.database_url})")


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
