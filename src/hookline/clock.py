"""The one clock. Everything that reads the time takes a `Clock` from the top (`serve`, the
embedded `Hookline`, tests), so tests move time instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]  # epoch seconds

system_clock: Clock = time.time
