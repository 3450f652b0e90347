"""`coulisse map analyze` loads only what the analysis needs: no Slack, Teams or OpenAI code.

`bot/__init__.py` registers every platform's id patterns for redaction, so the two small
`bot.slack.ids` and `bot.teams.ids` modules (regular expressions, nothing else) are allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"bot.slack", "bot.slack.ids", "bot.teams", "bot.teams.ids"}
FORBIDDEN = ("slack_bolt", "slack_sdk", "botbuilder", "openai", "bot.slack", "bot.teams")


def test_map_analyze_imports_no_platform_code(tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_text("from,to,polarity\na,b,+\nb,a,-\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "map", "analyze", str(small)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "handlers.loops" in modules  # the log is read right
    platform = sorted(m for m in modules if m.startswith(FORBIDDEN) and m not in ALLOWED)
    assert platform == []
