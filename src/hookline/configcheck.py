"""`hookline config check FILE`: is a HOOKLINE_CONFIG file valid, and what would the next start
change in the configured database (the file and the seeds' variables of the environment)?"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from hookline.config import Settings
from hookline.declared import FileConfig
from hookline.reconcile import Change
from hookline.vault import KEY_FILE


@dataclass(frozen=True)
class Report:
    changes: list[Change]
    note: str | None  # why the changes are against an empty database


def _missing_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and not Path(str(parsed.database)).exists()


async def _reconcile(
    settings: Settings, file: FileConfig | None, env: Mapping[str, str], *, apply: bool
) -> list[Change]:
    from hookline.node import Hookline
    from hookline.reconcile import Reconciler

    node = Hookline(settings, run_worker=False, environ=env)
    try:
        reconciler = Reconciler(node.service, file, env)
        return (await reconciler.apply()).changes if apply else await reconciler.plan()
    finally:
        await node.db.close()


async def _is_current(settings: Settings) -> bool:
    from hookline.store import Database
    from hookline.store.migrate import is_current

    db = Database(settings.database_url, pool_size=1)
    try:
        return await is_current(db)
    finally:
        await db.close()


async def check(settings: Settings, file: FileConfig | None, env: Mapping[str, str]) -> Report:
    """Apply the configuration to an empty scratch database (every rule a start applies, so
    every mistake is found: ConfigurationError), then list what a start would change in the
    configured one. Writes nothing to the configured database."""
    from hookline.store import Database
    from hookline.store.migrate import upgrade

    with tempfile.TemporaryDirectory() as scratch:
        empty = Settings(
            _env_file=None,
            database_url=f"sqlite:///{scratch}/empty.db",
            data_dir=Path(scratch),
            dev=settings.dev,
            allow_http=settings.allow_http,
            allowed_networks=settings.allowed_networks,
            max_request_timeout=settings.max_request_timeout,
            destinations=settings.destinations,  # the kinds declared webhooks may use
            smtp_url=settings.smtp_url,
        )
        db = Database(empty.database_url, pool_size=1)
        try:
            await upgrade(db)
        finally:
            await db.close()
        from_scratch = await _reconcile(empty, file, env, apply=True)
        if _missing_sqlite_file(settings.database_url) or not await _is_current(settings):
            shown = make_url(settings.database_url).render_as_string(hide_password=True)
            note = (
                f"the database at {shown} holds no hookline data yet (or an older schema: run "
                "hookline migrate), so this is against an empty one"
            )
            return Report(from_scratch, note)
        if settings.secret_key is None and not (settings.data_dir / KEY_FILE).exists():
            # No key yet, so no sealed secret: do not create one where serve would look.
            settings = settings.model_copy(update={"data_dir": Path(scratch) / "keys"})
        return Report(await _reconcile(settings, file, env, apply=False), None)
