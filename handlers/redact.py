"""Text crossing the border with the LLM assistant, in both directions.

Out: names, handles, platform ids, e-mail addresses and links are replaced with neutral
placeholders before anything is sent. In: what the model wrote is plain text before anyone
sees it: no links, no mentions, no markup, no commands, bounded in length. The model's words
are never trusted more than a participant's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

PERSON = "[person]"
ID = "[id]"
EMAIL = "[e-mail]"
LINK = "[link]"
GROUP = "[group]"

_BROADCAST = re.compile(r"(?<![\w@])@(?:channel|here|everyone|all|kanaal|iedereen)\b", re.I)
_HANDLE = re.compile(r"(?<![\w@.])@[\w.\-]{2,}")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# A link is a scheme, "www." or any domain: labels joined by dots ending in a TLD of two or
# more letters (new TLDs are many: .tk, .online, .example), optionally with a path.
_URL = re.compile(
    r"(?:(?:https?|ftp|file|data|javascript|mailto):[^\s<>\"')\]]*|www\.[^\s<>\"')\]]+"
    r"|(?<![\w\-@])[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,63}(?![\w\-])(?:/[^\s<>\"')\]]*)?)",
    re.I,
)
# GUIDs (directory object ids, tenants) are ids on any platform.
_GUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)


@dataclass(frozen=True)
class PlatformIds:
    """How a platform writes people and ids into text. Each adapter declares its own
    (bot/slack/ids.py, bot/teams/ids.py) and registers it; the core knows no platform."""

    mentions: tuple[re.Pattern[str], ...] = ()  # markup naming one person: "<@U0123>"
    groups: tuple[re.Pattern[str], ...] = ()  # markup calling many: "<!channel>"
    ids: tuple[re.Pattern[str], ...] = ()  # bare ids: "U0123ABCD", "29:1a2b…"


_PLATFORMS: dict[str, PlatformIds] = {}


def register(platform: str, ids: PlatformIds) -> None:
    _PLATFORMS[platform] = ids


def _mentions() -> list[re.Pattern[str]]:
    return [m for p in _PLATFORMS.values() for m in p.mentions]


def _groups() -> list[re.Pattern[str]]:
    return [g for p in _PLATFORMS.values() for g in p.groups]


def _ids() -> list[re.Pattern[str]]:
    return [i for p in _PLATFORMS.values() for i in p.ids]


@lru_cache(maxsize=4096)  # the same people's ids, text after text in an export
def _literal(platform_id: str) -> re.Pattern[str]:
    """A known id as a whole word: the console's id "sam" must not blank "samenwerking"."""
    return re.compile(rf"(?<![\w:@]){re.escape(platform_id)}(?![\w])", re.I)


def _sub_all(patterns: Iterable[re.Pattern[str]], replacement: str, text: str) -> str:
    for pattern in patterns:
        text = pattern.sub(replacement, text)
    return text


# Encoded blobs (Base64) hide words from every check; long compound words are not blobs.
_BASE64 = re.compile(
    r"(?=[A-Za-z0-9+/]*[0-9+/])(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])"
    r"\b[A-Za-z0-9+/]{20,}={0,2}"
)
ENCODED = "[encoded]"
# Two-letter parts of a name are names too ("Bo", "Li"), but not the particles and the short
# everyday words they share their spelling with: "de Vries" must not blank out every "de".
_NOT_NAMES = frozenset(
    {
        *("de", "van", "der", "den", "te", "ten", "ter", "het", "'t", "d'", "la", "le", "du"),
        *("da", "di", "del", "dos", "von", "vom", "zu", "af", "al", "en", "op", "in", "om"),
        *("na", "er", "is", "ik", "je", "we", "ze", "of", "as", "at", "to", "an", "on", "or"),
        *("he", "me", "my", "no", "so", "up", "us", "it", "by", "do", "go", "be", "if"),
    }
)
_PART = re.compile(r"[^\w'’]+")
_POSSESSIVE = r"(?:['’]?s)?"  # "Ahmeds", "Ahmed's"


def fold(text: str) -> str:
    """Without accents: "José" is "Jose", "Zoë" is "Zoe"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _folded(text: str) -> tuple[str, list[int]]:
    """The text without accents, and for each of its characters where it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, char in enumerate(text):
        for c in fold(char):
            out.append(c)
            where.append(i)
    return "".join(out), where


class Names:
    """The people's names, their parts and their handles, matched without accents."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def sub(self, replacement: str, text: str) -> str:
        folded, where = _folded(text)
        spans = [(where[m.start()], where[m.end() - 1] + 1) for m in self.pattern.finditer(folded)]
        for start, end in reversed(spans):
            text = text[:start] + replacement + text[end:]
        return text


def name_patterns(names: Iterable[str]) -> Names | None:
    """One pattern for the people's names (or handles), whole and in parts: first name,
    surname, initials left out ("Jansen, S. (Sanne)", "Vries, F. de", "ahmed.elamrani")."""
    parts: set[str] = set()
    for name in names:
        name = fold(" ".join(name.split())).strip(" @")
        if not name:
            continue
        parts.add(name)
        for part in _PART.split(name):
            part = part.strip("'’")
            if len(part) >= 2 and part.casefold() not in _NOT_NAMES:
                parts.add(part)
    if not parts:
        return None
    alternatives = "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))
    return Names(re.compile(rf"(?<!\w)(?:{alternatives}){_POSSESSIVE}(?!\w)", re.I))


def pseudonymise(text: str, names: Names | None, ids: Iterable[str] = ()) -> str:
    """What may leave for the assistant: the words, without who is who or where. Names go
    before links, so that a handle such as "ahmed.elamrani" is a person, not a domain."""
    text = _sub_all(_groups(), GROUP, text)
    text = _sub_all(_mentions(), PERSON, text)
    text = _sub_all((_literal(i) for i in ids if i), ID, text)
    text = _EMAIL.sub(EMAIL, text)
    if names is not None:
        text = names.sub(PERSON, text)
    text = _URL.sub(LINK, text)
    text = _BROADCAST.sub(GROUP, text)
    text = _HANDLE.sub(PERSON, text)
    text = _sub_all(_ids(), ID, text)
    text = _GUID.sub(ID, text)
    text = _BASE64.sub(ENCODED, text)
    return text


def unnamed(text: str, names: Names | None, ids: Iterable[str], placeholder: str) -> str:
    """Only who is who taken out — names, mentions, handles, e-mail addresses, platform ids —
    and every other word left as written: what the exports for the municipality need."""
    text = _sub_all(_mentions(), placeholder, text)
    text = _sub_all((_literal(i) for i in ids if i), placeholder, text)
    text = _EMAIL.sub(placeholder, text)
    if names is not None:
        text = names.sub(placeholder, text).replace("@" + placeholder, placeholder)
    return _sub_all((_HANDLE, *_ids(), _GUID), placeholder, text)


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_ANGLE = re.compile(r"<[^>]*>")
_MARKUP = re.compile(r"[*_~`#>|\[\]{}\\]")
# Invisible characters that split a word without showing: "h\u200bttps", "ww\u00adw".
_INVISIBLE = re.compile(r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
                        r"\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufe00-\ufe0f]")  # fmt: skip
# "evil[.]com", "evil(.)com", "evil [dot] com": a dot written so that filters miss it.
_DEFANGED = re.compile(r"\s*[\[(]\s*(?:\.|dot|punt)\s*[\])]\s*", re.I)
# What is still link-like once links are gone: a scheme's colon-slash, a lone "www" or
# "http", a spelled-out dot before a TLD. Then the text is not shown at all.
_LINK_RESIDUE = re.compile(
    r":\s*/\s*/|\b(?:https?|hxxps?|ftp|www)\b|\b(?:dot|punt)\s+[a-z]{2,6}\b(?:\s*/)?|\w\s*/\s*/",
    re.I,
)
_COMMAND = re.compile(r"(?m)^\s*[/!]+|(?<![\w/])/(?=\w)")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_ROUNDS = 8  # each round can only remove characters; real text is stable after two


def _unlinked(text: str) -> str | None:
    """The text without links, mentions, markup and encoded blobs, or None when something
    link-like is left. Removing one thing can join the pieces of another ("h*ttps://",
    "ww_w.", "evil[.]com"), so markup goes before links and it all runs until nothing
    changes."""
    for _ in range(_ROUNDS):
        before = text
        text = _MD_LINK.sub(r"\1", text)
        text = _sub_all((*_groups(), *_mentions()), "", text)
        text = _ANGLE.sub("", text)
        text = _INVISIBLE.sub("", text)
        text = _DEFANGED.sub(".", text)
        text = _EMAIL.sub("", text)
        text = _BROADCAST.sub("", text)
        text = _HANDLE.sub("", text)
        text = _MARKUP.sub("", text)
        text = text.replace("@", "")  # nothing the model writes can become a mention
        text = _URL.sub("", text)
        text = _BASE64.sub("", text)
        if text == before:
            break
    else:
        return None
    if _LINK_RESIDUE.search(text):
        return None
    return text


def smuggles_link(text: str) -> bool:
    """Whether a link would be left however the text is cleaned (then none of it is used)."""
    return _unlinked(text) is None


def plain(text: str, limit: int, *, single_line: bool = False) -> str:
    """The model's words, safe to show: links, mentions, markup, commands and encoded blobs
    removed; bounded to `limit` characters. Empty when a link would survive the cleaning."""
    for token in (PERSON, ID, EMAIL, LINK, GROUP, ENCODED):
        text = text.replace(token, "…")
    cleaned = _unlinked(text)
    if cleaned is None:
        return ""
    text = _COMMAND.sub("", cleaned)
    if single_line:
        text = " ".join(text.split())
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    text = "\n".join(line for line in lines if line)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


# Phrases of prompt injection, Dutch and English. A model answer that repeats one of them did
# what a contribution told it to: the whole answer is discarded and the fallback used. Each
# phrase needs its context: ordinary prose must pass ("langer dan verwacht", "huisartsen act as
# gatekeepers", "het systeem stuurt een bericht"), or every Dutch answer would be thrown away.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|negeer|vergeet)\b[^.\n]{0,40}\b(?:instruction|instructions|"
    r"instructies|opdrachten|rules|regels|prompt)\b"
    r"|\b(?:system|systeem)\s*prompt\b"
    r"|(?:^|[\n\"'{\[(])\s*#*\s*(?:system|systeem)\s*(?:message|bericht)?\s*(?::|\n)"
    r"|\b(?:system|systeem)\s*(?:message|bericht)\s*:"
    r"|\bnew instructions\s*:|\bnieuwe (?:instructies|opdracht)\s*:"
    r"|\byou are now\b|\bvanaf nu ben je\b|\bje bent (?:nu|vanaf nu) (?:een|de|het|in)\b"
    r"|(?:^|[.!?:;\n\"]\s*)(?:please\s+|graag\s+)?(?:act as|pretend (?:to be|you are)|"
    r"doe alsof|speel de rol)\b"
    r"|\b(?:developer mode|jailbreak)\b"
    r"|\b(?:you are|you're|je bent|ben je)(?:\s+now|\s+nu)?\s+(?-i:DAN)\b"
    r"|(?-i:\bDAN\b)[\s\-]*(?:mode|modus)\b"
    r"|\b(?:BEGIN|END) DATA\b",
    re.I,
)


def looks_like_instruction(text: str) -> bool:
    return bool(_INSTRUCTION.search(text))
