"""Every Block Kit payload and Adaptive Card the suite's fakes accept, kept for the official
validators in tests/test_official_validators.py, which this plugin runs after every other test.

The fakes record each call they accept in `calls`. Each new fake gets a `calls` list that also
hands the call to the collector, under the test that is running, so the fakes stay as they are
and a fake's lifetime does not matter. At the end of the session the payloads are written as
JSON lines to .test-artifacts/payloads/, and counted in the terminal summary.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fake_connector import CARD, FakeConnector
from tests.fake_slack import FakeSlackApi

ARTIFACTS = Path(__file__).resolve().parent.parent / ".test-artifacts"  # gitignored
PAYLOADS = ARTIFACTS / "payloads"
MARK = "official_validators"  # tests/test_official_validators.py: runs last
SLACK_KINDS = ("blocks", "modal", "home")


@dataclass(frozen=True)
class Payload:
    kind: str  # Slack: "blocks" (a message's), "modal", "home" or another view type; Teams: "card"
    source: str  # the test, the fake's method and the call's number in that fake
    body: Any


@dataclass
class Collector:
    payloads: list[Payload] = field(default_factory=list)
    test: str = "(no test)"
    summary: list[str] = field(default_factory=list)  # lines the validators report at the end

    def add(self, kind: str, where: str, body: Any) -> None:
        # A copy of what was sent: nothing that happens later can change it.
        self.payloads.append(Payload(kind, f"{self.test} {where}", json.loads(json.dumps(body))))

    def of(self, *kinds: str) -> list[Payload]:
        return [p for p in self.payloads if p.kind in kinds]

    def slack(self, number: int, call: Any) -> None:
        blocks = call.params.get("blocks")
        if isinstance(blocks, list):
            self.add("blocks", f"{call.method} #{number}", blocks)
        view = call.params.get("view")
        if isinstance(view, dict):
            self.add(str(view.get("type")), f"{call.method} #{number}", view)

    def teams(self, number: int, call: Any) -> None:
        for n, card in enumerate(cards_in(call.body)):
            self.add("card", f"{call.method} #{number} card {n + 1}", card)


def cards_in(node: Any) -> Iterator[dict[str, Any]]:
    """Adaptive Cards anywhere in a connector body (an activity's attachments, a new
    conversation's first activity)."""
    if isinstance(node, dict):
        if node.get("contentType") == CARD and isinstance(node.get("content"), dict):
            yield node["content"]
            return
        for value in node.values():
            yield from cards_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from cards_in(value)


class _Recorded(list[Any]):
    """A fake's `calls`: every call appended is also given to the collector."""

    def __init__(self, calls: list[Any], seen: Callable[[int, Any], None]) -> None:
        super().__init__()
        self._seen = seen
        self.extend(calls)

    def append(self, call: Any) -> None:
        super().append(call)
        self._seen(len(self), call)

    def extend(self, calls: Any) -> None:
        for call in calls:
            self.append(call)


COLLECTOR = pytest.StashKey[Collector]()
_ORIGINAL = pytest.StashKey[dict[type, Callable[..., None]]]()


def _recording(cls: type, seen: Callable[[int, Any], None]) -> Callable[..., None]:
    original: Callable[..., None] = cls.__init__

    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.calls = _Recorded(self.calls, seen)

    cls.__init__ = init
    return original


def pytest_configure(config: pytest.Config) -> None:
    collector = Collector()
    config.stash[COLLECTOR] = collector
    config.stash[_ORIGINAL] = {
        FakeSlackApi: _recording(FakeSlackApi, collector.slack),
        FakeConnector: _recording(FakeConnector, collector.teams),
    }


def pytest_unconfigure(config: pytest.Config) -> None:
    for cls, original in config.stash.get(_ORIGINAL, {}).items():
        cls.__init__ = original


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    item.config.stash[COLLECTOR].test = item.nodeid
    return (yield)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The validators see what the others sent: they run after every other test."""
    last = [item for item in items if item.get_closest_marker(MARK)]
    items[:] = [item for item in items if not item.get_closest_marker(MARK)] + last


@pytest.fixture(scope="session")
def collected(request: pytest.FixtureRequest) -> Collector:
    """What the fakes received so far: everything, when the validators run last."""
    return request.config.stash[COLLECTOR]


def pytest_sessionfinish(session: pytest.Session) -> None:
    collector = session.config.stash.get(COLLECTOR, None)
    if collector is None or not collector.payloads:
        return
    PAYLOADS.mkdir(parents=True, exist_ok=True)
    for name, teams in (("slack", False), ("teams", True)):
        # Written whole, then renamed: another run in the same tree never leaves half a file.
        part = PAYLOADS / f".{name}.{os.getpid()}.part"
        with part.open("w", encoding="utf-8") as out:
            for p in collector.payloads:
                if (p.kind == "card") == teams:
                    line = {"kind": p.kind, "source": p.source, "body": p.body}
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
        part.replace(PAYLOADS / f"{name}.jsonl")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    collector = config.stash.get(COLLECTOR, None)
    if collector is None or not collector.payloads:
        return
    counts = {k: len(collector.of(k)) for k in (*SLACK_KINDS, "card")}
    terminalreporter.write_line(
        f"payloads sent to the fakes: {counts['blocks']} Slack block lists, {counts['modal']} "
        f"modals, {counts['home']} home tabs, {counts['card']} Adaptive Cards "
        f"(in {os.path.relpath(PAYLOADS)})"
    )
    for line in collector.summary:
        terminalreporter.write_line(line)
