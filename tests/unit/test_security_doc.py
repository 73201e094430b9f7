"""docs/security.md names the tests that prove each rule: every one it names must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_the_security_guide_names_exists() -> None:
    guide = (ROOT / "docs" / "security.md").read_text()
    files = set(re.findall(r"`(tests/[\w/]+\.py)`", guide))
    names = set(re.findall(r"`(test_\w+)`", guide))
    assert files
    assert names
    for path in files:
        assert (ROOT / path).is_file(), f"docs/security.md names {path}, which does not exist"
    defined = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    missing = sorted(n for n in names if not re.search(rf"def {n}\b", defined))
    assert missing == [], f"docs/security.md names tests that do not exist: {missing}"
