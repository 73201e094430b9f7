"""Webhook secrets at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`).

The keys come from HOOKLINE_SECRET_KEY (comma-separated: the first encrypts, every one decrypts,
which is how a key is rotated), or from `secret.key` in the data directory, generated with 0600
permissions on first start. See docs/reliability.md, "Secrets at rest".
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hookline.errors import ConfigurationError

KEY_FILE = "secret.key"


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _read_or_create_key_file(data_dir: Path) -> str:
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(key + "\n")
    return key


class Vault:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigurationError("no secret key: set HOOKLINE_SECRET_KEY or a data directory")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError:
            raise ConfigurationError(
                "HOOKLINE_SECRET_KEY must be Fernet keys (32 url-safe base64 bytes each), "
                "comma-separated; make one with: hookline secrets generate-key"
            ) from None
        self._opened: dict[str, str] = {}

    @classmethod
    def load(cls, secret_key: str | None, data_dir: Path) -> Vault:
        if secret_key:
            return cls([part.strip() for part in secret_key.split(",") if part.strip()])
        return cls([_read_or_create_key_file(data_dir)])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, token: str) -> str:
        opened = self._opened.get(token)
        if opened is None:
            try:
                opened = self._fernet.decrypt(token.encode()).decode()
            except InvalidToken:
                raise ConfigurationError(
                    "a webhook secret cannot be decrypted: HOOKLINE_SECRET_KEY (or the key file) "
                    "does not hold the key it was encrypted with"
                ) from None
            if len(self._opened) > 10_000:
                self._opened.clear()
            self._opened[token] = opened
        return opened

    def reseal(self, token: str) -> str:
        """The same secret, encrypted with the first (newest) key."""
        return self._fernet.rotate(token.encode()).decode()
