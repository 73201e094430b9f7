"""Skip markers for tests of issue 11 that need parts other helpers are landing: the `data` and
`template` formats (hookline.formats) and custom signature schemes (hookline.schemes). Each
probes the code itself, so the tests run as soon as the part is there."""

from __future__ import annotations

import pytest

from hookline import formats, schemes
from hookline.errors import HooklineError

ENVELOPE = '{"id":"evt_probe","type":"t","timestamp":"2026-01-01T00:00:00Z","data":{}}'


def _renders(spec: formats.Spec) -> bool:
    try:
        formats.render(spec, ENVELOPE, formats.Context("wh_probe"))
    except (formats.FormatError, HooklineError):
        return False
    return True


def _signs_custom() -> bool:
    try:
        schemes.expand({"header": "X-Probe"})
    except HooklineError:
        return False
    return True


# These need the `data`/`template` formats and custom signature schemes (issue 11's other parts).
needs_data = pytest.mark.skipif(
    not _renders(formats.Spec("data")), reason="waits on the `data` format (hookline.formats)"
)
needs_template = pytest.mark.skipif(
    not _renders(formats.Spec("template", template='{"a": 1}')),
    reason="waits on the `template` format (hookline.formats)",
)
needs_schemes = pytest.mark.skipif(
    not _signs_custom(), reason="waits on custom signature schemes (hookline.schemes)"
)
