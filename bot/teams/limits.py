"""What Teams accepts of a bot's message, one entry per limit, each with where it is written
down (read 2026-12-01). cards.py renders within these; tests/test_teams_cards.py walks every
card the renderer tests produce and checks it against `problems`.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

TEAMS_LIMITS = "https://learn.microsoft.com/microsoftteams/limits-specifications-teams"
BOT_MESSAGES = (
    "https://learn.microsoft.com/microsoftteams/platform/bots/how-to/format-your-bot-messages"
)
CARD_TYPES = (
    "https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/"
    "cards-reference"
)
CARD_FORMAT = (
    "https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format"
)
CARD_DESIGN = (
    "https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/"
    "design-effective-cards"
)
INPUT_VALIDATION = "https://learn.microsoft.com/adaptive-cards/authoring-cards/input-validation"
CARD_SCHEMA = "https://adaptivecards.io/explorer/AdaptiveCard.html"


@dataclass(frozen=True)
class Limit:
    value: int
    unit: str
    source: str
    says: str  # what the source says, in short


MESSAGE_BYTES = Limit(
    28_000,
    "bytes of the activity's JSON as sent (UTF-8)",
    f"{TEAMS_LIMITS} (Limits and specifications for Microsoft Teams: Chat; Teams and channels)",
    "Chat size and channel post size: approximately 28 KB per post, the message itself, "
    "@-mentions and reactions included",
)
MESSAGE_UTF16_BYTES = Limit(
    80_000,
    "bytes of the activity's JSON as UTF-16",
    f"{BOT_MESSAGES} (Format your bot messages, note on the size limit, 2025-10)",
    "100 KB counted as UTF-16, base64 images not included; keep the message within 80 KB",
)
ACTIONS_PER_SET = Limit(
    6,
    "buttons in one ActionSet",
    f"{CARD_DESIGN} (Designing Adaptive Cards for your Microsoft Teams app: Anatomy); Teams' "
    "host config, microsoft/AdaptiveCards samples/HostConfig/microsoft-teams-light.json",
    "primary actions: 1-3 as a best practice, up to six; the host config's maxActions is 6; "
    "buttons beyond the maximum are not shown (Types of cards: Buttons)",
)
IMAGE_PIXELS = Limit(
    1024,
    "pixels of an image's width and of its height",
    f"{CARD_TYPES} (Types of cards: Inline card images); {CARD_FORMAT} (Format cards in Teams)",
    "images must be at most 1024×1024 and PNG, JPEG or GIF; the url an HTTPS URL, without a "
    "redirect",
)
IMAGE_BYTES = Limit(
    1_000_000,
    "bytes of an image file",
    f"{CARD_FORMAT} (Format cards in Teams)",
    "keep the dimensions within 1024 x 1024 pixels and file size less than 1 MB",
)
CARD_VERSION = "1.5"  # Types of cards, Support for Adaptive Cards: "v1.5 or earlier" for bots


@dataclass(frozen=True)
class Rule:
    name: str
    source: str
    says: str


RULES = (
    Rule(
        "every input has a label",
        f"{INPUT_VALIDATION} (Input validation: Labels)",
        "label (schema 1.3) is the recommended way of tagging inputs; the renderer warns "
        "RequiredInputsShouldHaveLabel",
    ),
    Rule(
        "every required input has an error message",
        f"{INPUT_VALIDATION} (Input validation)",
        "errorMessage is what a person is shown when an input is not valid; the renderer warns "
        "RequiredInputsShouldHaveErrorMessage",
    ),
    Rule(
        "every card has a fallback text",
        f"{CARD_SCHEMA} (AdaptiveCard.fallbackText)",
        "the text shown when a client cannot render the card's version",
    ),
    Rule(
        "images are HTTPS URLs, never data URIs",
        f"{CARD_TYPES} (Inline card images); microsoft/AdaptiveCards#4487, "
        "MicrosoftDocs/msteams-docs#5355",
        "url: HTTPS URL to the image; Teams desktop and web do not show data URIs in a card",
    ),
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def encode(body: Any) -> bytes:
    """A body as the connector sends it: compact JSON, UTF-8 (non-ASCII as itself, not as
    \\uXXXX, which would make Arabic three and emoji six times longer than it is)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, from its header; None when it is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def picture_fits(data: bytes) -> bool:
    size = png_size(data)
    return size is not None and max(size) <= IMAGE_PIXELS.value and len(data) < IMAGE_BYTES.value


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in a card, the card included."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def problems(activity: dict[str, Any]) -> list[str]:
    """What in an activity (one message with its cards) Teams would refuse or not show."""
    found = []
    sent = encode(activity)
    if len(sent) > MESSAGE_BYTES.value:
        found.append(f"{len(sent)} bytes, over {MESSAGE_BYTES.value}")
    utf16 = len(sent.decode("utf-8").encode("utf-16-le"))
    if utf16 > MESSAGE_UTF16_BYTES.value:
        found.append(f"{utf16} bytes as UTF-16, over {MESSAGE_UTF16_BYTES.value}")
    cards = [
        a["content"] for a in activity.get("attachments", []) if isinstance(a.get("content"), dict)
    ]
    for card in cards:
        if card.get("type") == "AdaptiveCard" and not card.get("fallbackText"):
            found.append("a card without fallbackText")
        if card.get("type") == "AdaptiveCard" and card.get("version") != CARD_VERSION:
            found.append(f"card version {card.get('version')}, not {CARD_VERSION}")
        for element in walk(card):
            kind = str(element.get("type", ""))
            if kind.startswith("Input.") and not element.get("label"):
                found.append(f"{kind} {element.get('id')} has no label")
            if (
                kind.startswith("Input.")
                and element.get("isRequired")
                and not element.get("errorMessage")
            ):
                found.append(f"required {kind} {element.get('id')} has no errorMessage")
            if kind == "ActionSet" and len(element.get("actions", [])) > ACTIONS_PER_SET.value:
                found.append(f"an ActionSet of {len(element['actions'])} actions")
            if kind == "Image" and not str(element.get("url", "")).startswith("https://"):
                found.append(f"an image that is not an HTTPS URL: {str(element.get('url'))[:40]}")
    return found
