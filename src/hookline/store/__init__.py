"""The store: every SQL statement hookline runs lives in this package.

`Database` hands out transactions; the modules named after tables take a connection and return
records from `hookline.models` (or plain rows on the delivery hot path)."""

from hookline.store.database import Database

__all__ = ["Database"]
