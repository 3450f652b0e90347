"""Commitments: who takes what on, by when, and how (co-create, co-produce, outsource);
check-ins on them; and the review of open ones when the team meets again."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from difflib import SequenceMatcher

from handlers.context import MAX_TEXT, Context, Refusal, clean_text, record_id
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
    outbox_row,
)
from handlers.model import (
    CheckIn,
    Commitment,
    CommitmentMode,
    CommitmentStatus,
    IcebergLevel,
    OutboxStatus,
    Person,
    Role,
    Round,
    Session,
    Team,
    id_of,
)
from handlers.people import find_member
from handlers.ports import UnitOfWork
from handlers.systems import MAX_FACTOR, factor_key, team_map
from handlers.when import day_text, parse_day
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
    """The way of working, in either language. Not given: asked, never assumed (a commitment
    filed as co-produce that was meant as outsource misleads the team's overview)."""
    if not word.strip():
        raise Refusal("commitments.which_mode")
    key = _lookup("mode", word)
    if key is None:
        raise Refusal("errors.unknown_mode")
    return CommitmentMode(key)


def parse_status(word: str) -> CommitmentStatus:
    key = _lookup("status", word)
    if key is None:
        raise Refusal("errors.unknown_status")
    return CommitmentStatus(key)


# A due date further away is a typo, and its check-ins could fall outside the calendar (year
# 9999 overflowed planning them). Generous: tests and demos take 2099 as "surely later".
MAX_YEARS_AHEAD = 100


def parse_due(text: str, today: date) -> date:
    """A day as people type it (`8 dec`, `vrijdag`, `morgen`, `31-12-2026`, `2026-12-31`, see
    handlers/when.py); today or later, within MAX_YEARS_AHEAD."""
    due = parse_day(text, today)
    if due < today:
        raise Refusal("errors.date_in_past")
    if due > today + timedelta(days=366 * MAX_YEARS_AHEAD):
        raise Refusal("errors.date_too_far", years=MAX_YEARS_AHEAD)
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


async def _co_owners(ctx: Context, names: str, owner_id: int | None) -> list[int]:
    """Team members by name or platform id, comma-separated; the owner is not their own."""
    found: list[int] = []
    for name in filter(None, (n.strip() for n in names.split(","))):
        person = await find_member(ctx, name)
        if person.id is not None and person.id != owner_id and person.id not in found:
            found.append(person.id)
    return found


# A retyped commitment (same owner, open) reads almost the same: case, punctuation and spacing
# aside, a typo in a word ("belen") or one word more or less in a longer text. Another verb
# ("mailen" for "bellen") is another commitment.
TYPO = 0.8  # how alike two words must be, letter by letter, to be one word mistyped
_COMPARED = 300  # longer texts are compared by runs of words, not word by word (fast)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _runs(text: str) -> set[tuple[str, ...]]:
    words_ = text.split()
    return {tuple(words_[i : i + 3]) for i in range(max(len(words_) - 2, 1))}


def _mistyped(a: Sequence[str], b: Sequence[str]) -> bool:
    return all(SequenceMatcher(None, x, y).ratio() >= TYPO for x, y in zip(a, b, strict=True))


def alike(a: str, b: str) -> bool:
    x, y = _normal(a), _normal(b)
    if x == y:
        return True
    if len(x) > _COMPARED or len(y) > _COMPARED:
        # Runs of three words: a typo changes a few of them, other words in another order
        # nearly all (single words would match any two long texts of everyday words).
        runs_x, runs_y = _runs(x), _runs(y)
        return len(runs_x & runs_y) / max(len(runs_x | runs_y), 1) >= 0.9
    wx, wy = x.split(), y.split()
    extra = 0
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, wx, wy, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1 and _mistyped(wx[i1:i2], wy[j1:j2]):
            continue
        if tag == "replace":
            return False
        extra += max(i2 - i1, j2 - j1)
    return extra <= (1 if min(len(wx), len(wy)) >= 3 else 0)


def likely_duplicate(text: str, existing: Sequence[Commitment]) -> Commitment | None:
    return next((c for c in existing if alike(text, c.text)), None)


async def commit(ctx: Context, values: dict[str, str]) -> Commitment:
    """Record a commitment from the form; the owner is the person who makes it. Without a
    way of working it is asked for; one that reads like an open one of theirs is asked about."""
    session = await require_running_session(ctx)
    text = clean_text(values.get("text", ""), MAX_TEXT)
    if not values.get("due", "").strip():
        raise Refusal("errors.due_required")
    due = parse_due(values["due"], ctx.today())
    mode = parse_mode(values.get("mode", ""))
    co_owners = await _co_owners(ctx, values.get("co_owners", ""), ctx.person_id)
    factor_id, loop_key = await _focus(ctx, values.get("focus", ""))
    open_ones = [
        c
        for c in await ctx.uow.commitments.open_for_team(ctx.team_id)
        if c.owner_id == ctx.person_id
    ]
    twin = likely_duplicate(text, open_ones)
    if twin is not None:
        raise Refusal("commitments.duplicate_question", number=twin.id, text=twin.text)
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
        due=day_text(ctx.lang, due),  # in words: a date typed as "vrijdag" is read back
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
    number = record_id(ref)
    if number is None or not words_given:
        raise Refusal("errors.checkin_usage")
    # A status may be two words ("on track", "let go", "op schema"): the longest that fits.
    two = " ".join(words_given[:2])
    taken = 2 if len(words_given) > 1 and _lookup("status", two) else 1
    status_word = " ".join(words_given[:taken])
    note = " ".join(words_given[taken:])
    commitment = await ctx.uow.get(Commitment, number)
    owners = {commitment.owner_id, *commitment.co_owner_ids} if commitment else set()
    nobody = commitment is not None and commitment.owner_id is None and not commitment.co_owner_ids
    if nobody and commitment is not None and commitment.team_id == ctx.team_id:
        raise Refusal("commitments.ownerless", number=commitment.id)  # its owner left
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
        helping = Action("help_out", t(lang, "commitments.can_help"), str(commitment.id), "primary")
        await ctx.post(
            Destination.channel(commitment.team_id),
            message(
                Text(t(lang, "commitments.stuck_to_team", text=commitment.text)),
                Choices((helping,)),
            ),
            kind="stuck",
            dedupe_key=f"stuck:{entry_id}",
        )


def commitment_line(lang: str, c: Commitment) -> str:
    return t(
        lang,
        "commitments.line",
        number=c.id,
        text=c.text,
        due=day_text(lang, c.due_date),
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
        buttons = check_in_buttons(ctx.lang, c).actions
        if c.owner_id == ctx.person_id:  # the owner changes it (a co-owner checks in)
            form = json.dumps({"form": "edit_commitment", "context": str(c.id)})
            buttons = (*buttons, Action("form", ctx.t("commitments.edit_button"), form))
        blocks += [Text(commitment_line(ctx.lang, c)), Choices(buttons)]
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


# --- correcting -------------------------------------------------------------------------------

EDITABLE = ("text", "due", "mode", "owner", "co_owners")


async def _team_commitment(ctx: Context, ref: str) -> Commitment:
    """A commitment of the acting person's team, by its number ("12", "#12")."""
    number = record_id(ref)
    commitment = await ctx.uow.get(Commitment, number) if number is not None else None
    if commitment is None or commitment.team_id != ctx.team_id:
        raise Refusal("commitments.unknown", number=ref.strip()[:12])
    return commitment


async def _yours_to_change(ctx: Context, ref: str) -> Commitment:
    """The commitment, if the person may change it: its owner, or a coordinator of its team
    (who hands on what is left without an owner). `edit` and its form are open to everyone,
    so this is about whose it is; the role is read where the router reads it (ctx.coordinating)."""
    commitment = await _team_commitment(ctx, ref)
    if commitment.owner_id != ctx.person_id and not ctx.coordinating:
        raise Refusal("errors.not_your_commitment", number=ref.strip()[:12])
    return commitment


async def _names(ctx: Context, ids: Sequence[int]) -> str:
    people = [await ctx.uow.get(Person, i) for i in ids]
    return ", ".join(p.display_name for p in people if p is not None and not p.erased)


async def edit_form(ctx: Context, commitment: Commitment) -> Form:
    """Filled in with what it says now; a field left empty keeps its value (a date, a way of
    working and an owner cannot be filled in on every platform), the co-owners are a list of
    names to edit (empty: nobody)."""
    lang = ctx.lang
    owner = await ctx.uow.get(Person, commitment.owner_id) if commitment.owner_id else None
    modes = tuple(Option(m.value, mode_label(lang, m)) for m in CommitmentMode)
    now = {
        "due": day_text(lang, commitment.due_date),
        "mode": mode_label(lang, commitment.mode),
        "owner": owner.display_name if owner and not owner.erased else "",
    }
    return Form(
        "edit_commitment",
        t(lang, "commitments.edit_title", number=commitment.id),
        (
            TextInput(
                "text", t(lang, "commitments.text_label"), multiline=True, value=commitment.text
            ),
            DateInput("due", t(lang, "commitments.due_now", due=now["due"]), optional=True),
            Select("mode", t(lang, "commitments.mode_now", mode=now["mode"]), modes, optional=True),
            PeopleInput(
                "owner",
                t(
                    lang,
                    "commitments.owner_now",
                    owner=now["owner"] or t(lang, "commitments.nobody"),
                ),
            ),
            TextInput(
                "co_owners",
                t(lang, "commitments.co_owners_edit"),
                optional=True,
                value=await _names(ctx, commitment.co_owner_ids),
                max_length=1000,
            ),
        ),
        t(lang, "commitments.edit_submit"),
        str(commitment.id),
    )


async def change(ctx: Context, commitment: Commitment, values: dict[str, str]) -> None:
    """Apply what was given (only the fields present); check everything before changing
    anything, so a refusal leaves the commitment as it was. Whose it is was checked before
    (`_yours_to_change`, or the hand-over form's coordinator role)."""
    if commitment.status.is_finished:
        raise Refusal("commitments.finished", number=commitment.id)
    text = clean_text(values["text"], MAX_TEXT) if values.get("text", "").strip() else None
    due = parse_due(values["due"], ctx.today()) if values.get("due", "").strip() else None
    mode = parse_mode(values["mode"]) if values.get("mode", "").strip() else None
    owner_id = commitment.owner_id
    if values.get("owner", "").strip():
        names = [n for n in values["owner"].split(",") if n.strip()]
        if len(names) != 1:
            raise Refusal("commitments.one_owner")
        owner_id = id_of(await find_member(ctx, names[0]))
    co_owners = commitment.co_owner_ids
    if "co_owners" in values:
        co_owners = await _co_owners(ctx, values["co_owners"], owner_id)
    co_owners = [p for p in co_owners if p != owner_id]
    if text is not None and text != commitment.text:
        others = [
            c
            for c in await ctx.uow.commitments.open_for_team(ctx.team_id)
            if c.owner_id == owner_id and c.id != commitment.id
        ]
        twin = likely_duplicate(text, others)
        if twin is not None:
            raise Refusal("commitments.duplicate_question", number=twin.id, text=twin.text)
    replan = (due is not None and due != commitment.due_date) or owner_id != commitment.owner_id
    new_owner = owner_id != commitment.owner_id
    commitment.text = text if text is not None else commitment.text
    commitment.due_date = due or commitment.due_date
    commitment.mode = mode or commitment.mode
    commitment.owner_id = owner_id
    commitment.co_owner_ids = list(co_owners)  # a new list: the change is seen and stored
    if replan:
        await replan_check_ins(ctx, commitment)
    if new_owner and owner_id is not None and owner_id != ctx.person_id:
        await _tell_new_owner(ctx, commitment)
    owner = await _names(ctx, [owner_id] if owner_id else [])
    ctx.say(
        "commitments.changed",
        line=commitment_line(ctx.lang, commitment),
        owner=owner or ctx.t("commitments.nobody"),
        others=await _names(ctx, commitment.co_owner_ids),
    )


async def replan_check_ins(ctx: Context, commitment: Commitment) -> None:
    """Another date or owner: the check-ins not sent yet are planned again for them."""
    from handlers.nudges import plan_check_ins  # nudges reads commitments: imported when used

    cid = id_of(commitment)
    for key in (f"checkin:{cid}:halfway", f"checkin:{cid}:due", f"overdue:{cid}"):
        row = await ctx.uow.outbox.by_key(key)
        if row is not None and row.status == OutboxStatus.PENDING:
            await ctx.uow.delete(row)
    await ctx.uow.flush()  # gone before the new rows take their keys
    await plan_check_ins(ctx.uow, commitment, ctx.now, ctx.policy)


async def _tell_new_owner(ctx: Context, commitment: Commitment) -> None:
    owner = await ctx.uow.get(Person, commitment.owner_id) if commitment.owner_id else None
    if owner is None or owner.id is None:
        return
    lang = owner.locale
    await ctx.post(
        Destination.dm(owner.id),
        message(
            Text(t(lang, "commitments.now_yours", text=commitment.text, number=commitment.id)),
            check_in_buttons(lang, commitment),
        ),
        kind="owner",
        dedupe_key=f"owner:{commitment.id}:{owner.id}:{ctx.now.isoformat()}",
    )


def _field(word: str) -> str | None:
    wanted = word.casefold()
    for lang in LANGUAGES:
        for name in EDITABLE:
            if wanted in (w.casefold() for w in words(lang, f"commitments.edit_words.{name}")):
                return name
    return None


async def edit(ctx: Context, args: str) -> None:
    """`edit 12` opens the form; `edit 12 due 2027-04-01`, `edit 12 with Fleur, Joost`,
    `edit 12 owner Ahmed`, `edit 12 mode co-create`, `edit 12 text …` change one thing."""
    ref, _, rest = args.strip().partition(" ")
    if not ref:
        raise Refusal("commitments.edit_usage")
    commitment = await _yours_to_change(ctx, ref)
    if not rest.strip():
        ctx.open(await edit_form(ctx, commitment))
        return
    word, _, value = rest.strip().partition(" ")
    name = _field(word)
    if name is None:
        raise Refusal("commitments.edit_usage")
    if value.strip() in ("", "-") and name != "co_owners":
        raise Refusal("commitments.edit_usage")
    await change(ctx, commitment, {name: "" if value.strip() == "-" else value})


# --- handing on what a forgotten person owned --------------------------------------------------


async def hand_over(uow: UnitOfWork, now: datetime, person_id: int) -> None:
    """Someone is about to be forgotten: each open commitment they own goes to their team's
    coordinators, by DM, to give to someone else or to close. Called before the person is
    blanked; the words are scrubbed of their name with everything else."""
    for c in await uow.commitments.for_person(person_id):
        if c.owner_id != person_id or c.id is None:
            continue
        team = await uow.get(Team, c.team_id)
        for membership, coordinator in await uow.directory.members(c.team_id):
            if membership.role != Role.COORDINATOR or coordinator.id in (None, person_id):
                continue
            assert coordinator.id is not None
            lang = coordinator.locale
            form = json.dumps({"form": "hand_over", "context": str(c.id)})
            await uow.outbox.enqueue(
                outbox_row(
                    Destination.dm(coordinator.id),
                    message(
                        Text(
                            t(
                                lang,
                                "commitments.hand_over",
                                number=c.id,
                                text=c.text,
                                team=team.name if team else "",
                            )
                        ),
                        Choices(
                            (
                                Action("form", t(lang, "commitments.give_to"), form, "primary"),
                                Action("close_commitment", t(lang, "commitments.close"), str(c.id)),
                            )
                        ),
                    ),
                    kind="hand_over",
                    dedupe_key=f"hand-over:{c.id}:{coordinator.id}",
                    due_at=now,
                )
            )


def hand_over_form(lang: str, commitment: Commitment) -> Form:
    return Form(
        "hand_over",
        t(lang, "commitments.hand_over_title", number=commitment.id),
        (PeopleInput("owner", t(lang, "commitments.new_owner"), optional=False),),
        t(lang, "commitments.give_submit"),
        str(commitment.id),
    )


async def close_commitment(ctx: Context, value: str) -> None:
    """A coordinator closes a commitment nobody will carry on (it is let go, with a check-in
    that says who closed it)."""
    commitment = await _team_commitment(ctx, value)
    if commitment.status.is_finished:
        raise Refusal("commitments.finished", number=commitment.id)
    status = CommitmentStatus.RELEASED
    await ctx.uow.store(CheckIn(id_of(commitment), ctx.person_id, status, "", ctx.now))
    commitment.status = status
    ctx.say("commitments.closed", number=commitment.id, text=commitment.text)


# --- help from the team ------------------------------------------------------------------------


async def help_out(ctx: Context, value: str) -> None:
    """ "I can help" on the team's "who can help?": the helper becomes a co-owner, and the
    owner hears it by DM (the channel does not: the stuck message named nobody)."""
    commitment = await _team_commitment(ctx, value)
    if commitment.status.is_finished:
        raise Refusal("commitments.finished", number=commitment.id)
    if ctx.person_id == commitment.owner_id or ctx.person_id in commitment.co_owner_ids:
        ctx.say("commitments.already_on_it", number=commitment.id)
        return
    commitment.co_owner_ids = [*commitment.co_owner_ids, ctx.person_id]
    owner = await ctx.uow.get(Person, commitment.owner_id) if commitment.owner_id else None
    if owner is not None and owner.id is not None and not owner.erased:
        await ctx.post(
            Destination.dm(owner.id),
            message(
                Text(
                    t(
                        owner.locale,
                        "commitments.helper_joined",
                        name=ctx.person.display_name,
                        text=commitment.text,
                    )
                )
            ),
            kind="helper",
            dedupe_key=f"helper:{commitment.id}:{ctx.person_id}",
        )
    ctx.say("commitments.helping", number=commitment.id, text=commitment.text)


router = Router()
router.command("my", in_dm=True)(no_args(my_commitments))
router.command("edit", in_dm=lambda args: record_id(args) is not None)(edit)
router.action("help_out")(help_out)
router.action("close_commitment", role=Role.COORDINATOR)(close_commitment)


async def _edit_form(ctx: Context, context: str) -> Form:
    return await edit_form(ctx, await _yours_to_change(ctx, context))


@router.form("edit_commitment", build=_edit_form)
async def _edited(ctx: Context, values: dict[str, str], context: str) -> None:
    commitment = await _yours_to_change(ctx, context)
    await change(ctx, commitment, {k: v for k, v in values.items() if k in EDITABLE})


async def _hand_over_form(ctx: Context, context: str) -> Form:
    return hand_over_form(ctx.lang, await _team_commitment(ctx, context))


@router.form("hand_over", build=_hand_over_form, role=Role.COORDINATOR)
async def _handed_over(ctx: Context, values: dict[str, str], context: str) -> None:
    commitment = await _team_commitment(ctx, context)
    if not values.get("owner", "").strip():
        raise Refusal("commitments.one_owner")
    await change(ctx, commitment, {"owner": values["owner"]})


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
