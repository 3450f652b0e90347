"""Every payload sent to the fake Slack, checked against bot/slack/limits.py.

The fake answers a payload over Slack's limits as Slack does (`invalid_blocks`,
`msg_blocks_too_long`, `invalid_arguments`) and records why; a message without its top-level
`text`, which Slack takes with a warning, is recorded too. `within_slack_limits` fails a test
whose Slack stack was sent anything of either, and counts what it checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.slack import limits as lim

MESSAGES = ("chat.postMessage", "chat.postEphemeral", "chat.update")
Problem = tuple[str, str]  # (the error Slack answers, or "" for a warning; what is wrong)


def _over(value: Any, limit: lim.Limit, where: str, error: str) -> list[Problem]:
    size = len(value) if isinstance(value, str | list) else 0
    return [(error, f"{where}: {size} > {limit.value} {limit.what}")] if size > limit.value else []


def _text(obj: Any, limit: lim.Limit, where: str) -> list[Problem]:
    """A text object: present, not empty, not too long."""
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [("invalid_blocks", f"{where}: no text object")]
    if len(obj["text"]) < lim.TEXT_MIN.value:
        return [("invalid_blocks", f"{where}: empty text")]
    return _over(obj["text"], limit, where, "invalid_blocks")


def _option(option: Any, where: str) -> list[Problem]:
    return _text(option.get("text"), lim.OPTION_TEXT, f"{where} option") + _over(
        option.get("value", ""), lim.OPTION_VALUE, f"{where} option value", "invalid_blocks"
    )


def _element(element: dict[str, Any], where: str) -> list[Problem]:
    found = _over(element.get("action_id", ""), lim.ACTION_ID, where, "invalid_blocks")
    kind = element.get("type")
    if kind == "button":
        found += _text(element.get("text"), lim.BUTTON_TEXT, f"{where} button")
        found += _over(element.get("value", ""), lim.BUTTON_VALUE, where, "invalid_blocks")
    elif kind == "plain_text_input":
        longest = element.get("max_length", lim.TEXT_INPUT_MAX.value)
        if not 1 <= longest <= lim.TEXT_INPUT_MAX.value:
            found.append(("invalid_arguments", f"{where}: max_length {longest}"))
        initial = element.get("initial_value") or ""
        if len(initial) > longest:
            found.append(("invalid_arguments", f"{where}: initial value over max_length"))
    elif kind in ("static_select", "multi_static_select"):
        options = element.get("options") or []
        groups = element.get("option_groups") or []
        found += _over(options, lim.OPTIONS, where, "invalid_blocks")
        found += _over(groups, lim.OPTION_GROUPS, where, "invalid_blocks")
        for group in groups:
            found += _text(group.get("label"), lim.GROUP_LABEL, f"{where} group")
            found += _over(
                group.get("options", []), lim.OPTIONS, f"{where} group", "invalid_blocks"
            )
            options = [*options, *group.get("options", [])]
        for option in options:
            found += _option(option, where)
    return found


def block_problems(block: dict[str, Any], where: str) -> list[Problem]:
    found = _over(block.get("block_id", ""), lim.BLOCK_ID, where, "invalid_blocks")
    kind = block.get("type")
    if kind == "section":
        fields = block.get("fields") or []
        if "text" in block:
            found += _text(block["text"], lim.SECTION_TEXT, f"{where} section")
        elif not fields:
            found.append(("invalid_blocks", f"{where}: a section without text or fields"))
        found += _over(fields, lim.SECTION_FIELDS, where, "invalid_blocks")
        for field in fields:
            found += _text(field, lim.FIELD_TEXT, f"{where} field")
    elif kind == "header":
        found += _text(block.get("text"), lim.HEADER_TEXT, f"{where} header")
    elif kind == "context":
        elements = block.get("elements") or []
        found += _over(elements, lim.CONTEXT_ELEMENTS, where, "invalid_blocks")
        for element in elements:
            found += _text(element, lim.TEXT_OBJECT, f"{where} context")
    elif kind == "actions":
        elements = block.get("elements") or []
        found += _over(elements, lim.ACTIONS_ELEMENTS, where, "invalid_blocks")
        ids = [e.get("action_id") for e in elements]
        if len(set(ids)) < len(ids):
            found.append(("invalid_blocks", f"{where}: an action_id twice in one block"))
        for element in elements:
            found += _element(element, f"{where} {element.get('action_id')}")
    elif kind == "input":
        found += _text(block.get("label"), lim.INPUT_LABEL, f"{where} label")
        found += _element(block.get("element") or {}, f"{where} {block.get('block_id')}")
    elif kind != "divider":
        found.append(("invalid_blocks", f"{where}: a block of type {kind!r}"))
    return found


def message_problems(params: dict[str, Any]) -> list[Problem]:
    blocks = params.get("blocks")
    text = params.get("text")
    found: list[Problem] = []
    if not isinstance(text, str) or not text.strip():
        found.append(("", "no top-level text: no notification, nothing for a screen reader"))
    else:
        found += _over(text, lim.FALLBACK_TEXT, "text", "")
    if isinstance(blocks, list):
        found += _over(blocks, lim.BLOCKS_PER_MESSAGE, "blocks", "invalid_blocks")
        total = lim.text_length(blocks)
        if total > lim.MESSAGE_TEXT.value:
            found.append(("msg_blocks_too_long", f"{total} > {lim.MESSAGE_TEXT.value} of text"))
        for n, block in enumerate(blocks):
            found += block_problems(block, f"block {n}")
    return found


def view_problems(view: dict[str, Any]) -> list[Problem]:
    blocks = view.get("blocks") or []
    found = _over(blocks, lim.BLOCKS_PER_VIEW, "view blocks", "invalid_arguments")
    if view.get("type") == "modal":
        found += _text(view.get("title"), lim.VIEW_TITLE, "title")
        for name in ("submit", "close"):
            if name in view:
                found += _text(view[name], lim.VIEW_TITLE, name)
        found += _over(
            view.get("callback_id", ""), lim.CALLBACK_ID, "callback_id", "invalid_arguments"
        )
        found += _over(
            view.get("private_metadata", ""), lim.PRIVATE_METADATA, "metadata", "invalid_arguments"
        )
    for n, block in enumerate(blocks):
        found += block_problems(block, f"view block {n}")
    return found


def problems(method: str, params: dict[str, Any]) -> tuple[int, list[Problem]]:
    """How many payloads the call carries (a message's blocks, a view), and what is wrong."""
    if method in MESSAGES:
        return 1, message_problems(params)
    if isinstance(params.get("view"), dict):
        return 1, view_problems(params["view"])
    return 0, []


COUNTED = pytest.StashKey[list[int]]()


def _counted(config: pytest.Config) -> list[int]:
    """Payloads checked per test, said once at the end of the run."""
    if COUNTED not in config.stash:
        config.stash[COUNTED] = []

        def report() -> None:
            reporter = config.pluginmanager.get_plugin("terminalreporter")
            counted = config.stash[COUNTED]
            if reporter is not None and counted:
                reporter.write_line(
                    f"Slack payloads checked against bot/slack/limits.py: {sum(counted)} "
                    f"in {len(counted)} tests"
                )

        config.add_cleanup(report)
    return config.stash[COUNTED]


@pytest.fixture
def within_slack_limits(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test with the Slack stack: nothing it sent was over a limit, or warned about."""
    if "slack_stack" not in request.fixturenames:
        yield
        return
    api = request.getfixturevalue("slack_stack").api
    yield
    assert api.over_limits == [], api.over_limits[:10]
    if api.checked:
        _counted(request.config).append(api.checked)
