import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_blocking_client_is_generated_from_the_asyncio_one() -> None:
    generate = runpy.run_path(str(ROOT / "scripts" / "generate_sync_client.py"))["generate"]
    committed = (ROOT / "src" / "hookline" / "client" / "_sync.py").read_text()
    assert generate() == committed, "run: python scripts/generate_sync_client.py"
