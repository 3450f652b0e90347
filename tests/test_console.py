"""The embedded default end to end: the demo and the console as real processes, including
being killed mid-session and started again."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from handlers.etiquette import Etiquette
from prompts.catalog import t

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("Sanne", "Ahmed", "Fleur", "Joost", "Noor")


class Process:
    """A `coulisse` process whose output we read line by line as it comes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, times: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.seen) < times:
            try:
                self.seen.append(self.lines.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"never saw {text!r}; got:\n" + "\n".join(self.seen)) from None

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self._close()

    def finish(self, timeout: float = 120) -> int:
        self._close(timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.proc.returncode

    def _close(self, timeout: float = 10) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=10)
        self.proc.stdout.close()


def run_demo(out: Path, *extra: str) -> Process:
    return Process("demo", "--out", str(out), *extra)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_demo_runs_a_whole_regie_session_and_writes_the_summary(tmp_path: Path, lang: str) -> None:
    demo = run_demo(tmp_path, "--lang", lang)
    assert demo.finish() == 0, "\n".join(demo.seen)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    markdown = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert summary["session"]["format"] == "regie" and summary["session"]["status"] == "closed"
    assert summary["participants"]["total"] == 5
    # Five people from five organisations: each alone would be recognisable, so "other".
    assert list(summary["participants"]["by_organisation"].values()) == [5]
    assert [r["pillar"] for r in summary["rounds"]][1:5] == [
        "overview", "insight", "insight", "insight",
    ]  # fmt: skip
    commitments = summary["commitments"]
    assert len(commitments) >= 1
    assert {"owner", "due_date", "mode", "status"} <= set(commitments[0])
    assert {c["mode"] for c in commitments} == {"co_create", "co_produce", "outsource"}
    assert len(summary["causal_links"]) >= 1 and summary["themes"][0]["votes"] > 0
    # Pseudonymized: no participant's name anywhere in what the municipality gets.
    for name in NAMES:
        pattern = re.compile(rf"\b{name}\b")
        assert not pattern.search(json.dumps(summary)) and not pattern.search(markdown)
    assert commitments[0]["text"] in markdown
    table = (tmp_path / "commitments.csv").read_bytes()
    assert table.startswith(b"\xef\xbb\xbf") and table.decode("utf-8-sig").count("\r\n") == 5
    # The insight round: loops of both kinds, leverage as questions, the map as a picture.
    assert {lp["kind"] for lp in summary["loops"]} == {"reinforcing", "balancing"}
    assert summary["loops"][0]["id"] == "B1" and summary["leverage_questions"]
    assert any(c["acts_on"]["loops"] for c in commitments)
    assert sum(v["contributions"] for v in summary["iceberg"].values()) == 4
    svg = (tmp_path / "causal-map.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith(("<?xml", "<svg", "<!--")) and "</svg>" in svg
    assert "```mermaid\nflowchart LR\n" in markdown
    html = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 1 and "(causal-map.svg)" not in markdown  # travels alone
    # The weeks after: nudges in nudges.jsonl, none in quiet hours, weekends or holidays,
    # none sent twice; some skipped, each with its reason.
    nudges = [json.loads(line) for line in (tmp_path / "nudges.jsonl").read_text().splitlines()]
    sent = [n for n in nudges if n["status"] == "sent"]
    assert {"checkin", "overdue", "digest"} <= {n["kind"] for n in sent}
    assert len({n["dedupe_key"] for n in sent}) == len(sent)
    etiquette = Etiquette()
    for n in sent:
        assert etiquette.allows(datetime.fromisoformat(n["sent_at"])), n
        assert n["local_time"].endswith("Europe/Amsterdam")
    skipped = [n for n in nudges if n["status"] == "skipped"]
    assert {"paused", "done"} <= {n["reason"] for n in skipped}
    assert all(n["reason_text"] for n in skipped)
    conversation = "\n".join(demo.seen)
    assert "R1 (" in conversation and "B1 (" in conversation and "causal-map.svg" in conversation


def test_a_killed_demo_resumes_without_losing_or_repeating_anything(tmp_path: Path) -> None:
    clean = run_demo(tmp_path / "clean")
    assert clean.finish() == 0
    expected = json.loads((tmp_path / "clean" / "summary.json").read_text(encoding="utf-8"))

    interrupted = run_demo(tmp_path / "crash", "--pace", "0.05")
    interrupted.wait_for("› /volgende", times=4)  # in the middle of the insight rounds
    interrupted.kill()
    assert not (tmp_path / "crash" / "summary.json").exists()

    resumed = run_demo(tmp_path / "crash", "--resume")
    assert resumed.finish() == 0, "\n".join(resumed.seen)
    got = json.loads((tmp_path / "crash" / "summary.json").read_text(encoding="utf-8"))
    # Pseudonyms are keyed per export on purpose (two exports cannot be joined): compare who
    # owns what by order of first appearance instead.
    assert same_owners(got) == same_owners(expected)
    assert without_owners(got) == without_owners(expected)


def same_owners(summary: dict) -> list[int]:
    order: dict[str, int] = {}
    return [order.setdefault(c["owner"], len(order)) for c in summary["commitments"]]


def without_owners(summary: dict) -> dict:
    return {**summary, "commitments": [{**c, "owner": ""} for c in summary["commitments"]]}


def test_a_killed_console_keeps_every_acknowledged_answer(tmp_path: Path) -> None:
    env = {"COULISSE_DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}"}
    first = Process("console", "--team", "noord", env=env)
    first.wait_for("Coulisse-console")
    for line in ("/as Sanne gemeente", "/as Ahmed wijkteam", "/as Sanne gemeente",
                 "/nieuw Terugblik ; Hoe ging het? ; retro", "/start", "/as Ahmed wijkteam",
                 "Het ging beter dan ik dacht"):  # fmt: skip
        first.send(line)
    first.wait_for("je antwoord is opgeslagen")
    first.kill()

    second = Process("console", "--team", "noord", env=env)
    second.send("/as Sanne gemeente")
    second.send("/status")
    second.wait_for(t("nl", "sessions.shared_count", shared=1, members=2))
    second.send("/volgende")
    second.wait_for("“Het ging beter dan ik dacht”")
    second.send("/quit")
    assert second.finish() == 0
