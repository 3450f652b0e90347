"""What a session's form says about when and how it runs, read and checked the same way for
a new session (handlers/sessions.py) and a change (handlers/replanning.py): its start as people
type it, how long each async round is open, live or async."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.context import Context, Refusal
from handlers.messages import Option, Select
from handlers.model import SessionMode
from handlers.plan import WORKING_DAYS
from handlers.when import parse_moment
from prompts.catalog import LANGUAGES, t, words

# How long each round stays open when the session runs async (in working days: plan.py).
ROUND_LENGTHS = WORKING_DAYS
MODES = tuple(m.value for m in SessionMode)


def starts_at_of(values: dict[str, str], ctx: Context) -> datetime | None:
    """A date and time as people type it, in their own zone (handlers/when.py; a platform's
    picker is translated by its adapter); not past. What was understood is said back."""
    word = values.get("starts_at", "").strip()
    if not word:
        return None
    understood = parse_moment(word, ctx.person.timezone, ctx.now)
    when = understood.moment
    if when < ctx.now - timedelta(minutes=5):
        raise Refusal("errors.start_in_past")
    ctx.say("when.check", when=understood.text(ctx.lang))
    return when


def round_days_of(values: dict[str, str]) -> int | None:
    """Working days per round (async), or None when not given."""
    word = values.get("round_length", "").strip()
    if not word:
        return None
    if word not in ROUND_LENGTHS:
        raise Refusal("errors.unknown_round_length")
    return ROUND_LENGTHS[word]


def mode_of(values: dict[str, str], planned: bool) -> SessionMode:
    """`live` (in a meeting, moved on by `next`) or `async` (on a plan); by default async
    when a round length is given, live otherwise."""
    word = values.get("mode", "").strip().casefold()
    if not word:
        return SessionMode.ASYNC if planned else SessionMode.LIVE
    for mode in SessionMode:
        names = {mode.value} | {
            w.casefold() for lang in LANGUAGES for w in words(lang, f"sessions.mode_words.{mode}")
        }
        if word in names:
            return mode
    raise Refusal("sessions.unknown_mode")


def mode_select(lang: str) -> Select:
    options = tuple(Option(m, t(lang, f"sessions.modes.{m}")) for m in MODES)
    return Select("mode", t(lang, "sessions.mode_label"), options, optional=True)


def round_length_select(lang: str) -> Select:
    options = tuple(Option(k, t(lang, f"sessions.round_lengths.{k}")) for k in ROUND_LENGTHS)
    return Select("round_length", t(lang, "sessions.round_length_label"), options, optional=True)
