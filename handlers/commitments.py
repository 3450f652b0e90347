"""Commitments: who takes what on, by when, and how (co-create, co-produce, outsource);
check-ins on them; and the review of open ones when the team meets again."""

from __future__ import annotations

import re
from datetime import date

from handlers.context import MAX_TEXT, Context, Refusal, clean_text
from handlers.conversation import Router, no_args
from handlers.lookup import require_running_session
from handlers.messages import (
    Action,
    Choices,
    DateInput,
    Destination,
    Form,
    Heading,
    Message,
    Option,
    PeopleInput,
    Select,
    Text,
    TextInput,
    message,
)
from handlers.model import (
    CheckIn,
    Commitment,
    CommitmentMode,
    CommitmentStatus,
    IcebergLevel,
    Person,
    Round,
    Session,
    id_of,
)
from handlers.people import find_member
from handlers.systems import MAX_FACTOR, factor_key, team_map
from handlers.when import parse_day
from prompts.catalog import LANGUAGES, t, words

CHECK_IN_CHOICES = (
    CommitmentStatus.DONE,
    CommitmentStatus.IN_PROGRESS,
    CommitmentStatus.STUCK,
    CommitmentStatus.RELEASED,
)


def _lookup(kind: str, word: str) -> str | None:
    """A mode or status from what people type, in either language (`samen doen`, `stuck`)."""
    wanted = " ".join(word.casefold().replace("-", " ").replace("_", " ").split())
    for lang in LANGUAGES:
        for key in words(lang, f"commitments.{kind}_keys"):
            if wanted in (w.casefold() for w in words(lang, f"commitments.{kind}_words.{key}")):
                return key
    return None


def parse_mode(word: str) -> CommitmentMode:
    if not word.strip():
        return CommitmentMode.CO_PRODUCE
    key = _lookup("mode", word)
    if key is None:
        raise Refusal("errors.unknown_mode")
    return CommitmentMode(key)


def parse_status(word: str) -> CommitmentStatus:
    key = _lookup("status", word)
    if key is None:
        raise Refusal("errors.unknown_status")
    return CommitmentStatus(key)


def parse_due(text: str, today: date) -> date:
    """A day as people type it (`8 dec`, `vrijdag`, `morgen`, `31-12-2026`, `2026-12-31`, see
    handlers/when.py); today or later."""
    due = parse_day(text, today)
    if due < today:
        raise Refusal("errors.date_in_past")
    return due


def parse_level(word: str) -> str:
    """An iceberg level by its key or its name in either language; empty when not given."""
    wanted = " ".join(word.casefold().replace("_", " ").split())
    if not wanted:
        return ""
    for level in IcebergLevel:
        names = {level.value.replace("_", " ")}
        names |= {
            t(lang, f"rounds.iceberg.categories.{level.value}").casefold() for lang in LANGUAGES
        }
        if wanted in names:
            return level.value
    raise Refusal("errors.unknown_level")


async def _focus(ctx: Context, word: str) -> tuple[int | None, str]:
    """What the commitment acts on: a factor of the team's map, or a loop (R1, B2)."""
    word = word.strip()
    if not word:
        return None, ""
    if re.fullmatch(r"[RrBb]\d+", word):
        loop = (await team_map(ctx.uow, ctx.team_id, ctx.bounds)).loop_by_label(word)
        if loop is None:
            raise Refusal("errors.unknown_loop", label=word.upper())
        return None, loop.key
    factor = await ctx.uow.causal.factor_by_key(ctx.team_id, factor_key(word))
    if factor is None:
        raise Refusal("errors.unknown_factor", name=word[:MAX_FACTOR])
    return factor.id, ""


def mode_label(lang: str, mode: CommitmentMode) -> str:
    return t(lang, f"commitments.modes.{mode.value}")


def status_label(lang: str, status: CommitmentStatus) -> str:
    return t(lang, f"commitments.statuses.{status.value}")


def commitment_form(lang: str, rnd: Round | None = None) -> Form:
    modes = tuple(Option(m.value, mode_label(lang, m)) for m in CommitmentMode)
    return Form(
        "commit",
        t(lang, "commitments.form_title"),
        (
            TextInput("text", t(lang, "commitments.text_label"), multiline=True),
            DateInput("due", t(lang, "commitments.due_label")),
            Select("mode", t(lang, "commitments.mode_label"), modes),
            PeopleInput("co_owners", t(lang, "commitments.co_owners_label")),
            TextInput(
                "focus", t(lang, "commitments.focus_label"), optional=True, max_length=MAX_FACTOR
            ),
            Select(
                "level",
                t(lang, "commitments.level_label"),
                tuple(
                    Option(level.value, t(lang, f"rounds.iceberg.categories.{level.value}"))
                    for level in IcebergLevel
                ),
                optional=True,
            ),
        ),
        t(lang, "commitments.submit"),
        str(rnd.id) if rnd and rnd.id else "",
    )


async def commit(ctx: Context, values: dict[str, str]) -> Commitment:
    """Record a commitment from the form; the owner is the person who makes it."""
    session = await require_running_session(ctx)
    text = clean_text(values.get("text", ""), MAX_TEXT)
    if not values.get("due", "").strip():
        raise Refusal("errors.due_required")
    due = parse_due(values["due"], ctx.today())
    mode = parse_mode(values.get("mode", ""))
    co_owners: list[int] = []
    for name in filter(None, (n.strip() for n in values.get("co_owners", "").split(","))):
        person = await find_member(ctx, name)
        if person.id is not None and person.id != ctx.person_id and person.id not in co_owners:
            co_owners.append(person.id)
    factor_id, loop_key = await _focus(ctx, values.get("focus", ""))
    commitment = Commitment(
        id_of(session),
        ctx.team_id,
        ctx.person_id,
        text,
        due,
        mode,
        co_owner_ids=co_owners,
        factor_id=factor_id,
        loop_key=loop_key,
        iceberg_level=parse_level(values.get("level", "")),
        created_at=ctx.now,
    )
    number = await ctx.uow.store(commitment)
    ctx.say(
        "commitments.recorded",
        number=number,
        text=text,
        due=due.isoformat(),
        mode=mode_label(ctx.lang, mode),
    )
    return commitment


def check_in_buttons(lang: str, commitment: Commitment) -> Choices:
    return Choices(
        tuple(
            Action(
                "checkin",
                status_label(lang, s),
                f"{commitment.id}:{s.value}",
                "primary" if s == CommitmentStatus.DONE else "default",
            )
            for s in CHECK_IN_CHOICES
        )
    )


async def check_in(ctx: Context, args: str) -> None:
    """`checkin 12 stuck need a room` or a button value `12:stuck`."""
    ref, _, rest = args.strip().replace(":", " ", 1).partition(" ")
    words_given = rest.split()
    if not ref.lstrip("#").isdigit() or not words_given:
        raise Refusal("errors.checkin_usage")
    # A status may be two words ("on track", "let go", "op schema"): the longest that fits.
    two = " ".join(words_given[:2])
    taken = 2 if len(words_given) > 1 and _lookup("status", two) else 1
    status_word = " ".join(words_given[:taken])
    note = " ".join(words_given[taken:])
    commitment = await ctx.uow.get(Commitment, int(ref.lstrip("#")))
    owners = {commitment.owner_id, *commitment.co_owner_ids} if commitment else set()
    if commitment is None or ctx.person_id not in owners:
        raise Refusal("errors.not_your_commitment", number=ref[:12])
    status = parse_status(status_word)
    note = clean_text(note, MAX_TEXT) if note.strip() else ""
    entry_id = await ctx.uow.store(CheckIn(id_of(commitment), ctx.person_id, status, note, ctx.now))
    commitment.status = status
    ctx.say("commitments.checked_in", number=commitment.id, status=status_label(ctx.lang, status))
    if status == CommitmentStatus.STUCK:
        # Back to the team, not up to the coordinator; without a name.
        session = await ctx.uow.get(Session, commitment.session_id)
        lang = session.locale if session else ctx.lang
        await ctx.post(
            Destination.channel(commitment.team_id),
            message(Text(t(lang, "commitments.stuck_to_team", text=commitment.text))),
            kind="stuck",
            dedupe_key=f"stuck:{entry_id}",
        )


def commitment_line(lang: str, c: Commitment) -> str:
    return t(
        lang,
        "commitments.line",
        number=c.id,
        text=c.text,
        due=c.due_date.isoformat(),
        mode=mode_label(lang, c.mode),
        status=status_label(lang, c.status),
    )


async def my_commitments(ctx: Context) -> None:
    mine = await ctx.uow.commitments.for_person(ctx.person_id)
    if not mine:
        ctx.say("commitments.none_mine")
        return
    blocks: list = [Heading(ctx.t("commitments.mine_heading", count=len(mine)))]
    for c in mine:
        blocks += [Text(commitment_line(ctx.lang, c)), check_in_buttons(ctx.lang, c)]
    ctx.reply(message(*blocks))


async def commitments_message(ctx: Context, session: Session) -> Message:
    lang = session.locale
    made = await ctx.uow.commitments.for_session(id_of(session))
    blocks: list = [Heading(t(lang, "commitments.heading", count=len(made)))]
    blocks += [Text(commitment_line(lang, c)) for c in made]
    if made:
        blocks.append(Text(t(lang, "commitments.credit", count=len(made))))
    return message(*blocks)


async def review(ctx: Context, session: Session) -> None:
    """Open the session with the team's open commitments; owners get check-in buttons by DM."""
    earlier = [
        c
        for c in await ctx.uow.commitments.open_for_team(session.team_id)
        if c.session_id != session.id
    ]
    if not earlier:
        return
    lang = session.locale
    blocks: list = [Heading(t(lang, "commitments.review_heading", count=len(earlier)))]
    blocks += [Text(commitment_line(lang, c)) for c in earlier]
    await ctx.post(
        Destination.channel(session.team_id),
        message(*blocks),
        kind="review",
        dedupe_key=f"review:{session.id}",
    )
    for c in earlier:
        owner = await ctx.uow.get(Person, c.owner_id) if c.owner_id else None
        if owner is None or owner.id is None:
            continue
        await ctx.post(
            Destination.dm(owner.id),
            message(
                Text(t(owner.locale, "commitments.review_ask", text=c.text)),
                check_in_buttons(owner.locale, c),
            ),
            kind="review_checkin",
            dedupe_key=f"review-checkin:{session.id}:{c.id}",
        )


router = Router()
router.command("my", in_dm=True)(no_args(my_commitments))


@router.command("commit", form="commit")
@router.action("commit")
async def _commit(ctx: Context, args: str) -> None:
    if args.strip():
        raise Refusal("errors.commit_use_form")
    ctx.open(commitment_form(ctx.lang))


@router.form("commit", build=commitment_form, static=True)
async def _committed(ctx: Context, values: dict[str, str], _context: str) -> None:
    from handlers.nudges import plan_check_ins  # nudges reads commitments: imported when used

    made = await commit(ctx, values)
    await plan_check_ins(ctx.uow, made, ctx.now, ctx.policy)


router.command("checkin")(check_in)
router.action("checkin")(check_in)
