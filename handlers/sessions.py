"""A session's life: a coordinator creates it, live (started and moved on in a meeting) or
async (on a plan over working days); rounds follow one another, and it closes with the team's
summary, or as "did not take place" when nobody took part. Only coordinators steer; everyone
can see where it stands. Series: handlers/series.py; async plans: handlers/plan.py; changing
what is planned: handlers/replanning.py."""

from __future__ import annotations

from handlers import assist
from handlers import rounds as round_flow
from handlers import series as series_flow
from handlers.commitments import review
from handlers.context import MAX_TITLE, Context, Refusal, clean_text, record_id, yes_or_no
from handlers.conversation import Router, no_args
from handlers.lookup import current_round, require_running_session, require_session, round_title
from handlers.messages import (
    DateTimeInput,
    Destination,
    Fields,
    Form,
    Heading,
    Option,
    PeopleInput,
    Select,
    Text,
    TextInput,
    message,
)
from handlers.model import (
    Person,
    Role,
    Round,
    RoundKind,
    RoundStatus,
    Series,
    Session,
    SessionMode,
    SessionStatus,
    id_of,
)
from handlers.nudges import etiquette_of
from handlers.people import ensure_members
from handlers.plan import moment_text, move_text
from handlers.replanning import (
    cancel,
    change_series,
    change_session,
    edit_series_form,
    edit_session_form,
    planned_session,
    team_series,
)
from handlers.reports import session_to_summarise, snapshot_map, summary_message, took_part
from handlers.series import RECURRENCES, next_occurrence, series_rule
from handlers.session_fields import MODES, ROUND_LENGTHS, mode_of, round_days_of, starts_at_of
from prompts.catalog import LANGUAGES, language, t
from prompts.formats import SessionFormat, custom_format, formats

MAX_VOTE_BUDGET = 20


def _format(values: dict[str, str]) -> SessionFormat:
    key = values.get("format", "").strip().lower() or "retro"
    if key == "custom":
        names = [n.strip() for n in values.get("rounds", "").replace(",", " ").split() if n]
        chosen = custom_format(names)
        if chosen is None:
            raise Refusal("errors.unknown_rounds")
        return chosen
    if key not in formats():
        raise Refusal("errors.unknown_format", formats=", ".join(sorted(formats())))
    return formats()[key]


def _flag(values: dict[str, str], name: str, default: bool) -> bool:
    word = values.get(name, "").strip()
    if not word:
        return default
    answer = yes_or_no(word)
    if answer is None:
        raise Refusal("errors.yes_or_no", field=name)
    return answer


def _budget(values: dict[str, str]) -> int:
    word = values.get("vote_budget", "").strip() or "3"
    if not word.isdigit() or not 1 <= int(word) <= MAX_VOTE_BUDGET:
        raise Refusal("errors.vote_budget", maximum=MAX_VOTE_BUDGET)
    return int(word)


def new_session_form(lang: str) -> Form:
    """What a coordinator fills in; Slack shows it as a modal, Teams as a card."""
    fmt_options = tuple(Option(key, t(lang, f"formats.{key}")) for key in sorted(formats()))
    return Form(
        "new_session",
        t(lang, "sessions.form_title"),
        (
            TextInput("title", t(lang, "sessions.title_label"), max_length=MAX_TITLE),
            TextInput(
                "question", t(lang, "sessions.question_label"), multiline=True, max_length=1000
            ),
            Select("format", t(lang, "sessions.format_label"), fmt_options),
            Select(
                "language",
                t(lang, "sessions.language_label"),
                tuple(Option(code, t(lang, f"languages.{code}")) for code in LANGUAGES),
            ),
            Select(
                "anonymous",
                t(lang, "sessions.anonymous_label"),
                (Option("yes", t(lang, "sessions.yes")), Option("no", t(lang, "sessions.no"))),
            ),
            PeopleInput("members", t(lang, "sessions.members_label")),
            DateTimeInput("starts_at", t(lang, "sessions.starts_at_label")),
            Select(
                "round_length",
                t(lang, "sessions.round_length_label"),
                tuple(Option(k, t(lang, f"sessions.round_lengths.{k}")) for k in ROUND_LENGTHS),
                optional=True,
            ),
            Select(
                "recurrence",
                t(lang, "sessions.recurrence_label"),
                tuple(Option(key, t(lang, f"sessions.recurrences.{key}")) for key in RECURRENCES),
                optional=True,
            ),
            Select(
                "mode",
                t(lang, "sessions.mode_label"),
                tuple(Option(m, t(lang, f"sessions.modes.{m}")) for m in MODES),
                optional=True,
            ),
            Select(
                "on_holiday",
                t(lang, "sessions.on_holiday_label"),
                tuple(
                    Option(key, t(lang, f"sessions.on_holiday.{key}"))
                    for key in series_flow.ON_HOLIDAY
                ),
                optional=True,
            ),
        ),
        t(lang, "sessions.create"),
    )


async def _paused_series_of(ctx: Context, session: Session) -> Series | None:
    """The paused series whose first session waits, without a date, for it to go on."""
    if session.series_id is None or session.starts_at is not None:
        return None
    series = await ctx.uow.get(Series, session.series_id)
    return series if series is not None and not series.active else None


async def create(ctx: Context, values: dict[str, str]) -> None:
    """A new session for the team, in draft until a coordinator starts it (live) or its time
    comes (async). Everything is checked before anything is stored; the reply shows the plan."""
    current = await ctx.uow.sessions.current_for_team(ctx.team_id)
    if current is not None:
        waiting = await _paused_series_of(ctx, current)
        if waiting is not None:  # "close it with end" would not be what they need
            raise Refusal("errors.session_waits_for_series", title=waiting.title)
        raise Refusal("errors.session_exists")
    title = clean_text(values.get("title", ""), MAX_TITLE)
    question = clean_text(values.get("question", ""), 1000)
    fmt = _format(values)
    lang_word = values.get("language", "").strip().lower()
    if lang_word and lang_word not in LANGUAGES:
        raise Refusal("errors.unknown_language", languages=", ".join(LANGUAGES))
    recurrence = series_flow.recurrence_of(values.get("recurrence", ""))
    on_holiday = series_flow.holiday_rule_of(values.get("on_holiday", ""))
    rule = values.get("rrule", "").strip().removeprefix("RRULE:") or RECURRENCES[recurrence]
    starts_at = starts_at_of(values, ctx)
    days = round_days_of(values)
    mode = mode_of(values, planned=days is not None)
    if rule and starts_at is None:
        # A series repeats from its first session's time: without one it could never repeat.
        raise Refusal("sessions.series_needs_time")
    if mode == SessionMode.ASYNC and starts_at is None:
        raise Refusal("sessions.async_needs_time")
    anonymous = _flag(values, "anonymous", True)
    budget = _budget(values)
    series_id = None
    timezone = ctx.person.timezone
    if rule:
        assert starts_at is not None
        anchored = series_rule(rule, starts_at, timezone)
        try:
            next_occurrence(anchored, ctx.now)
        except (ValueError, TypeError):
            raise Refusal("errors.unknown_recurrence") from None
        series = Series(ctx.team_id, title, fmt.key, anchored[:512], timezone, on_holiday)
        series.round_days = (days or 1) if mode == SessionMode.ASYNC else None
        series_id = await ctx.uow.store(series)
    session = Session(
        team_id=ctx.team_id,
        title=title,
        question=question,
        format=fmt.key,
        created_by=ctx.person_id,
        locale=language(lang_word or ctx.workspace.locale),
        anonymous=anonymous,
        vote_budget=budget,
        starts_at=starts_at,
        series_id=series_id,
        created_at=ctx.now,
        mode=mode,
        occurrence=starts_at if series_id is not None else None,
    )
    session_id = await ctx.uow.store(session)
    members = values.get("members", "").replace(",", " ").split()
    if not members:  # nobody chosen: the channel's people, as the platform says
        members = [pid for pid, _name in await ctx.roster(ctx.require_team().channel_id)]
    await ensure_members(ctx, members)
    plan = None
    if mode == SessionMode.ASYNC:
        plan = await series_flow.plan_for(ctx, session, len(fmt.rounds), days or 1)
        if plan is None:  # the Refusal rolls everything above back
            raise Refusal("sessions.unplannable")
        session.starts_at = plan.starts_at
    for position, spec in enumerate(fmt.rounds, start=1):
        rnd = Round(
            session_id,
            position,
            RoundKind(spec.kind),
            spec.name,
            list(spec.categories),
            spec.pillar,
        )
        if plan is not None:  # the plan the scheduler follows
            rnd.opens_at, rnd.closes_at = plan.slots[position - 1]
        ctx.uow.add(rnd)
    titles = [round_title(ctx.lang, r) for r in await _rounds_after_flush(ctx, session_id)]
    names = ", ".join(titles)
    lines = [ctx.t("sessions.created", title=title, rounds=names, count=len(fmt.rounds))]
    if plan is not None:  # in the coordinator's words and zone
        lines.append(ctx.t("sessions.created_async", zone=timezone))
        lines += [move_text(ctx.lang, m) for m in plan.moves]
        lines += series_flow.said_plan(ctx.lang, plan, timezone, titles, ctx.now)
    elif starts_at is not None:
        when = moment_text(ctx.lang, starts_at, timezone)
        lines.append(ctx.t("sessions.created_live", when=when))
        await series_flow.plan_reminder(ctx, session)
    if series_id is not None:
        lines.append(ctx.t(f"sessions.created_series.{recurrence}"))
    ctx.reply(message(*(Text(line) for line in lines)))


async def _rounds_after_flush(ctx: Context, session_id: int) -> list[Round]:
    await ctx.uow.flush()  # the rounds just added, as the database orders them
    return list(await ctx.uow.sessions.rounds(session_id))


async def start(ctx: Context) -> None:
    session = await require_session(ctx)
    if session.status != SessionStatus.DRAFT:
        raise Refusal("errors.already_started")
    await begin(ctx, session)
    ctx.say("sessions.started", title=session.title)


async def begin(ctx: Context, session: Session) -> None:
    """The session opens: the welcome, the review of open commitments, the first round."""
    session.status = SessionStatus.OPEN
    lang = session.locale
    rounds = await ctx.uow.sessions.rounds(id_of(session))
    await ctx.post(
        Destination.channel(session.team_id),
        message(
            Heading(t(lang, "sessions.welcome_heading", title=session.title)),
            Fields(((t(lang, "sessions.question_label"), session.question),)),
            Text(t(lang, "sessions.welcome", rounds=len(rounds))),
        ),
        kind="session_open",
        dedupe_key=f"session-open:{session.id}",
    )
    await review(ctx, session)
    await round_flow.open_round(ctx, session, rounds[0], len(rounds))


async def advance(ctx: Context) -> None:
    """Close the open round (its reveal goes to the channel) and open the next one."""
    session = await require_running_session(ctx)
    opened = await advance_session(ctx, session)
    if opened is not None:
        ctx.say("sessions.advanced", title=round_title(ctx.lang, opened))


async def advance_session(ctx: Context, session: Session) -> Round | None:
    """Close the open round and open the next; the last closes the session. The new round."""
    rounds = list(await ctx.uow.sessions.rounds(id_of(session)))
    current = await current_round(ctx, session)
    if current is not None:
        await round_flow.close_round(ctx, session, current)
        await ctx.uow.flush()  # closed, for the queries that follow
    upcoming = [r for r in rounds if r.status == RoundStatus.PENDING]
    if not upcoming:
        await _finish(ctx, session)
        return None
    await round_flow.open_round(ctx, session, upcoming[0], len(rounds))
    return upcoming[0]


async def end(ctx: Context) -> None:
    """Only the running session ends: a prepared one (next week's) is never closed by this."""
    session = await ctx.uow.sessions.current_for_team(ctx.team_id)
    if session is None or session.status != SessionStatus.OPEN:
        raise Refusal("sessions.nothing_to_end")
    await _close(ctx, session)


async def _close(ctx: Context, session: Session) -> bool:
    """What `end` does: the open round's reveal, then the summary; whether it took place."""
    current = await current_round(ctx, session)
    if current is not None:
        await round_flow.close_round(ctx, session, current)
        await ctx.uow.flush()  # closed, for the queries that follow
    return await _finish(ctx, session)


async def close_left_open(ctx: Context, session: Session) -> None:
    """A live session still running at the end of its day (nobody typed `end`) closes as `end`
    would close it, so its series prepares the next one; its coordinator hears of it by DM."""
    held = await _close(ctx, session)
    coordinator = await ctx.uow.get(Person, session.created_by) if session.created_by else None
    if coordinator is None:
        return
    key = "sessions.closed_left_open" if held else "sessions.closed_left_open_not_held"
    await ctx.post(
        Destination.dm(id_of(coordinator)),
        message(Text(t(coordinator.locale, key, title=session.title))),
        kind="closed_left_open",
        dedupe_key=f"closed-left-open:{id_of(session)}",
        due_at=etiquette_of(coordinator, ctx.policy).next_slot(ctx.now),  # in their hours
    )


async def _finish(ctx: Context, session: Session) -> bool:
    session_id = id_of(session)
    for rnd in await ctx.uow.sessions.rounds(session_id):
        if rnd.status == RoundStatus.PENDING:
            rnd.status = RoundStatus.CLOSED
    held = await took_part(ctx.uow, session)
    session.status = SessionStatus.CLOSED if held else SessionStatus.NOT_HELD
    session.closed_at = ctx.now
    # The map as it stands now is this session's for good (its summary and exports).
    session.map_snapshot = await snapshot_map(ctx.uow, session)
    await ctx.uow.flush()  # closed, for the queries that follow
    await series_flow.plan_next(ctx, session)
    if not held:
        # Nothing to sum up: no summary, no empty figures; the coordinator decides what next.
        await series_flow.ask_to_keep(ctx, session)
        ctx.say("sessions.not_held", title=session.title)
        return False
    await ctx.post(
        Destination.channel(session.team_id),
        await summary_message(ctx.uow, session, bounds=ctx.bounds),
        kind="summary",
        dedupe_key=f"summary:{session.id}",
    )
    await assist.after_session(ctx, session)
    # Last: the reveal and summary above still count authors; nothing after close needs them.
    await ctx.uow.flush()  # all written before the statement that drops the authors
    await ctx.uow.sessions.forget_authors(session_id)
    ctx.say("sessions.closed", title=session.title)
    return True


async def not_started(ctx: Context, session: Session) -> None:
    """A live session nobody started by the end of its day did not take place."""
    for rnd in await ctx.uow.sessions.rounds(id_of(session)):
        rnd.status = RoundStatus.CLOSED
    session.status = SessionStatus.NOT_HELD
    session.closed_at = ctx.now
    await ctx.uow.flush()
    await series_flow.plan_next(ctx, session)
    await series_flow.ask_to_keep(ctx, session)


async def status(ctx: Context) -> None:
    """Where the session stands; counts only, never who has or has not answered."""
    session = await _latest_session(ctx)
    rounds = await ctx.uow.sessions.rounds(id_of(session))
    current = await current_round(ctx, session)
    pairs = [
        (ctx.t("sessions.question_label"), session.question),
        (ctx.t("sessions.status_label"), ctx.t(f"sessions.statuses.{session.status.value}")),
    ]
    if current is not None:
        pairs.append(
            (
                ctx.t("sessions.round_label"),
                ctx.t(
                    "sessions.round_value",
                    position=current.position,
                    total=len(rounds),
                    title=round_title(ctx.lang, current),
                ),
            )
        )
    blocks: list = [Heading(session.title), Fields(tuple(pairs))]
    if current is not None and current.kind in (RoundKind.CHECKIN, RoundKind.REFLECT):
        authors = {c.author_id for c in await ctx.uow.sessions.contributions([id_of(current)])}
        members = await ctx.uow.directory.members(session.team_id)
        blocks.append(
            Text(ctx.t("sessions.shared_count", shared=len(authors), members=len(members)))
        )
    ctx.reply(message(*blocks))


async def summary(ctx: Context) -> None:
    """The running session's summary so far, else the last one that took place; never a
    draft's."""
    session = await session_to_summarise(ctx.uow, ctx.team_id)
    if session is None:
        raise Refusal("sessions.no_summary_yet")
    ctx.reply(await summary_message(ctx.uow, session, ctx.lang, ctx.bounds))


async def _latest_session(ctx: Context) -> Session:
    sessions = await ctx.uow.sessions.for_team(ctx.team_id)
    if not sessions:
        raise Refusal("errors.no_session")
    return sessions[-1]


router = Router()


@router.command("new", role=Role.COORDINATOR, form="new_session")
@router.action("new", role=Role.COORDINATOR)
async def _new(ctx: Context, _args: str) -> None:
    ctx.open(new_session_form(ctx.lang))


@router.form("new_session", build=new_session_form, static=True, role=Role.COORDINATOR)
async def _create(ctx: Context, values: dict[str, str], _context: str) -> None:
    await create(ctx, values)


router.command("start", role=Role.COORDINATOR)(no_args(start))
router.command("next", role=Role.COORDINATOR)(no_args(advance))
router.command("end", role=Role.COORDINATOR)(no_args(end))
router.command("status", in_dm=True)(no_args(status))
router.command("summary", in_dm=True)(no_args(summary))
# Asked after a session nobody took part in (by DM): does the series go on?
router.action("series_keep")(series_flow.keep)
router.action("series_stop")(series_flow.stop)


# Changing what is planned: the session (its start as people type it: `reschedule tue 10:00`),
# cancelling it, and a series.
@router.command("reschedule", role=Role.COORDINATOR, form="edit_session")
async def _reschedule(ctx: Context, args: str) -> None:
    session = await planned_session(ctx, "")
    if args.strip():
        await change_session(ctx, session, {"starts_at": args})
        return
    ctx.open(edit_session_form(ctx.lang, session))


async def _edit_session_form(ctx: Context, context: str) -> Form:
    return edit_session_form(ctx.lang, await planned_session(ctx, context))


@router.form(
    "edit_session",
    build=_edit_session_form,
    role=Role.COORDINATOR,
    typed_fields=("starts_at", "title", "question", "mode", "round_length"),
)
async def _session_edited(ctx: Context, values: dict[str, str], context: str) -> None:
    await change_session(ctx, await planned_session(ctx, context), values)


router.command("cancel", role=Role.COORDINATOR)(cancel)
router.action("cancel_session", role=Role.COORDINATOR)(cancel)


@router.command("series", role=Role.COORDINATOR, form="edit_series", typed_form=lambda a: ";" in a)
async def _series(ctx: Context, args: str) -> None:
    """`series` (or `series 3`) opens the form; `series pause`, `series 3 stop`, `reeks
    doorgaan` change its state at once."""
    ref, _, rest = args.strip().partition(" ")
    if ref and record_id(ref) is None:
        ref, rest = "", args.strip()
    series = await team_series(ctx, ref)
    if rest.strip():
        await change_series(ctx, series, {"state": rest})
        return
    ctx.open(edit_series_form(ctx.lang, series))


async def _edit_series_form(ctx: Context, context: str) -> Form:
    return edit_series_form(ctx.lang, await team_series(ctx, context))


@router.form(
    "edit_series",
    build=_edit_series_form,
    role=Role.COORDINATOR,
    typed_fields=("recurrence", "starts_at", "until", "mode", "round_length", "state"),
)
async def _series_edited(ctx: Context, values: dict[str, str], context: str) -> None:
    await change_series(ctx, await team_series(ctx, context), values)
