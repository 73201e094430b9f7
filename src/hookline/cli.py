"""The `hookline` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from hookline import __version__, operate
from hookline.config import Settings
from hookline.errors import ConfigurationError, HooklineError, StoreUnavailable
from hookline.models import CreatedApiKey
from hookline.opscli import stats_command, status_command

if TYPE_CHECKING:
    from hookline.node import Hookline
    from hookline.store import Database
    from hookline.vault import Vault

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


def _setup_logging(level: str, log_format: str | None, settings: Settings) -> None:
    """Logs to stderr: `log_format` (--log-format), else HOOKLINE_LOG_FORMAT."""
    from hookline import logs

    chosen = log_format or settings.log_format
    if chosen not in logs.FORMATS:
        typer.echo(f"hookline: --log-format {chosen!r}: use text or json", err=True)
        raise typer.Exit(2)
    logs.setup(level, chosen)


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


def _announce_declared_secrets(node: Hookline) -> None:
    for where, secret in node.declared.secrets.items():
        typer.echo(
            f"\nThe webhook declared by {where} signs with this secret (shown ONCE; declare "
            f"`secret` or WEBHOOK_SECRET to choose your own):\n\n    {secret}\n"
        )


def _announce_operator_secret(node: Hookline) -> None:
    if node.generated_operator_secret is not None:
        typer.echo(
            "\nOperational events go to HOOKLINE_OPERATOR_WEBHOOK_URL, signed with this secret "
            "(shown ONCE; set HOOKLINE_OPERATOR_WEBHOOK_SECRET to choose your own):"
            f"\n\n    {node.generated_operator_secret}\n"
        )


class StartupFailed(Exception):
    """hookline cannot start; the message says what is wrong and what to do."""


def _shown_url(raw: str) -> str:
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except Exception:
        return "HOOKLINE_DATABASE_URL"


def explain(exc: BaseException, settings: Settings) -> str:
    """One line for a failure to start: what is wrong, and what to do about it."""
    where = _shown_url(settings.database_url)
    if isinstance(exc, StartupFailed):
        return str(exc)
    if isinstance(exc, StoreUnavailable):
        cause = exc.__cause__
        why = f"{cause}" if cause is not None and str(cause) else exc.detail.split(";")[0]
        return (
            f"cannot reach the database at {where} ({why}): check HOOKLINE_DATABASE_URL and "
            "that the database is running"
        )
    if isinstance(exc, HooklineError):
        return exc.detail
    if isinstance(exc, DBAPIError):
        reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
        return (
            f"the database at {where} refused hookline ({reason}): check HOOKLINE_DATABASE_URL "
            "(user, password, database name) and what that user may do"
        )
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return (
        f"unexpected {type(exc).__name__}: {exc} (serve, api and worker show where with "
        "--log-level debug)"
    )


@contextlib.contextmanager
def _failing_clearly(settings: Settings, command: str = "hookline") -> Iterator[None]:
    """Turn any failure in the block into one line on stderr and exit status 2."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        logging.getLogger("hookline.cli").debug("%s failed", command, exc_info=True)
        typer.echo(f"{command}: {explain(exc, settings)}", err=True)
        raise typer.Exit(2) from None


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (uvicorn[standard] brings it), as `uvicorn.run` would use:
    a quarter more sends a second than the standard event loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _run_starting(main: Coroutine[Any, Any, None]) -> None:
    """Run `main`; if it could not start (StartupFailed), say why in one line and exit 2."""
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(main)
    except StartupFailed as exc:
        typer.echo(f"hookline: {exc}", err=True)
        raise typer.Exit(2) from None


def _make_node(settings: Settings, *, run_worker: bool) -> Hookline:
    from hookline.node import Hookline

    if settings.dev:
        typer.secho(
            "WARNING: --dev mode: webhooks may use plain http and reach private and loopback "
            "addresses. Never run --dev where tenants you do not trust can create webhooks.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    with _failing_clearly(settings):
        return Hookline(settings, run_worker=run_worker)


async def _start(node: Hookline, *, announce_admin_key: bool) -> None:
    """Start the node, or raise StartupFailed saying why (the node is stopped again)."""
    try:
        await node.start()
        if announce_admin_key:
            created = await node.service.keys.ensure_admin()
            if created is not None:
                _announce_admin_key(created)
    except Exception as exc:
        logging.getLogger("hookline.cli").debug("start failed", exc_info=True)
        with contextlib.suppress(Exception):
            await node.stop()
        raise StartupFailed(explain(exc, node.settings)) from exc
    _announce_operator_secret(node)
    _announce_declared_secrets(node)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts, so a taken port is said plainly."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupFailed(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}): choose another port "
            "(--port or HOOKLINE_PORT) or stop what is using it"
        ) from None
    return sock


def _run_http(
    settings: Settings, log_level: str, log_format: str | None, *, run_worker: bool
) -> None:
    """The HTTP API (and, with `run_worker`, the delivery worker) until SIGTERM or Ctrl-C.

    The port is bound and the node started before the HTTP server runs, so that any failure
    to start is one line on stderr (exit status 2), not a traceback from inside the server."""
    from hookline.api import create_app

    _setup_logging(log_level, log_format, settings)
    node = _make_node(settings, run_worker=run_worker)
    with _failing_clearly(settings):
        listening = _listen(settings.host, settings.port)
    config = uvicorn.Config(
        create_app(node, manage_node=False),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        log_config=None,  # uvicorn's lines go through hookline's handler (logs.setup)
        server_header=False,
        timeout_graceful_shutdown=int(settings.request_timeout) + 5,
    )
    server = uvicorn.Server(config)

    def stop(*_: object) -> None:
        server.should_exit = True

    # A stop signal while starting ends the server as soon as it runs. Once it runs, uvicorn
    # handles the signals, and re-raises them once it has shut down: this handler makes that
    # a clean exit (after the node has drained) instead of death by signal.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, stop)

    async def run() -> None:
        await _start(node, announce_admin_key=settings.admin_key is None)
        try:
            logging.getLogger("hookline").info(
                "listening on http://%s:%d", settings.host, settings.port
            )
            await server.serve(sockets=[listening])
        finally:
            await node.stop()

    _run_starting(run())


Host = Annotated[str | None, typer.Option(help="Address to listen on.")]
Port = Annotated[int | None, typer.Option(help="Port to listen on.")]
Dev = Annotated[
    bool | None, typer.Option("--dev", help="Allow plain http and private/loopback webhook URLs.")
]
LogLevel = Annotated[str, typer.Option(help="debug, info, warning or error.")]
LogFormat = Annotated[
    str | None,
    typer.Option(
        help="text (readable, the default) or json (one object a line); HOOKLINE_LOG_FORMAT."
    ),
]


@app.command()
def serve(
    host: Host = None,
    port: Port = None,
    dev: Dev = None,
    log_level: LogLevel = "info",
    log_format: LogFormat = None,
) -> None:
    """The HTTP API and the delivery worker in one process: the single-node default."""
    _run_http(load_settings(host=host, port=port, dev=dev), log_level, log_format, run_worker=True)


@app.command()
def api(
    host: Host = None,
    port: Port = None,
    dev: Dev = None,
    log_level: LogLevel = "info",
    log_format: LogFormat = None,
) -> None:
    """The HTTP API only: run any number of these, with workers, on one PostgreSQL database."""
    _run_http(load_settings(host=host, port=port, dev=dev), log_level, log_format, run_worker=False)


@app.command()
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Requests in flight at once (HOOKLINE_WORKER_CONCURRENCY).")
    ] = None,
    dev: Dev = None,
    log_level: LogLevel = "info",
    log_format: LogFormat = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this worker's Prometheus metrics on this port (/metrics)."),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Address for --metrics-port to listen on.")
    ] = "127.0.0.1",
) -> None:
    """The delivery worker only: claims, sends, retries and records, until SIGTERM or Ctrl-C."""
    from hookline.metrics import MetricsServer

    settings = load_settings(worker_concurrency=concurrency, dev=dev)
    _setup_logging(log_level, log_format, settings)
    node = _make_node(settings, run_worker=True)
    exporter = None
    if metrics_port is not None:
        exporter = MetricsServer.of(node.metrics, settings, host=metrics_host, port=metrics_port)

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stop_signal, stop.set)
        await _start(node, announce_admin_key=False)
        if exporter is not None:
            await exporter.start()  # says where, in the log
        logging.getLogger("hookline.worker").info(
            "worker started: %d requests in flight at most", settings.worker_concurrency
        )
        await stop.wait()
        logging.getLogger("hookline.worker").info("stopping: finishing in-flight deliveries")
        if exporter is not None:
            await exporter.stop()
        await node.stop()

    _run_starting(work())


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


def _configured_vault(settings: Settings) -> Vault | None:
    """The vault of HOOKLINE_SECRET_KEY or of an existing key file; None if there is neither
    (an import creates no key of its own: it needs the one the export's secrets were sealed
    with)."""
    from hookline.vault import KEY_FILE, Vault

    key = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    if not key and not (settings.data_dir / KEY_FILE).exists():
        return None
    return Vault.load(key, settings.data_dir)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (serve does this at start too)."""
    from hookline.store.migrate import upgrade

    settings = load_settings()
    with _failing_clearly(settings, "hookline migrate"):
        _on_database(settings, upgrade)
    typer.echo(f"hookline: schema is up to date ({_shown_url(settings.database_url)})")


@app.command("export")
def export_command(
    path: Annotated[str, typer.Argument(help="File to write, or - for standard output.")] = "-",
) -> None:
    """Write the whole installation as JSON Lines (stop hookline first for a clean cut)."""
    from hookline import portable

    settings = load_settings()
    with (
        _failing_clearly(settings, "hookline export"),
        contextlib.nullcontext(sys.stdout)
        if path == "-"
        else open(path, "w", encoding="utf-8") as out,
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
    with (
        _failing_clearly(settings, "hookline import"),
        contextlib.nullcontext(sys.stdin) if path == "-" else open(path, encoding="utf-8") as lines,
    ):
        vault = _configured_vault(settings)
        counts = _on_database(settings, lambda db: portable.import_(db, lines, vault=vault))
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


def _api_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


@app.command("test")
def probe_command(
    url: Annotated[
        str | None, typer.Option(help="Send straight to this receiver (no server needed).")
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(help="Or: test this webhook (wh_...) through a running hookline's API."),
    ] = None,
    type_: Annotated[
        str | None,
        typer.Option("--type", help="Only this event type, or the types of this group (any case)."),
    ] = None,
    format_: Annotated[
        str | None,
        typer.Option("--format", help="The payload format (default: the URL's, as a webhook's)."),
    ] = None,
    secret: Annotated[
        str | None, typer.Option(help="The secret to sign with (default: a new one, printed).")
    ] = None,
    signature_header: Annotated[
        str | None,
        typer.Option(help="Sign with the hex HMAC-SHA256 of the body in this header instead."),
    ] = None,
    dev: Dev = None,
    api_url: Annotated[
        str | None,
        typer.Option(envvar="HOOKLINE_API_URL", help="hookline's address, for --webhook."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(envvar="HOOKLINE_KEY", help="An API key, for --webhook."),
    ] = None,
) -> None:
    """Send a signed sample of each event type (its first example) and print the status and
    latency of each; exit status 1 if any failed."""
    from hookline import probe

    settings = load_settings(dev=dev)
    receiver_options = {
        "--format": format_,
        "--secret": secret,
        "--signature-header": signature_header,
    }
    given = [name for name, value in receiver_options.items() if value is not None]
    if (url is None) == (webhook is None):
        problem = (
            "give --url URL (samples straight to a receiver) or --webhook wh_... (the webhook's "
            "own test send, through a running hookline)"
        )
    elif webhook is not None and given:
        problem = (
            f"{', '.join(given)}: these describe the receiver for --url; --webhook sends as the "
            "webhook is configured (change it with PATCH /api/v1/webhooks/{id})"
        )
    else:
        problem = None
    if problem:
        typer.echo(f"hookline test: {problem}", err=True)
        raise typer.Exit(2)
    with _failing_clearly(settings, "hookline test"):
        try:
            if url is not None:
                outcomes = asyncio.run(
                    probe.to_url(
                        settings,
                        url,
                        type_,
                        format_name=format_,
                        secret=secret,
                        signature_header=signature_header,
                        emit=typer.echo,
                        where=probe.catalog_name(settings, _shown_url(settings.database_url)),
                    )
                )
            else:
                admin = settings.admin_key
                outcomes = probe.through_server(
                    api_url or _api_url(settings),
                    key or (admin.get_secret_value() if admin is not None else None),
                    str(webhook),
                    type_,
                    emit=typer.echo,
                    timeout=settings.longest_timeout + 30,
                )
        except probe.Refused as exc:
            typer.echo(f"hookline test: {exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(probe.summary(outcomes))
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


operate.register(app)  # keys, webhooks, deliveries, purge

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


config_app = typer.Typer(
    help="The declared configuration: HOOKLINE_CONFIG and the seeds' WEBHOOK(S)_* variables."
)
app.add_typer(config_app, name="config")


@config_app.command("check")
def check_config(
    path: Annotated[
        Path | None, typer.Argument(help="The TOML file (default: HOOKLINE_CONFIG).")
    ] = None,
) -> None:
    """Validate a configuration file (or, without one, the seeds' variables only) and print
    what the next start would change (exit status 1 and the line and fix when it is invalid)."""
    from hookline import configcheck, declared

    settings = load_settings()
    path = path or settings.config
    env = declared.environment()
    try:
        file = None if path is None else declared.read_file(path, env)
        report = asyncio.run(configcheck.check(settings, file, env))
    except ConfigurationError as exc:
        typer.echo(f"hookline config check: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    if file is None:
        typer.echo("no HOOKLINE_CONFIG file: the environment's WEBHOOKS_* and WEBHOOK_* are valid")
    else:
        typer.echo(
            f"{path}: valid ({len(file.event_types)} event types, {len(file.tenants)} tenants, "
            f"{len(file.webhooks)} webhooks)"
        )
    if report.note is not None:
        typer.echo(f"note: {report.note}")
    if not report.changes:
        typer.echo("nothing to change")
    for change in report.changes:
        typer.echo(f"  {change}")


app.command("stats")(stats_command)
app.command("status")(status_command)


def main() -> None:
    app()
