"""Official validators, written by Microsoft and Slack, over every payload the suite sent to its
fakes (tests/payloads.py runs these tests last) and over the renderers' own representative set:

- Teams: every Adaptive Card through Microsoft's renderer (npm `adaptivecards`) in headless
  Debian Chromium, parsed for the card version the bot declares, validated and rendered;
- Slack: every message's blocks and every view declared with @slack/types' types, under
  `tsc --strict`.

package.json pins the npm packages (`make test` runs `npm ci`); Chromium comes from Debian.
Without them these tests skip, saying what to install; with CI=true they fail instead.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import aiohttp
import pytest

from bot.slack import blocks as slack_blocks
from bot.teams import cards as teams_cards
from handlers import messages as m
from tests import browser, test_teams_cards
from tests.fake_connector import FakeConnector
from tests.fake_slack import FakeSlackApi, on_loopback
from tests.payloads import ARTIFACTS, Collector, Payload

pytestmark = pytest.mark.official_validators  # tests/payloads.py runs these last (MARK)

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
RENDERER = NODE_MODULES / "adaptivecards" / "dist"
TSC = NODE_MODULES / ".bin" / "tsc"
SCREENSHOTS = ARTIFACTS / "cards"


def unavailable(what: str) -> NoReturn:
    """Skip with what to install; in CI these tests must run."""
    browser.unavailable(what, "the official validators")


def npm_version(package: str) -> str:
    return str(json.loads((NODE_MODULES / package / "package.json").read_text())["version"])


def need_node(*packages: str) -> None:
    if shutil.which("node") is None:
        unavailable("Node.js is missing: apt-get install nodejs npm, then `npm ci` (make test)")
    for package in packages:
        if not (NODE_MODULES / package / "package.json").exists():
            unavailable(f"npm package {package} is missing: run `npm ci` (make test does)")


def distinct(payloads: list[Payload]) -> list[tuple[Payload, list[str]]]:
    """Each different payload once, with every place it was sent from."""
    seen: dict[str, tuple[Payload, list[str]]] = {}
    for p in payloads:
        key = p.kind + json.dumps(p.body, sort_keys=True)
        seen.setdefault(key, (p, []))[1].append(p.source)
    return list(seen.values())


def where(sources: list[str]) -> str:
    more = f" (and {len(sources) - 1} more)" if len(sources) > 1 else ""
    return sources[0] + more


def split_known(lines: list[str], known: dict[str, str]) -> tuple[list[str], list[str]]:
    """(unexpected, known): a line is known when it holds one of `known`'s exact words."""
    unexpected = [line for line in lines if not any(k in line for k in known)]
    return unexpected, [line for line in lines if line not in unexpected]


def xfail_if_known(found: list[str], known: dict[str, str]) -> None:
    """Only known problems left: expected to fail, naming each one, until it is fixed."""
    if found:
        reasons = sorted({why for k, why in known.items() if any(k in line for line in found)})
        pytest.xfail(f"known ({len(found)} findings): " + "; ".join(reasons))


# --- the renderers' representative set ---------------------------------------------------------

PEOPLE = [("29:U1", "Sanne de Vries"), ("29:U2", "Ahmed El Amrani")]
REVEAL = m.message(
    m.Heading("Ronde 2 van 5: Wat zien we?"),
    m.Text("Jullie antwoorden, zonder namen:"),
    m.Quote("Gezinnen wachten maanden op een eerste gesprek."),
    m.Quote("We weten niet van elkaar wie er al betrokken is."),
    m.Quote("[klik](https://evil.example) <@U1> &amp;"),
    m.Choices((m.Action("next", "Volgende ronde", "2", "primary"),)),
)


def neutral_messages() -> list[tuple[str, m.Message]]:
    """The messages tests/test_teams_cards.py renders (its parametrisation), and a reveal."""
    test = test_teams_cards.test_every_card_validates_against_adaptive_cards_1_5
    marks = [mark for mark in getattr(test, "pytestmark", []) if mark.name == "parametrize"]
    assert marks, "tests/test_teams_cards.py no longer parametrises its card test with messages"
    found = list(zip(marks[0].kwargs["ids"], marks[0].args[1], strict=True))
    return [*found, ("reveal", REVEAL)]


def representative() -> list[Payload]:
    out: list[Payload] = []
    for name, msg in neutral_messages():
        source = f"renderer: {name}"
        for n, card in enumerate(
            teams_cards.render(msg, origin="19:c@thread.tacv2", people=PEOPLE)
        ):
            out.append(Payload("card", f"{source} card {n + 1}", card))
        for n, part in enumerate(slack_blocks.render(msg, "(kaart als bijlage)")):
            out.append(Payload("blocks", f"{source} message {n + 1}", part))
        for form in (b for b in msg.blocks if isinstance(b, m.Form)):
            out.append(
                Payload("modal", f"{source} modal {form.id}", slack_blocks.modal(form, "C1"))
            )
        out.append(Payload("home", f"{source} home", slack_blocks.home(msg)))
    return out


@pytest.fixture(scope="module")
def payloads(collected: Collector) -> list[Payload]:
    collected.payloads += representative()
    return collected.payloads


async def test_the_fakes_hand_what_they_accept_to_the_collector(
    collected: Collector, request: pytest.FixtureRequest
) -> None:
    """The capture itself: each kind of call, as the bot makes it, arrives named by its test."""
    msg = m.message(m.Text("hallo"))
    blocks, home, card = (
        slack_blocks.render(msg)[0],
        slack_blocks.home(msg),
        teams_cards.render(msg)[0],
    )
    before = len(collected.payloads)
    api, connector = FakeSlackApi(), FakeConnector()
    async with (
        on_loopback(api.app()) as slack,
        on_loopback(connector.app()) as teams,
        aiohttp.ClientSession() as session,
    ):
        posts = [
            session.post(f"{slack}/api/chat.postMessage", json={"channel": "C1", "blocks": blocks}),
            session.post(
                f"{slack}/api/views.publish", data={"user_id": "U1", "view": json.dumps(home)}
            ),
            session.post(
                f"{teams}/v3/conversations/a:1/activities", json=teams_cards.activity(card)
            ),
        ]
        for post in posts:
            async with post as response:
                assert response.status in (200, 201), await response.text()
    test = request.node.nodeid
    assert [(p.kind, p.source, p.body) for p in collected.payloads[before:]] == [
        ("blocks", f"{test} chat.postMessage #1", blocks),
        ("home", f"{test} views.publish #2", home),
        ("card", f"{test} send #1 card 1", card),
    ]


# --- Teams: Microsoft's Adaptive Cards renderer in Chromium ------------------------------------

# One function on the page: parse for the declared version, validate, render. Every event the
# library logs is an issue; `source` names the element it is about.
CHECK_JS = """
window.coulisseCheck = (cards, major, minor) => cards.map((json) => {
  const AC = window.AdaptiveCards;
  const issues = [];
  const note = (e) => {
    const about = e.source && e.source.getJsonTypeName
      ? ` [${e.source.getJsonTypeName()}${e.source.id ? " " + e.source.id : ""}]` : "";
    const kind = `${AC.ValidationPhase[e.phase]} ${AC.ValidationEvent[e.event]}`;
    issues.push(`${kind}: ${e.message}${about}`);
  };
  try {
    const version = new AC.Version(major, minor);
    const context = new AC.SerializationContext(version);
    const card = new AC.AdaptiveCard();
    card.maxVersion = version;
    card.parse(json, context);
    for (let i = 0; i < context.eventCount; i++) note(context.getEventAt(i));
    card.validateProperties().validationEvents.forEach(note);
    const rendered = card.render();
    if (!rendered) issues.push("Render: the renderer made nothing of it");
  } catch (error) {
    issues.push(`Exception: ${error}`);
  }
  return issues;
});
window.coulisseShow = (json) => {
  const card = new window.AdaptiveCards.AdaptiveCard();
  card.parse(json);
  document.getElementById("card").replaceChildren(card.render());
};
"""
PAGE = """<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:0;background:#f5f5f5;font-family:'DejaVu Sans',sans-serif">
<div id="card" style="width:520px;background:#fff;padding:8px"></div></body></html>"""


def _only_local(route: Any) -> None:
    """Nothing from the network: the renderer and the page come from this machine."""
    if route.request.url.startswith(("data:", "about:", "file:")):
        route.continue_()
    else:
        route.abort()


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A page in headless Debian Chromium with adaptivecards loaded from node_modules."""
    need_node("adaptivecards")
    browser.need_chromium("the official validators")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(**browser.launch_options(profile))
        try:
            page = context.new_page()
            page.route("**/*", _only_local)
            page.set_content(PAGE)
            page.add_style_tag(path=RENDERER / "adaptivecards.css")
            page.add_script_tag(path=RENDERER / "adaptivecards.min.js")
            page.add_script_tag(content=CHECK_JS)
            yield page
        finally:
            context.close()


def card_issues(page: Any, cards: list[dict[str, Any]]) -> list[list[str]]:
    """What Microsoft's renderer says of each card, for the version the bot declares."""
    major, minor = (int(n) for n in teams_cards.VERSION.split("."))
    issues: list[list[str]] = []
    for start in range(0, len(cards), 200):
        chunk = cards[start : start + 200]
        issues += page.evaluate(
            "([cards, major, minor]) => window.coulisseCheck(cards, major, minor)",
            [chunk, major, minor],
        )
    return issues


def title(card: dict[str, Any]) -> str:
    """The card's first words, to recognise it by."""
    runs = re.findall(r'"type": "TextRun", "text": "((?:[^"\\]|\\.)*)"', json.dumps(card))
    return (runs[0][:60] if runs else "(no text)").replace("\\n", " ")


# Real problems in bot/teams/cards.py, reported and being fixed elsewhere: each expected here by its
# exact words until it is gone (then taken out, so that it cannot come back unseen). Any other
# issue fails. Was: "RequiredInputsShouldHaveErrorMessage" (required inputs had no errorMessage).
KNOWN_CARD_ISSUES: dict[str, str] = {}


def report_cards(found: list[tuple[Payload, list[str], list[str]]]) -> list[str]:
    """One line per card and issue."""
    return [
        f'card "{title(payload.body)}" from {where(sources)}: {issue}'
        for payload, sources, issues in found
        for issue in issues
    ]


def test_every_adaptive_card_passes_microsofts_renderer(
    renderer: Any, payloads: list[Payload], collected: Collector
) -> None:
    started = time.monotonic()
    cards = distinct([p for p in payloads if p.kind == "card"])
    assert cards, "no Adaptive Card to validate"
    issues = card_issues(renderer, [p.body for p, _ in cards])
    found = [(p, sources, i) for (p, sources), i in zip(cards, issues, strict=True) if i]
    unexpected, known = split_known(report_cards(found), KNOWN_CARD_ISSUES)
    screenshots(renderer, [p.body for p, _ in cards])
    total = sum(len(sources) for _, sources in cards)
    collected.summary.append(
        f"adaptivecards {npm_version('adaptivecards')} in Chromium: {total} Adaptive Cards "
        f"({len(cards)} distinct), {len(found)} with issues, {time.monotonic() - started:.1f} s"
    )
    assert not unexpected, "\n".join(unexpected[:40])
    xfail_if_known(known, KNOWN_CARD_ISSUES)


def test_the_renderer_finds_what_is_wrong_with_a_card(renderer: Any) -> None:
    """A check that cannot fail is no check: broken cards must come back with their issues."""
    good = teams_cards.render(m.message(m.Text("hallo")))[0]
    unknown = {**good, "body": [*good["body"], {"type": "Input.Slider", "id": "x"}]}
    unlabelled = {**good, "body": [{"type": "Input.Text", "id": "t", "isRequired": True}]}
    too_new = {**good, "version": "1.6"}
    newer = {"type": "Input.Text", "id": "s", "label": "Zoek", "inputStyle": "RevealOnHover"}
    newer_property = {**good, "body": [newer]}  # inputStyle is 1.6
    duplicate = {**good, "body": [{"type": "Input.Text", "id": "d"}] * 2}
    issues = card_issues(renderer, [good, unknown, unlabelled, too_new, newer_property, duplicate])
    assert issues[0] == []
    assert any("UnknownElementType" in i and "Input.Slider" in i for i in issues[1]), issues[1]
    assert any("RequiredInputsShouldHaveLabel" in i for i in issues[2]), issues[2]
    assert any("RequiredInputsShouldHaveErrorMessage" in i for i in issues[2]), issues[2]
    assert any("UnsupportedCardVersion" in i for i in issues[3]), issues[3]
    assert any("UnsupportedProperty" in i and "inputStyle" in i for i in issues[4]), issues[4]
    assert any("DuplicateId" in i for i in issues[5]), issues[5]
    # And the test's report names the card and the issue.
    payload = Payload("card", "tests/x.py::test_y send #3 card 1", unlabelled)
    lines = report_cards([(payload, [payload.source], issues[2])])
    assert lines[0].startswith('card "(no text)" from tests/x.py::test_y send #3 card 1: ')


def _pick(cards: list[dict[str, Any]], test: Any) -> dict[str, Any] | None:
    return next((c for c in cards if test(json.dumps(c))), None)


def screenshots(page: Any, cards: list[dict[str, Any]]) -> None:
    """A few key cards as Teams' renderer draws them, to look at: .test-artifacts/cards/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink(missing_ok=True)  # another run in the same tree may be at it too
    key = {  # the first card of each kind, the suite's own before the renderers' set
        "ballot": _pick(cards, lambda s: '"verb": "vote"' in s and '"Input.' not in s)
        or _pick(cards, lambda s: '"verb": "vote"' in s),
        "form": _pick(cards, lambda s: '"id": "new_session:' in s and '"verb": "vote"' not in s)
        or _pick(cards, lambda s: '"Input.Text"' in s),
        "reveal": _pick(cards, lambda s: s.count('"style": "emphasis"') >= 3),
        "commitment": _pick(cards, lambda s: '"id": "commit:' in s),
    }
    for name, card in key.items():
        if card is not None:
            page.evaluate("(card) => window.coulisseShow(card)", card)
            page.locator("#card").screenshot(path=SCREENSHOTS / f"{name}.png")


# --- Slack: @slack/types under tsc --strict ----------------------------------------------------

TS_HEADER = """import type { HomeView, KnownBlock, ModalView } from "@slack/types";
// @slack/types' views take AnyBlock, which admits any {type: string}: only known blocks here.
type Modal = Omit<ModalView, "blocks"> & { blocks: KnownBlock[] };
type Home = Omit<HomeView, "blocks"> & { blocks: KnownBlock[] };
"""
TS_TYPES = {"blocks": "KnownBlock[]", "modal": "Modal", "home": "Home"}
TS_ERROR = re.compile(r"^payloads\.ts\((\d+),(\d+)\): (error .*)$")

# Real problems in bot/slack/blocks.py that tsc finds, being fixed elsewhere (see the Teams list).
KNOWN_SLACK_ISSUES: dict[str, str] = {}


def typescript(payloads: list[tuple[Payload, list[str]]]) -> tuple[str, dict[int, int]]:
    """One typed constant per payload, and which payload each line of the file holds."""
    lines = TS_HEADER.splitlines()
    line_of: dict[int, int] = {}
    for n, (p, sources) in enumerate(payloads):
        kind = TS_TYPES.get(p.kind, "Modal | Home")
        lines.append("// " + " ".join(where(sources).split()))
        lines.append(f"export const p{n}: {kind} = {json.dumps(p.body, ensure_ascii=False)};")
        line_of[len(lines)] = n
    return "\n".join(lines) + "\n", line_of


def tsc_problems(folder: Path, payloads: list[tuple[Payload, list[str]]]) -> list[tuple[int, str]]:
    """(payload number, tsc's message) for every error tsc --strict reports."""
    source, line_of = typescript(payloads)
    (folder / "payloads.ts").write_text(source, encoding="utf-8")
    if not (folder / "node_modules").exists():
        (folder / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    command = [str(TSC), "--strict", "--noEmit", "--pretty", "false", "--target", "es2022",
               "--module", "nodenext", "--moduleResolution", "nodenext", "payloads.ts"]  # fmt: skip
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)
    problems: list[tuple[int, str]] = []
    for line in done.stdout.splitlines():
        found = TS_ERROR.match(line)
        if found:
            number = line_of.get(int(found[1]), -1)
            problems.append((number, f"column {found[2]}: {found[3]}"))
        elif problems and line.startswith(" "):  # a message's further lines
            number, text = problems[-1]
            problems[-1] = (number, f"{text} {line.strip()}")
    if done.returncode != 0 and not problems:
        problems.append((-1, f"tsc failed: {done.stdout}{done.stderr}"))
    return problems


def report_slack(
    payloads: list[tuple[Payload, list[str]]], problems: list[tuple[int, str]]
) -> list[str]:
    """One line per payload and error."""
    return [
        f"{payloads[n][0].kind} p{n} from {where(payloads[n][1])}: {text}" if n >= 0 else text
        for n, text in problems
    ]


@pytest.fixture(scope="module")
def tsc_ready() -> None:
    need_node("@slack/types", "typescript")


def test_every_slack_payload_type_checks_against_slack_types(
    tsc_ready: None, payloads: list[Payload], collected: Collector, tmp_path: Path
) -> None:
    started = time.monotonic()
    slack = distinct([p for p in payloads if p.kind != "card"])
    assert slack, "no Slack payload to check"
    problems = tsc_problems(tmp_path, slack)
    unexpected, known = split_known(report_slack(slack, problems), KNOWN_SLACK_ISSUES)
    counts = {k: sum(len(s) for p, s in slack if p.kind == k) for k in TS_TYPES}
    collected.summary.append(
        f"@slack/types {npm_version('@slack/types')} with tsc {npm_version('typescript')} "
        f"--strict: {counts['blocks']} block lists, {counts['modal']} modals, {counts['home']} "
        f"home tabs ({len(slack)} distinct), {len(problems)} errors, "
        f"{time.monotonic() - started:.1f} s"
    )
    assert not unexpected, "\n".join(unexpected[:40])
    xfail_if_known(known, KNOWN_SLACK_ISSUES)


def test_tsc_finds_what_is_wrong_with_a_slack_payload(tsc_ready: None, tmp_path: Path) -> None:
    """Broken payloads must fail tsc, each named."""
    text = {"type": "plain_text", "text": "Stem"}
    good = slack_blocks.render(m.message(m.Heading("Kop"), m.Text("tekst")))[0]
    loud = [{"type": "actions", "elements": [
        {"type": "button", "text": text, "action_id": "a", "style": "loud"}]}]  # fmt: skip
    mrkdwn_header = [{"type": "header", "text": {"type": "mrkdwn", "text": "*Kop*"}}]
    unknown_field = {"type": "modal", "title": text, "blocks": [], "colour": "red"}
    cases = [
        Payload("blocks", "good", good),
        Payload("blocks", "loud", loud),
        Payload("blocks", "header", mrkdwn_header),
        Payload("modal", "unknown", unknown_field),
        Payload("unknown", "what-view", {"type": "sheet", "blocks": []}),
    ]
    problems = tsc_problems(tmp_path, [(p, [p.source]) for p in cases])
    by_payload = {n: text for n, text in problems}
    assert set(by_payload) == {1, 2, 3, 4}, problems
    assert "loud" in by_payload[1] and "plain_text" in by_payload[2], problems
    assert "colour" in by_payload[3], problems
    lines = report_slack([(p, [p.source]) for p in cases], problems)
    assert lines[0].startswith("blocks p1 from loud: column "), lines
