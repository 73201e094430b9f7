"""Generate the blocking client (src/hookline/client/_sync.py) from the asyncio one.

    python scripts/generate_sync_client.py

unasync rewrites `async def`/`await`/`__aenter__` and our names (AsyncClient -> Client,
aclose -> close); ruff formats the result. tests/unit/test_client.py fails when the committed
file differs from what this produces.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import unasync

CLIENT = Path(__file__).resolve().parent.parent / "src" / "hookline" / "client"
SOURCE = CLIENT / "_async.py"
TARGET = CLIENT / "_sync.py"
HEADER = '''"""The blocking client. GENERATED from `_async.py` by
scripts/generate_sync_client.py: edit that file, then run the script."""
'''


def generate() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "_async" / "client.py"
        source.parent.mkdir()
        shutil.copy(SOURCE, source)
        rule = unasync.Rule(
            "/_async/",
            "/_sync/",
            additional_replacements={"AsyncClient": "Client", "aclose": "close"},
        )
        unasync.unasync_files([str(source)], [rule])
        text = (Path(tmp) / "_sync" / "client.py").read_text()
    body = text[text.index('"""', 3) + 3 :].lstrip("\n")  # drop the asyncio module docstring
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(TARGET), "-"],
        input=HEADER + "\n" + body,
        capture_output=True,
        text=True,
        check=True,
    )
    return formatted.stdout


if __name__ == "__main__":
    TARGET.write_text(generate())
    print(f"wrote {TARGET}")
