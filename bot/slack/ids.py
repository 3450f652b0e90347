"""How Slack writes people and ids into text, for the core's redaction (handlers/redact.py)."""

from __future__ import annotations

import re

from handlers.redact import PlatformIds

SLACK_IDS = PlatformIds(
    mentions=(re.compile(r"<[@#][A-Z0-9]+(?:\|[^>]*)?>"),),
    groups=(re.compile(r"<!(?:channel|here|everyone|subteam\^[A-Z0-9]+)[^>]*>", re.I),),
    # User, bot, workspace and channel ids: a capital letter and 7-11 more, with a digit.
    ids=(re.compile(r"\b[UWBTC](?=[A-Z0-9]*\d)[A-Z0-9]{7,11}\b"),),
)
