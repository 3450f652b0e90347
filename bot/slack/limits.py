"""What Slack accepts, as data: one entry per limit, with the page that says so.

The renderer (bot/slack/blocks.py) keeps to these; tests/slack_limits.py checks every payload
the suite sends against the same table. Where Slack documents no figure (the total text of a
message) the entry is a bound we chose below what Slack was seen to refuse, with the reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BLOCKS_DOC = "https://docs.slack.dev/reference/block-kit/blocks"
VIEWS_DOC = "https://docs.slack.dev/reference/views (modal and Home tab view objects)"
SECTION_DOC = "https://docs.slack.dev/reference/block-kit/blocks/section-block"
HEADER_DOC = "https://docs.slack.dev/reference/block-kit/blocks/header-block"
ACTIONS_DOC = "https://docs.slack.dev/reference/block-kit/blocks/actions-block"
CONTEXT_DOC = "https://docs.slack.dev/reference/block-kit/blocks/context-block"
INPUT_DOC = "https://docs.slack.dev/reference/block-kit/blocks/input-block"
BUTTON_DOC = "https://docs.slack.dev/reference/block-kit/block-elements/button-element"
SELECT_DOC = "https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element"
OPTION_DOC = "https://docs.slack.dev/reference/block-kit/composition-objects/option-object"
GROUP_DOC = "https://docs.slack.dev/reference/block-kit/composition-objects/option-group-object"
TEXT_DOC = "https://docs.slack.dev/reference/block-kit/composition-objects/text-object"
INPUT_ELEMENT_DOC = (
    "https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element"
)
POST_DOC = "https://docs.slack.dev/reference/methods/chat.postMessage (text, blocks)"


@dataclass(frozen=True)
class Limit:
    value: int
    what: str
    source: str


BLOCKS_PER_MESSAGE = Limit(50, "blocks in one message", BLOCKS_DOC)
BLOCKS_PER_VIEW = Limit(100, "blocks in a modal or a Home tab", f"{BLOCKS_DOC}; {VIEWS_DOC}")
SECTION_TEXT = Limit(3000, "characters of a section's text", SECTION_DOC)
SECTION_FIELDS = Limit(10, "fields in a section", SECTION_DOC)
FIELD_TEXT = Limit(2000, "characters of one section field", SECTION_DOC)
HEADER_TEXT = Limit(150, "characters of a header's text", HEADER_DOC)
TEXT_OBJECT = Limit(3000, "characters of any text object (a context element)", TEXT_DOC)
TEXT_MIN = Limit(1, "character at least in any text object: an empty one is refused", TEXT_DOC)
CONTEXT_ELEMENTS = Limit(10, "elements in a context block", CONTEXT_DOC)
ACTIONS_ELEMENTS = Limit(25, "elements in an actions block", ACTIONS_DOC)
BUTTON_TEXT = Limit(75, "characters of a button's text", BUTTON_DOC)
BUTTON_VALUE = Limit(2000, "characters of a button's value", BUTTON_DOC)
ACTION_ID = Limit(255, "characters of an action_id", BUTTON_DOC)
BLOCK_ID = Limit(255, "characters of a block_id", BLOCKS_DOC)
OPTIONS = Limit(100, "options in a select menu (or in one option group)", SELECT_DOC)
OPTION_GROUPS = Limit(100, "option groups in a select menu", SELECT_DOC)
OPTION_TEXT = Limit(75, "characters of an option's text", OPTION_DOC)
OPTION_VALUE = Limit(150, "characters of an option's value", OPTION_DOC)
GROUP_LABEL = Limit(75, "characters of an option group's label", GROUP_DOC)
INPUT_LABEL = Limit(2000, "characters of an input block's label", INPUT_DOC)
TEXT_INPUT_MAX = Limit(3000, "the highest max_length of a plain_text_input", INPUT_ELEMENT_DOC)
VIEW_TITLE = Limit(24, "characters of a modal's title, submit and close text", VIEWS_DOC)
CALLBACK_ID = Limit(255, "characters of a view's callback_id", VIEWS_DOC)
PRIVATE_METADATA = Limit(3000, "characters of a view's private_metadata", VIEWS_DOC)
# Not documented: Slack answers msg_blocks_too_long when a message's blocks carry too much text
# in total. Reported at 13,297 characters of markdown blocks, "12,000 text characters with a
# buffer for block containers" per Slack's maintainer (slackapi/bolt-js#2509), and once at
# 11,341 characters counted as here, in rich_text blocks (slackapi/bolt-js#2867). We stay under
# 10,000, counted as `text_length` counts.
MESSAGE_TEXT = Limit(
    10_000,
    "characters of text in one message's blocks, together (our bound)",
    "https://github.com/slackapi/bolt-js/issues/2509; "
    "https://github.com/slackapi/bolt-js/issues/2867",
)
# Every message has a top-level `text`: the notification and what screen readers read. Slack
# only recommends it, and answers msg_too_long for about 4,000 characters of it (Slack's
# maintainer in seratch/ChatGPT-in-Slack#102), so we keep the fallback short.
FALLBACK_TEXT = Limit(
    300,
    "characters of a message's top-level `text`, which every message has (our bound)",
    f"{POST_DOC}; https://github.com/seratch/ChatGPT-in-Slack/issues/102",
)

LIMITS: tuple[Limit, ...] = (
    BLOCKS_PER_MESSAGE, BLOCKS_PER_VIEW, SECTION_TEXT, SECTION_FIELDS, FIELD_TEXT, HEADER_TEXT,
    TEXT_OBJECT, TEXT_MIN, CONTEXT_ELEMENTS, ACTIONS_ELEMENTS, BUTTON_TEXT, BUTTON_VALUE, ACTION_ID,
    BLOCK_ID, OPTIONS, OPTION_GROUPS, OPTION_TEXT, OPTION_VALUE, GROUP_LABEL, INPUT_LABEL,
    TEXT_INPUT_MAX, VIEW_TITLE, CALLBACK_ID, PRIVATE_METADATA, MESSAGE_TEXT, FALLBACK_TEXT,
)  # fmt: skip


def text_length(node: Any) -> int:
    """Characters of text anywhere in blocks: every `text` string of a text object (sections,
    fields, headers, context elements, button labels), as the reports above count them."""
    if isinstance(node, list):
        return sum(text_length(item) for item in node)
    if not isinstance(node, dict):
        return 0
    total = 0
    for key, value in node.items():
        if key == "text" and isinstance(value, str):
            total += len(value)
        else:
            total += text_length(value)
    return total
