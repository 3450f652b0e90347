"""Nudges: the bot keeps the process going so that nobody has to chase anyone.

A nudge is an outbox row whose payload says what to send ({"nudge": {"type": …, ids}}), not
the words: it is rendered when it is due, from the state then. That is how a "round closes
soon" reaches only those who have not answered, and how a nudge that no longer makes sense
(the round closed, the commitment is done) is skipped with a reason instead of being sent.
When a nudge is planned, the person's etiquette (time zone, quiet hours, weekends, holidays)
and the daily cap choose its moment; coordinators never see who was nudged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from handlers.commitments import check_in_buttons, status_label
from handlers.context import Context, Refusal, record_id
from handlers.conversation import Router
from handlers.etiquette import Etiquette, NudgePolicy, own_holidays
from handlers.lookup import round_title
from handlers.messages import (
    Action,
    Choices,
    Destination,
    Heading,
    Message,
    Text,
    message,
    outbox_row,
)
from handlers.model import (
    Commitment,
    CommitmentStatus,
    OutboxMessage,
    OutboxStatus,
    Person,
    Round,
    RoundKind,
    RoundStatus,
    Session,
    SessionStatus,
    Team,
    Workspace,
    id_of,
)
from handlers.plan import moment_text
from handlers.ports import UnitOfWork
from handlers.round_prompts import round_prompt
from prompts.catalog import t

# Outbox kinds that are nudges (reported by the demo and the quarter's timeline).
NUDGE_KINDS = ("round_open", "closing_soon", "checkin", "overdue")
# Those the daily cap counts and moves. A round's question is not a reminder: it never counts
# and is never pushed to another day (the round's plan is laid so that it reaches everyone).
CAPPED_KINDS = ("closing_soon", "checkin", "overdue")
SNOOZE = timedelta(days=3)
CHECK_IN_HOUR = time(9, 0)


@dataclass(frozen=True)
class Ready:
    message: Message


@dataclass(frozen=True)
class Skip:
    reason: str  # a key in the nudges.skipped catalog section


@dataclass(frozen=True)
class Later:
    when: datetime


Outcome = Ready | Skip | Later


def etiquette_of(person: Person, policy: NudgePolicy) -> Etiquette:
    """A person's hours and their own public holidays (a London colleague keeps Boxing Day,
    not King's Day): as they set them, else from their time zone, else the installation's."""
    country, region = holidays_of(person, policy)
    return Etiquette(person.timezone, person.quiet_start, person.quiet_end, country, region)


def holidays_of(person: Person, policy: NudgePolicy) -> tuple[str, str]:
    return own_holidays(
        person.holiday_country, person.holiday_region, person.timezone, policy.country
    )


async def plan(
    uow: UnitOfWork,
    person: Person,
    kind: str,
    spec: dict[str, Any],
    dedupe_key: str,
    wanted: datetime,
    policy: NudgePolicy,
) -> bool:
    """Queue a nudge for a person at the first moment their etiquette and the cap allow."""
    person_id = id_of(person)
    etiquette = etiquette_of(person, policy)
    when = etiquette.next_slot(wanted)
    for _ in range(60 if kind in CAPPED_KINDS else 0):  # the cap moves to the next working day
        start, end = etiquette.day_bounds(etiquette.local_day(when))
        if await uow.outbox.count_nudges(person_id, start, end, CAPPED_KINDS) < policy.daily_cap:
            break
        when = etiquette.next_slot(end)
    nudge = {"type": kind, **spec}
    return await uow.outbox.enqueue(
        outbox_row(
            Destination.dm(person_id), kind=kind, dedupe_key=dedupe_key, due_at=when, nudge=nudge
        )
    )


async def plan_for_team(
    uow: UnitOfWork,
    team: Team,
    spec: dict[str, Any],
    dedupe_key: str,
    wanted: datetime,
    policy: NudgePolicy,
) -> bool:
    """A team nudge (in the channel, never naming anyone), within the workspace's hours."""
    workspace = await uow.get(Workspace, team.workspace_id)
    timezone = workspace.timezone if workspace else Etiquette().timezone
    when = Etiquette(timezone, country=policy.country).next_slot(wanted)
    return await uow.outbox.enqueue(
        outbox_row(
            Destination.channel(id_of(team)),
            kind=str(spec["type"]),
            dedupe_key=dedupe_key,
            due_at=when,
            nudge=spec,
        )
    )


async def plan_check_ins(
    uow: UnitOfWork, commitment: Commitment, now: datetime, policy: NudgePolicy
) -> None:
    """Halfway and on the due date a check-in; a day after it, one gentle overdue note."""
    commitment_id = id_of(commitment)
    owner = await uow.get(Person, commitment.owner_id) if commitment.owner_id else None
    if owner is None:
        return
    etiquette = etiquette_of(owner, policy)
    due = etiquette.at(commitment.due_date, CHECK_IN_HOUR)
    spec = {"commitment_id": commitment_id}
    if due - now >= timedelta(days=2):
        halfway = etiquette.at(etiquette.local_day(now + (due - now) / 2), CHECK_IN_HOUR)
        await plan(
            uow,
            owner,
            "checkin",
            {**spec, "moment": "halfway"},
            f"checkin:{commitment_id}:halfway",
            halfway,
            policy,
        )
    await plan(
        uow,
        owner,
        "checkin",
        {**spec, "moment": "due"},
        f"checkin:{commitment_id}:due",
        due,
        policy,
    )
    # A day after the check-in really goes out (a holiday can move it), never the same day.
    overdue = etiquette.next_slot(due) + policy.overdue_after
    await plan(uow, owner, "overdue", spec, f"overdue:{commitment_id}", overdue, policy)


async def plan_closing_soon(
    uow: UnitOfWork, session: Session, rnd: Round, members: list[Person], policy: NudgePolicy
) -> None:
    """Before a planned round closes: a DM to whoever has not answered, and a count to the team."""
    if rnd.closes_at is None or rnd.opens_at is None or rnd.id is None:
        return
    before = min(policy.closing_soon_before, (rnd.closes_at - rnd.opens_at) / 2)
    wanted = rnd.closes_at - before
    for person in members:
        await plan(
            uow,
            person,
            "closing_soon",
            {"round_id": rnd.id},
            f"closing-soon:{rnd.id}:{person.id}",
            wanted,
            policy,
        )
    team = await uow.get(Team, session.team_id)
    if team is not None:
        await plan_for_team(
            uow,
            team,
            {"type": "closing_soon_team", "round_id": rnd.id},
            f"closing-soon-team:{rnd.id}",
            wanted,
            policy,
        )


# --- when it is due ---------------------------------------------------------------------------


async def prepare(
    uow: UnitOfWork, item: OutboxMessage, now: datetime, policy: NudgePolicy
) -> Outcome:
    """What a due nudge becomes now: a message, a skip with its reason, or a later moment."""
    spec = item.payload["nudge"]
    kind = spec["type"]
    if kind == "closing_soon_team":
        return await _closing_soon_team(uow, spec)
    person = await uow.get(Person, item.person_id) if item.person_id else None
    if person is None or person.erased:
        return Skip("forgotten")
    if person.nudges_paused:
        return Skip("paused")
    # First whether it still makes sense (a stale nudge is skipped now, not postponed) …
    if kind == "checkin" and spec.get("moment") == "halfway":
        # After downtime the due-date check-in may be due too: ask once, not twice.
        due = await uow.outbox.by_key(f"checkin:{spec['commitment_id']}:due")
        if due is not None and due.due_at <= now:
            return Skip("superseded")
    if kind in ("round_open", "closing_soon"):
        outcome = await _round_nudge(uow, person, spec, kind)
    elif kind == "session_reminder":
        outcome = await _session_reminder(uow, person, spec)
    elif kind in ("checkin", "overdue"):
        outcome = await _commitment_nudge(uow, person, spec, kind)
    else:
        return Skip("unknown")
    if isinstance(outcome, Skip):
        return outcome
    # … then whether now is a good moment for this person.
    etiquette = etiquette_of(person, policy)
    if not etiquette.allows(now):  # fell due while we were down, in someone's evening
        later = etiquette.next_slot(now)
        if kind == "round_open" and await _round_closes_by(uow, spec, later):
            return outcome  # a round's question is never held past its round's close
        return Later(later)
    if kind == "overdue":
        waiting = await _after_the_check_in(uow, spec, now, etiquette, policy)
        if waiting is not None:
            return waiting
    return outcome


async def _after_the_check_in(
    uow: UnitOfWork, spec: dict[str, Any], now: datetime, etiquette: Etiquette, policy: NudgePolicy
) -> Later | None:
    """The overdue note comes a day after the due-date check-in went out, never with it
    (after downtime both can be due at once)."""
    check_in = await uow.outbox.by_key(f"checkin:{spec['commitment_id']}:due")
    if check_in is None or check_in.status == OutboxStatus.SKIPPED:
        return None
    sent = check_in.sent_at if check_in.status == OutboxStatus.SENT else None
    if sent is not None and now - sent >= policy.overdue_after:
        return None
    return Later(etiquette.next_slot(max(now, (sent or now) + policy.overdue_after)))


async def _round_closes_by(uow: UnitOfWork, spec: dict[str, Any], moment: datetime) -> bool:
    rnd = await uow.get(Round, int(spec["round_id"]))
    return rnd is not None and rnd.closes_at is not None and rnd.closes_at <= moment


async def _session_reminder(uow: UnitOfWork, person: Person, spec: dict[str, Any]) -> Outcome:
    """The working day before a live session: its coordinator is reminded to start it."""
    session = await uow.get(Session, int(spec["session_id"]))
    if session is None or session.status != SessionStatus.DRAFT or session.starts_at is None:
        return Skip("session_gone")
    lang = person.locale
    when = moment_text(lang, session.starts_at, person.timezone)
    return Ready(
        message(
            Heading(t(lang, "sessions.reminder_heading", title=session.title)),
            Text(t(lang, "sessions.reminder", title=session.title, when=when)),
        )
    )


async def _open_round(uow: UnitOfWork, round_id: int) -> tuple[Session, Round] | None:
    rnd = await uow.get(Round, round_id)
    if rnd is None or rnd.status != RoundStatus.OPEN:
        return None
    session = await uow.get(Session, rnd.session_id)
    return None if session is None else (session, rnd)


async def _round_nudge(uow: UnitOfWork, person: Person, spec: dict[str, Any], kind: str) -> Outcome:
    found = await _open_round(uow, int(spec["round_id"]))
    if found is None:
        return Skip("round_closed")
    session, rnd = found
    total = len(await uow.sessions.rounds(id_of(session)))
    if kind == "round_open":
        return Ready(round_prompt(person, session, rnd, total))
    answered = await _took_part_in(uow, session, rnd)
    if person.id in answered:
        return Skip("answered")
    lang = person.locale
    return Ready(
        message(
            Text(
                t(lang, "nudges.closing_soon", title=round_title(lang, rnd), session=session.title)
            ),
            Choices(
                (
                    Action(
                        "form",
                        t(lang, "nudges.answer_now"),
                        f'{{"form": "contribute", "context": "{rnd.id}"}}',
                        "primary",
                    ),
                )
            ),
        )
    )


async def _took_part_in(uow: UnitOfWork, session: Session, rnd: Round) -> set[int | None]:
    """Who did what the round asks: answered, gave dots (a vote), took something on (commit)."""
    done: set[int | None] = {c.author_id for c in await uow.sessions.contributions([id_of(rnd)])}
    if rnd.kind == RoundKind.VOTE:
        done |= {v.person_id for v in await uow.sessions.votes(id_of(rnd))}
    elif rnd.kind == RoundKind.COMMIT:
        done |= {c.owner_id for c in await uow.commitments.for_session(id_of(session))}
    done.discard(None)  # a forgotten voter's dots count, but not as someone
    return done


async def _closing_soon_team(uow: UnitOfWork, spec: dict[str, Any]) -> Outcome:
    found = await _open_round(uow, int(spec["round_id"]))
    if found is None:
        return Skip("round_closed")
    session, rnd = found
    shared = await _took_part_in(uow, session, rnd)
    members = await uow.directory.members(session.team_id)
    lang = session.locale
    return Ready(
        message(
            Text(
                t(
                    lang,
                    "nudges.closing_soon_team",
                    title=round_title(lang, rnd),
                    shared=len(shared),
                    members=len(members),
                )
            )
        )
    )


async def _commitment_nudge(
    uow: UnitOfWork, person: Person, spec: dict[str, Any], kind: str
) -> Outcome:
    commitment = await uow.get(Commitment, int(spec["commitment_id"]))
    if commitment is None:
        return Skip("gone")
    if commitment.status.is_finished:
        return Skip("done" if commitment.status == CommitmentStatus.DONE else "released")
    lang = person.locale
    if kind == "overdue":
        text = t(lang, "nudges.overdue", text=commitment.text, due=commitment.due_date.isoformat())
    else:
        text = t(
            lang,
            f"nudges.checkin_{spec.get('moment', 'due')}",
            text=commitment.text,
            due=commitment.due_date.isoformat(),
            status=status_label(lang, commitment.status),
        )
    buttons = check_in_buttons(lang, commitment)
    snooze = Action("snooze", t(lang, "nudges.snooze"), str(commitment.id))
    return Ready(
        message(
            Heading(t(lang, "nudges.checkin_heading")),
            Text(text),
            Choices((*buttons.actions, snooze)),
        )
    )


async def snooze(ctx: Context, value: str) -> None:
    """Ask again in a few days (a button on a check-in)."""
    number = record_id(value)
    commitment = await ctx.uow.get(Commitment, number) if number else None
    owners = {commitment.owner_id, *commitment.co_owner_ids} if commitment else set()
    if commitment is None or ctx.person_id not in owners:
        raise Refusal("errors.not_your_commitment", number=value[:12])
    wanted = ctx.now + SNOOZE
    key = f"checkin:{commitment.id}:snooze:{wanted.date().isoformat()}"
    await plan(
        ctx.uow,
        ctx.person,
        "checkin",
        {"commitment_id": commitment.id, "moment": "snooze"},
        key,
        wanted,
        ctx.policy,
    )
    ctx.say("nudges.snoozed", days=SNOOZE.days)


router = Router()
router.action("snooze")(snooze)
