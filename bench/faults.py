"""The fault suite's figures as one table: runs tests/faults (real `coulisse serve` processes,
kill -9, a throw-away PostgreSQL cluster, a flaky Slack and Teams, a moved clock) and prints,
per scenario, what was lost, what had a second effect, which messages went out twice, and how
late things were (p50/p99 seconds).

    .venv/bin/python bench/faults.py [-k expression]

The same tests run in `make test`, where they assert the figures; here they are collected
(each test appends one JSON line to COULISSE_FAULTS_REPORT) and put side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = [
    ("lost", "lost"),
    ("duplicate_effects", "dup. effects"),
    ("duplicate_messages", "dup. messages"),
    ("lateness_p50_s", "p50 s"),
    ("lateness_p99_s", "p99 s"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only the scenarios pytest -k selects")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = Path(folder) / "faults.jsonl"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   str(ROOT / "tests" / "faults")]  # fmt: skip
        if args.k:
            command += ["-k", args.k]
        started = time.monotonic()
        result = subprocess.run(
            command, cwd=ROOT, env={**os.environ, "COULISSE_FAULTS_REPORT": str(figures)},
            capture_output=True, text=True,
        )  # fmt: skip
        took = time.monotonic() - started
        lines = figures.read_text(encoding="utf-8").splitlines() if figures.exists() else []
    rows = [json.loads(line) for line in lines]
    width = max([len("scenario"), *(len(r["scenario"]) for r in rows)])
    print(f"{'scenario':<{width}}  " + "  ".join(f"{title:>13}" for _k, title in COLUMNS))
    for row in rows:
        cells = "  ".join(f"{row.get(key, '-')!s:>13}" for key, _t in COLUMNS)
        print(f"{row['scenario']:<{width}}  {cells}")
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"\npytest: {summary} ({took:.0f} s)")
    if result.returncode:
        print(result.stdout[-4000:], file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
