"""`coulisse serve` on a clock the fault scenario can move: its time is the real time plus
the seconds in the file COULISSE_FAULTS_CLOCK names (read at every look at the clock). The
scenario moves it a day forward for a round close, or ten minutes for downtime, at once; the
server is otherwise the real one (`python tests/faults/serve_moved.py --port N`)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import bot.serve
from bot.cli import app


class FileClock:
    def __init__(self) -> None:
        self.path = Path(os.environ["COULISSE_FAULTS_CLOCK"])

    def now(self) -> datetime:
        try:
            offset = float(self.path.read_text() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return datetime.now(UTC) + timedelta(seconds=offset)


if __name__ == "__main__":
    if os.environ.get("COULISSE_FAULTS_CLOCK"):
        bot.serve.SystemClock = FileClock  # type: ignore[misc, assignment]
    app(["serve", *sys.argv[1:]])
