"""A clock tests move by hand: real time plus an offset, so a running hookline keeps working
while a test jumps it forward (`advance`) instead of sleeping."""

from __future__ import annotations

import time


class ShiftedClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
