"""How Teams writes ids into text, for the core's redaction (handlers/redact.py)."""

from __future__ import annotations

import re

from handlers.redact import PlatformIds

# Bot Framework and Entra ids: "29:1a2b…", "8:orgid:…", "a:1Xy…".
TEAMS_IDS = PlatformIds(ids=(re.compile(r"\b(?:\d{1,2}|a):[A-Za-z0-9:_\-]{8,}"),))
