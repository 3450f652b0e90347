"""Changing what is planned: a planned session's start (as people type it), title, question
and way of running, or cancelling it; a series' repetition, first start, last day and way of
running, or pausing or stopping it. Everything is checked before anything changes; what was
queued for the old time goes (series.drop_planned) and is planned anew; the channel is told in
the team's language. A session that started is the team's history and does not change."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from handlers import series as series_flow
from handlers.context import MAX_TITLE, Context, Refusal, clean_text, record_id
from handlers.etiquette import Etiquette
from handlers.lookup import round_title
from handlers.messages import (
    DateInput,
    DateTimeInput,
    Destination,
    Form,
    Option,
    Select,
    Text,
    TextInput,
    message,
)
from handlers.model import Round, Series, Session, SessionMode, SessionStatus, id_of
from handlers.plan import moment_text, move_text, team_calendar, why_not_working
from handlers.series import RECURRENCES
from handlers.session_fields import (
    mode_of,
    mode_select,
    round_days_of,
    round_length_select,
    starts_at_of,
)
from handlers.when import parse_day
from prompts.catalog import LANGUAGES, t, words


def edit_session_form(lang: str, session: Session | None = None) -> Form:
    """A planned session's start, title, question and way of running: filled in with what it
    says now; a field left empty keeps its value."""
    return Form(
        "edit_session",
        t(lang, "sessions.edit_title"),
        (
            DateTimeInput("starts_at", t(lang, "sessions.edit_starts_at_label")),
            TextInput(
                "title",
                t(lang, "sessions.title_label"),
                max_length=MAX_TITLE,
                optional=True,
                value=session.title if session else "",
            ),
            TextInput(
                "question",
                t(lang, "sessions.question_label"),
                multiline=True,
                max_length=1000,
                optional=True,
                value=session.question if session else "",
            ),
            mode_select(lang),
            round_length_select(lang),
        ),
        t(lang, "sessions.edit_submit"),
        str(session.id) if session is not None and session.id is not None else "",
    )


async def planned_session(ctx: Context, ref: str) -> Session:
    """The session to change: by its number (a form's context, the web), else the team's own.
    Only one still being prepared changes: a started or closed session is the team's history."""
    if ref.strip():
        number = record_id(ref)
        session = await ctx.uow.get(Session, number) if number is not None else None
        if session is None or session.team_id != ctx.team_id:
            raise Refusal("sessions.no_such_session", number=ref.strip()[:12])
    else:
        found = await ctx.uow.sessions.current_for_team(ctx.team_id)
        if found is None:
            raise Refusal("sessions.nothing_planned")
        session = found
    # Read again under the row's lock: the schedule may be starting it this very moment.
    held = await ctx.uow.sessions.hold(id_of(session))
    if held is None:
        raise Refusal("sessions.no_such_session", number=str(session.id))
    if held.status != SessionStatus.DRAFT:
        raise Refusal("sessions.edit_started", title=held.title)
    return held


def _text_or(values: dict[str, str], name: str, limit: int, now: str) -> str:
    return clean_text(values[name], limit) if values.get(name, "").strip() else now


def _working_days_of(team: Etiquette, rounds: list[Round]) -> int | None:
    """An async plan's round length: the shortest round, in working days (a move only makes a
    round longer). None when the rounds have no plan (a live session)."""
    lengths = []
    for rnd in rounds:
        if rnd.opens_at is None or rnd.closes_at is None:
            return None
        day, last, count = team.local_day(rnd.opens_at), team.local_day(rnd.closes_at), 0
        while day < last:
            day += timedelta(days=1)
            count += team.is_working_day(day)
        lengths.append(max(count, 1))
    return min(lengths, default=None)


async def replan(ctx: Context, session: Session, days: int) -> list[str]:
    """The session's rounds planned again for its (new) start and mode, with what was queued
    for the old time gone first; the lines that say the new plan to the coordinator."""
    await series_flow.drop_planned(ctx, session)
    rounds = list(await ctx.uow.sessions.rounds(id_of(session)))
    zone = ctx.person.timezone
    if session.mode == SessionMode.ASYNC:
        plan = await series_flow.plan_for(ctx, session, len(rounds), days)
        if plan is None:  # the Refusal rolls everything back
            raise Refusal("sessions.unplannable")
        session.starts_at = plan.starts_at
        for rnd in rounds:
            rnd.opens_at, rnd.closes_at = plan.slots[rnd.position - 1]
        titles = [round_title(ctx.lang, r) for r in rounds]
        lines = [ctx.t("sessions.created_async", zone=zone)]
        lines += [move_text(ctx.lang, m) for m in plan.moves]
        return lines + series_flow.said_plan(ctx.lang, plan, zone, titles, ctx.now)
    for rnd in rounds:
        rnd.opens_at = rnd.closes_at = None  # a live session moves on by `next`
    if session.starts_at is None:
        return [ctx.t("sessions.changed_no_time")]
    await series_flow.plan_reminder(ctx, session, again=True)
    lines = [ctx.t("sessions.created_live", when=moment_text(ctx.lang, session.starts_at, zone))]
    calendar = team_calendar(ctx.workspace, ctx.policy)
    if holiday := why_not_working(calendar, session.starts_at, ctx.lang):
        lines.append(ctx.t("sessions.live_on_holiday", holiday=holiday))
    return lines


async def change_session(ctx: Context, session: Session, values: dict[str, str]) -> None:
    """Another start, title, question or way of running for a planned session. Everything is
    checked before anything changes (a refusal leaves it as it was); its plan, reminder and
    notices move with it; the channel hears of it in the session's language."""
    title = _text_or(values, "title", MAX_TITLE, session.title)
    question = _text_or(values, "question", 1000, session.question)
    starts_at = starts_at_of(values, ctx) or session.starts_at
    days = round_days_of(values)
    given_mode = values.get("mode", "").strip() or days is not None
    mode = mode_of(values, planned=days is not None) if given_mode else SessionMode(session.mode)
    if mode == SessionMode.ASYNC and starts_at is None:
        raise Refusal("sessions.async_needs_time")
    rounds = list(await ctx.uow.sessions.rounds(id_of(session)))
    series = await ctx.uow.get(Series, session.series_id) if session.series_id else None
    calendar = team_calendar(ctx.workspace, ctx.policy)
    days = days or _working_days_of(calendar, rounds) or (series.round_days if series else 1) or 1
    unchanged = (title, question, starts_at, mode) == (
        session.title, session.question, session.starts_at, session.mode,
    ) and not values.get("round_length", "").strip()  # fmt: skip
    if unchanged:
        ctx.say("sessions.unchanged", title=session.title)
        return
    await series_flow.drop_planned(ctx, session)  # under the old start's keys
    session.title, session.question, session.mode = title, question, mode
    session.starts_at = starts_at
    lines = [ctx.t("sessions.changed", title=title)]
    lines += await replan(ctx, session, days)
    ctx.reply(message(*(Text(line) for line in lines)))
    await _announce(ctx, session, "sessions.changed_announce")


async def _announce(ctx: Context, session: Session, key: str, **more: str) -> None:
    """The team hears of a change to what was planned, in the session's language and the
    team's zone (the channel is many people's)."""
    lang = session.locale
    zone = team_calendar(ctx.workspace, ctx.policy).timezone
    when = (
        moment_text(lang, session.starts_at, zone)
        if session.starts_at is not None
        else t(lang, "sessions.when_started")
    )
    mode = t(lang, f"sessions.mode_names.{session.mode}")
    await ctx.post(
        Destination.channel(session.team_id),
        message(Text(t(lang, key, title=session.title, when=when, mode=mode, **more))),
        kind="session_changed",
        dedupe_key=f"session-changed:{id_of(session)}:{ctx.now.isoformat()}",
    )


async def cancel(ctx: Context, ref: str) -> None:
    """A planned session does not take place: its plan and reminders go with it. In a series,
    the next date is prepared in its place, so the series goes on."""
    session = await planned_session(ctx, ref)
    await series_flow.drop_planned(ctx, session)
    follow = await series_flow.plan_next(ctx, session)
    await _announce(ctx, session, "sessions.cancelled_announce")
    await ctx.uow.delete(session)
    ctx.say("sessions.cancelled", title=session.title)
    if follow is not None and follow.starts_at is not None:
        when = moment_text(ctx.lang, follow.starts_at, ctx.person.timezone)
        ctx.say("sessions.cancelled_next", when=when)


SERIES_STATES = ("go_on", "pause", "stop")


def edit_series_form(lang: str, series: Series | None = None) -> Form:
    """A series' repetition, its next day and time (the weekday and time follow from it), its
    last day, its way of running, and whether it goes on: empty fields keep what is."""
    repeats = tuple(
        Option(k, t(lang, f"sessions.recurrences.{k}")) for k in RECURRENCES if k != "none"
    )
    states = tuple(Option(s, t(lang, f"sessions.series_states.{s}")) for s in SERIES_STATES)
    return Form(
        "edit_series",
        t(lang, "sessions.series_edit_title", title=series.title if series else ""),
        (
            Select("recurrence", t(lang, "sessions.recurrence_label"), repeats, optional=True),
            DateTimeInput("starts_at", t(lang, "sessions.series_from_label")),
            DateInput("until", t(lang, "sessions.series_until_label"), optional=True),
            mode_select(lang),
            round_length_select(lang),
            Select("state", t(lang, "sessions.series_state_label"), states, optional=True),
        ),
        t(lang, "sessions.edit_submit"),
        str(series.id) if series is not None and series.id is not None else "",
    )


async def team_series(ctx: Context, ref: str) -> Series:
    """The series to change: by its number, else the team's one series (several: which?)."""
    if ref.strip():
        number = record_id(ref)
        series = await ctx.uow.get(Series, number) if number is not None else None
        if series is None or series.team_id != ctx.team_id:
            raise Refusal("sessions.no_such_series")
        return series
    found = {s.series_id for s in await ctx.uow.sessions.for_team(ctx.team_id) if s.series_id}
    if not found:
        raise Refusal("sessions.no_series")
    if len(found) > 1:
        numbers = sorted(found)
        raise Refusal(
            "sessions.which_series", numbers=", ".join(map(str, numbers)), first=numbers[0]
        )
    series = await ctx.uow.get(Series, found.pop())
    assert series is not None
    return series


def _state(values: dict[str, str]) -> str:
    word = values.get("state", "").strip().casefold()
    if not word:
        return ""
    for state in SERIES_STATES:
        names = {state} | {
            w.casefold()
            for lang in LANGUAGES
            for w in words(lang, f"sessions.series_state_words.{state}")
        }
        if word in names:
            return state
    raise Refusal("sessions.unknown_series_state")


def _until(values: dict[str, str], ctx: Context) -> date | None:
    word = values.get("until", "").strip()
    if not word:
        return None
    day = parse_day(word, ctx.today())
    if day < ctx.today():
        raise Refusal("errors.date_in_past")
    return day


async def change_series(ctx: Context, series: Series, values: dict[str, str]) -> None:
    """Another repetition, next day and time, last day or way of running; or the series pauses
    (nothing is prepared until it goes on) or stops (it ends today). Its prepared session moves
    to the new first date, or goes; the channel hears of it in the team's language."""
    state = _state(values)
    recurrence = series_flow.recurrence_of(values.get("recurrence", ""))
    anchor = starts_at_of(values, ctx)
    until = _until(values, ctx)
    days = round_days_of(values)
    given_mode = values.get("mode", "").strip() or days is not None
    mode = mode_of(values, planned=days is not None) if given_mode else None
    if state == "stop":
        until = ctx.today() - timedelta(days=1)  # the rule ends: calendars stop showing it
    rule = series.rrule
    if recurrence != "none" or anchor is not None or until is not None:
        rule = series_flow.changed_rule(series, recurrence, anchor, until)
    draft = await series_flow.prepared(ctx, series)
    if state in ("pause", "stop"):
        await _halt(ctx, series, draft, rule, state)
        return
    resumed = state == "go_on" and not series.active
    going = series.active or resumed  # a paused series changed stays paused unless it goes on
    # Another first start or repetition moves the prepared session to the rule's next date.
    moved = resumed or series_flow.rule_parts(rule)[:2] != series_flow.rule_parts(series.rrule)[:2]
    series.rrule, series.active = rule[:512], going
    if mode is not None:
        series.round_days = (days or series.round_days or 1) if mode == SessionMode.ASYNC else None
    lines = [ctx.t("sessions.series_changed", title=series.title,
                   repeats=_repeats(ctx.lang, series))]  # fmt: skip
    if not going:
        lines.append(ctx.t("sessions.series_still_paused"))
        draft = None
    else:
        draft, more = await _prepared_again(ctx, series, draft, moved, mode, days, until)
        lines += more
    ctx.reply(message(*(Text(line) for line in lines)))
    await _announce_series(ctx, series, "sessions.series_changed_announce", draft)


async def _halt(ctx: Context, series: Series, draft: Session | None, rule: str, state: str) -> None:
    """Paused or stopped: nothing more is prepared and what was queued goes. A paused
    series' first session, never held, waits without a date (its question and people are
    kept for when it goes on); otherwise the prepared one goes, as when it stops."""
    series.active = False
    series.rrule = rule[:512]
    if draft is not None:
        await series_flow.drop_planned(ctx, draft)
        if state == "pause" and await series_flow.latest(ctx, series, held=True) is None:
            draft.starts_at = None
            for rnd in await ctx.uow.sessions.rounds(id_of(draft)):
                rnd.opens_at = rnd.closes_at = None
        else:
            await ctx.uow.delete(draft)
    done = "paused" if state == "pause" else "stopped"
    ctx.say(f"sessions.series_{done}", title=series.title)
    await _announce_series(ctx, series, f"sessions.series_{done}_announce")


async def _prepared_again(
    ctx: Context,
    series: Series,
    draft: Session | None,
    moved: bool,
    mode: SessionMode | None,
    days: int | None,
    until: date | None,
) -> tuple[Session | None, list[str]]:
    """The series' prepared session after a change: made when there was none (it was paused),
    moved to the rule's next date, planned again for another mode, or gone when the series
    now ends before it. With the lines that say so."""
    calendar = team_calendar(ctx.workspace, ctx.policy)
    found = series_flow.next_date(series, ctx.now, calendar)
    if draft is None:
        template = await series_flow.latest(ctx, series)
        if found is not None and template is not None:
            draft = await series_flow.plan_next(ctx, template)
        if draft is None or draft.starts_at is None:
            return None, [ctx.t("sessions.series_no_next")]
        when = moment_text(ctx.lang, draft.starts_at, ctx.person.timezone)
        return draft, [ctx.t("sessions.series_next", when=when)]
    zone = ZoneInfo(series.timezone)
    after_end = (until is not None and draft.occurrence is not None
                 and draft.occurrence.astimezone(zone).date() > until)  # fmt: skip
    if after_end or (moved and found is None):
        await series_flow.drop_planned(ctx, draft)
        await ctx.uow.delete(draft)
        return None, [ctx.t("sessions.series_no_next")]
    if moved and found is not None:
        await series_flow.drop_planned(ctx, draft)
        draft.occurrence, draft.starts_at = found.occurrence, found.starts_at
        await series_flow.announce_holidays(ctx, series, draft, found, calendar)
    if not (moved or mode is not None or days is not None):
        assert draft.starts_at is not None  # an active series' prepared session has a date
        when = moment_text(ctx.lang, draft.starts_at, ctx.person.timezone)
        return draft, [ctx.t("sessions.series_next", when=when)]
    draft.mode = mode or draft.mode
    rounds = list(await ctx.uow.sessions.rounds(id_of(draft)))
    length = days or series.round_days or _working_days_of(calendar, rounds) or 1
    return draft, await replan(ctx, draft, length)


def _repeats(lang: str, series: Series) -> str:
    key = series_flow.recurrence_key(series.rrule)
    return t(lang, f"sessions.recurrences.{key}") if key else t(lang, "sessions.repeats_own")


async def _announce_series(
    ctx: Context, series: Series, key: str, draft: Session | None = None
) -> None:
    lang = ctx.workspace.locale
    zone = team_calendar(ctx.workspace, ctx.policy).timezone
    when = (
        moment_text(lang, draft.starts_at, zone)
        if draft is not None and draft.starts_at is not None
        else t(lang, "sessions.series_nothing_planned")
    )
    await ctx.post(
        Destination.channel(series.team_id),
        message(Text(t(lang, key, title=series.title, repeats=_repeats(lang, series), when=when))),
        kind="series_changed",
        dedupe_key=f"series-changed:{id_of(series)}:{ctx.now.isoformat()}",
    )
