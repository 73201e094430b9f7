"""What `import hookline` costs and offers: the client on demand, not on import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hookline
import hookline.client


def test_importing_hookline_does_not_import_the_http_client() -> None:
    probe = (
        "import sys, hookline\n"
        "print(sorted(m for m in ('httpx', 'hookline.client') if m in sys.modules))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert ran.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["AsyncClient", "Client", "HooklineAPIError"])
def test_the_client_names_are_still_hooklines(name: str) -> None:
    assert getattr(hookline, name) is getattr(hookline.client, name)
    assert name in hookline.__all__


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Clinet'"):
        hookline.Clinet  # noqa: B018
