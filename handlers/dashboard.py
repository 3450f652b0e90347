"""The web view's core (bot/webapp/ is its adapter): who may see which team and how, what the
pages show, and the sign-in without passwords.

Signing in: `dashboard` in a chat answers with a link that is signed (HMAC-SHA256 with the
installation's key), bound to the person who asked, valid for LINK_MINUTES and usable once
(its nonce is recorded when it is used). Redeeming it opens a web session kept on the server
(the browser holds only a random secret; its hash is stored), which logout or time ends.

Roles, per team: the coordinator sees and plans; a participant sees their own commitments and
the team's revealed work (themes and commitments, never who wrote or owns what); a
municipality reader, granted per team by its coordinator (`reader NAME`), sees only the
follow-through figures, with the exports' small-cell rule. Nobody sees who wrote what.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from handlers.commitments import CHECK_IN_CHOICES, status_label
from handlers.context import Context, Refusal, record_id, yes_or_no
from handlers.conversation import Router
from handlers.etiquette import NudgePolicy
from handlers.lookup import round_title
from handlers.loops import Bounds
from handlers.messages import Actor, Bullets, Diagram, Heading, Message, Place, Text
from handlers.model import (
    Commitment,
    CommitmentStatus,
    Person,
    Platform,
    Role,
    RoundStatus,
    Series,
    Session,
    SessionMode,
    SessionStatus,
    Team,
    Workspace,
    id_of,
)
from handlers.plan import moment_text, why_not_working
from handlers.plan import team_calendar as calendar_of
from handlers.ports import Clock, Conflict, UnitOfWork
from handlers.replanning import change_series, change_session, planned_session, team_series
from handlers.reports import SMALLEST_GROUP, scrubber_for
from handlers.series import recurrence_key
from handlers.series_report import FOLLOW_THROUGH, held_on
from handlers.sessions import create
from handlers.summary import FollowThrough
from handlers.systems import TeamMap, leverage_questions, loop_story, team_map
from prompts.catalog import t

LINK_MINUTES = 15
SESSION_HOURS = 8
FINISHED = (CommitmentStatus.DONE, CommitmentStatus.RELEASED)


# --- signed links ------------------------------------------------------------------------------


class LinkProblem(StrEnum):
    """Why a link does not sign anyone in (each has its own page, web.link_<problem>)."""

    TAMPERED = "tampered"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class Links:
    """Makes and reads sign-in links: `<base>/web/in?t=<person>.<expires>.<nonce>.<mac>`."""

    key: bytes
    base_url: str

    def _mac(self, body: str) -> str:
        digest = hmac.new(self.key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def token(self, person_id: int, now: datetime) -> str:
        expires = int((now + timedelta(minutes=LINK_MINUTES)).timestamp())
        body = f"{person_id}.{expires}.{secrets.token_urlsafe(18)}"
        return f"{body}.{self._mac(body)}"

    def url(self, person_id: int, now: datetime) -> str:
        return f"{self.base_url.rstrip('/')}/web/in?t={self.token(person_id, now)}"

    def feed(self, series_id: int) -> str:
        """The secret address of a series' calendar feed, for Outlook or Google Calendar to
        subscribe to without signing in (it changes only with the key)."""
        return (
            f"{self.base_url.rstrip('/')}/web/feed/{series_id}/{self._mac(f'ics:{series_id}')}.ics"
        )

    def feed_ok(self, series_id: int, mac: str) -> bool:
        return hmac.compare_digest(self._mac(f"ics:{series_id}"), mac)

    def person_of(self, token: str) -> int | None:
        """Whose a well-signed token is, expired or used (their page speaks their language)."""
        body, _, mac = token.strip().rpartition(".")
        if not body or not hmac.compare_digest(self._mac(body), mac):
            return None
        person = body.partition(".")[0]
        return int(person) if person.isdigit() else None

    def read(self, token: str, now: datetime) -> tuple[int, datetime, str] | LinkProblem:
        """(person id, expiry, nonce) of a well-signed, unexpired token."""
        body, _, mac = token.strip().rpartition(".")
        if not body or not hmac.compare_digest(self._mac(body), mac):
            return LinkProblem.TAMPERED
        parts = body.split(".", 2)
        if len(parts) != 3:  # signed, but not a link (a calendar feed's address, say)
            return LinkProblem.TAMPERED
        person, expires, nonce = parts
        if not (person.isdigit() and expires.isdigit()):
            return LinkProblem.TAMPERED
        expires_at = datetime.fromtimestamp(int(expires), now.tzinfo)
        if expires_at <= now:
            return LinkProblem.EXPIRED
        return int(person), expires_at, nonce


# The links of this process: set once when the web view is served (bot/webapp), because the
# key and the public address are settings the core does not read itself.
_links: list[Links] = []


def configure(links: Links | None) -> None:
    _links.clear()
    if links is not None:
        _links.append(links)


def configured() -> Links | None:
    return _links[0] if _links else None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Signed:
    person_id: int
    secret: str  # for the cookie; only its hash is stored
    csrf: str


async def redeem(uow: UnitOfWork, links: Links, token: str, now: datetime) -> Signed | LinkProblem:
    """A link's person, signed in: a new web session, the link used up (in one transaction)."""
    read = links.read(token, now)
    if isinstance(read, LinkProblem):
        return read
    person_id, expires_at, nonce = read
    person = await uow.get(Person, person_id)
    if person is None or person.erased:
        return LinkProblem.TAMPERED
    try:
        if not await uow.web.use_link(nonce, person_id, expires_at, now):
            return LinkProblem.USED
    except Conflict:
        return LinkProblem.USED
    return await open_session(uow, person_id, now)


async def open_session(uow: UnitOfWork, person_id: int, now: datetime) -> Signed:
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    until = now + timedelta(hours=SESSION_HOURS)
    await uow.web.open_session(_hash(secret), person_id, csrf, now, until)
    return Signed(person_id, secret, csrf)


async def signed_in(uow: UnitOfWork, secret: str, now: datetime) -> tuple[Person, str] | None:
    """The person of a web session and its CSRF token; None when unknown or expired."""
    found = await uow.web.session(_hash(secret), now) if secret else None
    if found is None:
        return None
    person = await uow.get(Person, found[0])
    return None if person is None or person.erased else (person, found[1])


async def sign_out(uow: UnitOfWork, secret: str) -> None:
    await uow.web.close_session(_hash(secret))


# --- who sees what -----------------------------------------------------------------------------


class Seat(StrEnum):
    """How a person sees one team on the web."""

    COORDINATOR = "coordinator"
    PARTICIPANT = "participant"
    READER = "reader"


async def seats(uow: UnitOfWork, person_id: int) -> dict[int, Seat]:
    """Each team the person may see, and how. A member's role wins over a reader's grant."""
    found: dict[int, Seat] = {}
    for team_id in await uow.web.reader_teams(person_id):
        found[team_id] = Seat.READER
    for team in await uow.directory.teams_of(person_id):
        membership = await uow.directory.membership(id_of(team), person_id)
        coordinator = membership is not None and membership.role == Role.COORDINATOR
        found[id_of(team)] = Seat.COORDINATOR if coordinator else Seat.PARTICIPANT
    return found


# --- what the pages show -----------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """One series' follow-through over time; rows with too few commitments are withheld."""

    series_id: int
    title: str
    rows: tuple[FollowThrough, ...]
    withheld: int = 0  # sessions with fewer than SMALLEST_GROUP commitments (readers only)


@dataclass(frozen=True)
class TeamCard:
    team_id: int
    name: str
    seat: Seat
    next_session: str = ""  # "title — when", empty when none is planned
    running_round: str = ""
    shared: int | None = None  # how many answered the running round (a count, no names)
    open: int = 0
    overdue: int = 0
    stuck: int = 0
    trends: tuple[Trend, ...] = ()
    series: tuple[tuple[int, str], ...] = ()  # (id, title) for the calendar downloads
    summaries: tuple[tuple[int, str], ...] = ()  # (id, title) of series with a summary


async def my_teams(uow: UnitOfWork, person: Person, today: date, now: datetime) -> list[TeamCard]:
    cards = []
    for team_id, seat in sorted((await seats(uow, id_of(person))).items()):
        team = await uow.get(Team, team_id)
        if team is not None:
            cards.append(await team_card(uow, person, team, seat, today, now))
    return cards


async def team_card(
    uow: UnitOfWork, person: Person, team: Team, seat: Seat, today: date, now: datetime
) -> TeamCard:
    """One team's card, from a few reads of the team (its sessions, its commitments), never
    one per session or commitment: a coordinator of twenty teams opens this every morning."""
    lang, team_id = person.locale, id_of(team)
    sessions = await uow.sessions.for_team(team_id)
    commitments = await uow.commitments.for_team(team_id)
    ids = sorted({s.series_id for s in sessions if s.series_id is not None})
    series = [one for i in ids if (one := await uow.get(Series, i)) is not None]
    trends = tuple(
        [
            await _trend(uow, one, held, commitments, today, lang, seat)
            for one in series
            if (held := _held(sessions, one, today))
        ]
    )
    if seat == Seat.READER:  # the figures over time and the summaries, nothing of the moment
        return TeamCard(team_id, team.name, seat, trends=trends, summaries=_titles(trends))
    coming = sorted(
        (s for s in sessions if s.status == SessionStatus.DRAFT),
        key=lambda s: (s.starts_at is None, s.starts_at or now),
    )
    next_session = ""
    if coming:
        first = coming[0]
        when = moment_text(lang, first.starts_at, person.timezone) if first.starts_at else ""
        next_session = f"{first.title} — {when}" if when else first.title
    running_round, shared = "", None
    if (found := await uow.sessions.open_round(team_id)) is not None:
        _session, rnd = found
        running_round = round_title(lang, rnd)
        answers = await uow.sessions.contributions([id_of(rnd)])
        shared = len({c.author_id for c in answers if c.author_id is not None}) or len(answers)
    unfinished = [c for c in commitments if c.status not in FINISHED]
    return TeamCard(
        team_id,
        team.name,
        seat,
        next_session=next_session,
        running_round=running_round,
        shared=shared,
        open=len(unfinished),
        overdue=sum(c.due_date < today for c in unfinished),
        stuck=sum(c.status == CommitmentStatus.STUCK for c in unfinished),
        trends=trends,
        series=tuple((id_of(s), s.title) for s in series),
        summaries=_titles(trends),
    )


def _titles(trends: Sequence[Trend]) -> tuple[tuple[int, str], ...]:
    """The series with a summary to download (held at least once), by their scrubbed title."""
    return tuple((trend.series_id, trend.title) for trend in trends)


HELD = (SessionStatus.OPEN, SessionStatus.CLOSED)


def _held(sessions: Sequence[Session], series: Series, today: date) -> list[Session]:
    """The series' sessions that were held, in the order they were (as series_report.py)."""
    held = [s for s in sessions if s.series_id == series.id and s.status in HELD]
    return sorted(held, key=lambda s: (held_on(s, today), s.id or 0))


def follow_through(commitments: Sequence[Commitment], today: date) -> dict[str, int]:
    """What became of these commitments: series_report.follow_through_of's rule, on the
    stored commitments rather than a built summary (tests/test_web_pages.py: they agree)."""
    counts = dict.fromkeys(FOLLOW_THROUGH, 0)
    for c in commitments:
        if c.status in (CommitmentStatus.DONE, CommitmentStatus.RELEASED, CommitmentStatus.STUCK):
            key = c.status.value
        elif c.due_date < today:
            key = "overdue"
        elif c.status == CommitmentStatus.IN_PROGRESS:
            key = "on_track"
        else:
            key = "open"
        counts[key] += 1
    return counts


async def _trend(
    uow: UnitOfWork,
    series: Series,
    held: Sequence[Session],
    commitments: Sequence[Commitment],
    today: date,
    lang: str,
    seat: Seat,
) -> Trend:
    scrub = await scrubber_for(uow, held[-1], lang)  # a title may name someone
    by_session: dict[int, list[Commitment]] = {}
    for c in commitments:
        by_session.setdefault(c.session_id, []).append(c)
    rows = tuple(
        FollowThrough(
            session=id_of(s),
            title=scrub(s.title),
            date=held_on(s, today).isoformat(),
            **follow_through(by_session.get(id_of(s), []), today),
        )
        for s in held
    )
    withheld = 0
    if seat == Seat.READER:  # the exports' rule: a handful of people would be recognisable
        kept = tuple(r for r in rows if sum(r.count(k) for k in FOLLOW_THROUGH) >= SMALLEST_GROUP)
        withheld, rows = len(rows) - len(kept), kept
    return Trend(id_of(series), scrub(series.title), rows, withheld)


@dataclass(frozen=True)
class Line:
    """A commitment as the web shows it: no owner, ever."""

    id: int
    text: str
    status: str  # in the reader's words
    due: str
    team_id: int = 0
    editable: bool = False  # the reader's own, or they coordinate its team (edit, hand over)


@dataclass(frozen=True)
class Work:
    """A team's revealed work, for its members: themes of held sessions and the commitments
    made, without who wrote or owns any of it; the person's own, which they can check in on
    (the choices: status value and words, as the chat's buttons offer them)."""

    themes: tuple[str, ...]
    commitments: tuple[Line, ...]
    mine: tuple[Line, ...] = ()
    choices: tuple[tuple[str, str], ...] = ()


async def team_work(uow: UnitOfWork, person: Person, team_id: int) -> Work:
    themes: list[str] = []
    for session in await uow.sessions.for_team(team_id):
        if session.status not in HELD:
            continue
        for rnd in await uow.sessions.rounds(id_of(session)):
            if rnd.status == RoundStatus.CLOSED:
                themes += [th.title for th in await uow.sessions.themes(id_of(rnd))]
    lang = person.locale
    commitments = await uow.commitments.for_team(team_id)

    def line(c: Commitment) -> Line:
        return Line(id_of(c), c.text, status_label(lang, c.status), c.due_date.isoformat())

    mine = [c for c in commitments if person.id in (c.owner_id, *c.co_owner_ids)]
    choices = tuple((s.value, status_label(lang, s)) for s in CHECK_IN_CHOICES)
    return Work(tuple(themes), tuple(map(line, commitments)), tuple(map(line, mine)), choices)


@dataclass(frozen=True)
class Filter:
    """What the commitments page lists: one team or all, a status or "overdue", due soon."""

    team: int | None = None
    status: str = ""
    soon: bool = False  # due within SOON days


SOON = 7
STATUSES = (*(s.value for s in CommitmentStatus), "overdue")


async def commitments_of(
    uow: UnitOfWork, person: Person, chosen: Filter, today: date
) -> list[tuple[str, Line]]:
    """(team name, commitment) in the teams the person is a member of, never a reader's:
    commitments are the team's work, the municipality gets figures."""
    found: list[tuple[str, Line]] = []
    lang = person.locale
    for team_id, seat in sorted((await seats(uow, id_of(person))).items()):
        if seat == Seat.READER or chosen.team not in (None, team_id):
            continue
        team = await uow.get(Team, team_id)
        for c in await uow.commitments.for_team(team_id) if team is not None else ():
            overdue = c.status not in FINISHED and c.due_date < today
            if chosen.status == "overdue" and not overdue:
                continue
            if chosen.status not in ("", "overdue") and c.status.value != chosen.status:
                continue
            if chosen.soon and not today <= c.due_date <= today + timedelta(days=SOON):
                continue
            mine = seat == Seat.COORDINATOR or c.owner_id == person.id
            line = Line(id_of(c), c.text, status_label(lang, c.status), c.due_date.isoformat(),
                        team_id, mine and c.status not in FINISHED)  # fmt: skip
            found.append((team.name if team else "", line))
    return sorted(found, key=lambda pair: (pair[1].due, pair[1].id))


@dataclass(frozen=True)
class MapView:
    """A team's causal map for its members: the picture's data, each loop as a sentence in
    the team's words, and the questions the structure raises (never advice)."""

    team_map: TeamMap
    diagram: Diagram | None  # None: no links yet
    loops: tuple[tuple[str, str], ...]  # (label, sentence)
    questions: tuple[str, ...]


async def map_view(uow: UnitOfWork, team_id: int, lang: str, bounds: Bounds) -> MapView:
    tm = await team_map(uow, team_id, bounds)
    if not tm.links:
        return MapView(tm, None, (), ())
    shown = tm.shown
    alt = t(lang, "systems.diagram_alt", factors=len(shown), links=len(tm.links),
            loops=len(tm.analysis.loops))  # fmt: skip
    loops = tuple((lp.label, loop_story(lang, tm, lp)) for lp in tm.analysis.loops)
    questions = tuple(leverage_questions(lang, tm))
    return MapView(tm, tm.diagram(t(lang, "systems.map_heading"), alt), loops, questions)


# --- planning ----------------------------------------------------------------------------------


async def planning_context(
    uow: UnitOfWork, clock: Clock, person: Person, team_id: int, policy: NudgePolicy
) -> Context:
    """A coordinator's context in their team, for the plan shown before saving."""
    team = await uow.get(Team, team_id)
    membership = await uow.directory.membership(team_id, id_of(person))
    workspace = await uow.get(Workspace, person.workspace_id)
    if team is None or membership is None or workspace is None:
        raise Refusal("errors.no_team")
    ctx = Context(uow, clock, workspace, person, team, membership, policy=policy)
    ctx.require_coordinator()
    return ctx


async def preview(ctx: Context, values: dict[str, str]) -> list[str]:
    """What saving would say, before anything is kept: the chat's own `create` runs in this
    transaction — every check, the round plan on working days, the moves and their holidays —
    and the caller never commits it. A live session's day that is a public holiday is said
    too (a meeting on King's Day is rarely meant)."""
    await create(ctx, dict(values))
    lines = [line for reply in ctx.replies for line in texts(reply.message)]
    ctx.replies.clear()
    session = await ctx.uow.sessions.current_for_team(ctx.team_id)
    if session is not None and session.starts_at is None:
        lines.append(t(ctx.lang, "web.plan_no_time"))
    elif session is not None and session.mode == SessionMode.LIVE and session.starts_at:
        calendar = calendar_of(ctx.workspace, ctx.policy)
        if holiday := why_not_working(calendar, session.starts_at):
            lines.append(t(ctx.lang, "web.plan_holiday", holiday=holiday))
    return lines


async def preview_change(
    ctx: Context, form_id: str, context: str, values: dict[str, str]
) -> list[str]:
    """What saving a change to a planned session or a series would say, before anything is
    kept: the chat's own flow runs in this transaction (every check, the new plan, its moves
    and holidays) and the caller never commits it."""
    if form_id == "edit_session":
        await change_session(ctx, await planned_session(ctx, context), dict(values))
    else:
        await change_series(ctx, await team_series(ctx, context), dict(values))
    lines = [line for reply in ctx.replies for line in texts(reply.message)]
    ctx.replies.clear()
    return lines


@dataclass(frozen=True)
class Planned:
    """A session being prepared or a series, as the Plan page lists it (titles only)."""

    kind: str  # "session" or "series"
    id: int
    title: str
    when: str  # the start in the reader's words and zone, or the series' repetition and state


async def planned(uow: UnitOfWork, team_id: int, person: Person) -> list[Planned]:
    lang, zone = person.locale, person.timezone
    found: list[Planned] = []
    series_ids: list[int] = []
    for session in await uow.sessions.for_team(team_id):
        if session.series_id is not None and session.series_id not in series_ids:
            series_ids.append(session.series_id)
        if session.status != SessionStatus.DRAFT:
            continue
        when = (moment_text(lang, session.starts_at, zone) if session.starts_at
                else t(lang, "sessions.when_started"))  # fmt: skip
        found.append(Planned("session", id_of(session), session.title, when))
    for series_id in series_ids:
        series = await uow.get(Series, series_id)
        if series is None:
            continue
        key = recurrence_key(series.rrule)
        repeats = t(lang, f"sessions.recurrences.{key}") if key else t(lang, "sessions.repeats_own")
        state = "web.series_active" if series.active else "web.series_stopped"
        found.append(Planned("series", series_id, series.title, f"{repeats} · {t(lang, state)}"))
    return found


async def commitment_to_edit(
    uow: UnitOfWork, person: Person, team_id: int, ref: str, seat: Seat
) -> Commitment:
    """The commitment, when this page may offer to change it: the person's own, or any of the
    team's for its coordinator (the core checks again when the change is sent); else why not,
    in the chat's words."""
    number = record_id(ref)
    found = await uow.get(Commitment, number) if number is not None else None
    if found is None or found.team_id != team_id:
        raise Refusal("commitments.unknown", number=ref[:12])
    if found.status in FINISHED:
        raise Refusal("commitments.finished", number=found.id)
    if seat != Seat.COORDINATOR and found.owner_id != person.id:
        raise Refusal("errors.not_your_commitment", number=ref[:12])
    return found


def texts(message: Message) -> list[str]:
    """A reply's lines, for a page (the web shows what the chat would say)."""
    out: list[str] = []
    for block in message.blocks:
        if isinstance(block, Heading | Text):
            out += block.text.splitlines()
        elif isinstance(block, Bullets):
            out += list(block.items)
    return out


async def person_in_teams(uow: UnitOfWork, tenant: str, object_id: str) -> Person | None:
    """The Teams person an Entra ID token names (tenant and object id), as the bot knows them
    from their 1:1 chat's reference (Teams' aadObjectId); None when the bot never met them.
    One look-up per person of the tenant: it runs once per tab sign-in, not per page."""
    workspace = await uow.directory.workspace(Platform.TEAMS.value, tenant)
    if workspace is None or not object_id:
        return None
    for candidate in await uow.directory.people(id_of(workspace)):
        ref = await uow.conversations.find(Platform.TEAMS.value, "person", id_of(candidate))
        user = ref.reference.get("user", {}) if ref is not None else {}
        if isinstance(user, dict) and user.get("aadObjectId") == object_id:
            return candidate
    return None


async def team(uow: UnitOfWork, team_id: int) -> Team:
    """A team the guard let the person into."""
    found = await uow.get(Team, team_id)
    if found is None:
        raise Refusal("errors.no_team")
    return found


async def person(uow: UnitOfWork, person_id: int | None) -> Person | None:
    return await uow.get(Person, person_id) if person_id else None


async def series_of_team(uow: UnitOfWork, team_id: int, series_id: int) -> bool:
    series = await uow.get(Series, series_id) if series_id else None
    return series is not None and series.team_id == team_id


async def calendar(
    uow: UnitOfWork, team_id: int | None, series_id: int, now: datetime
) -> str | None:
    """The series' calendar file, when the series is this team's (None: any team's, for a
    feed whose secret address was checked)."""
    series = await uow.get(Series, series_id) if series_id else None
    if series is None or team_id not in (None, series.team_id):
        return None
    return ics(series, await uow.sessions.for_team(series.team_id), now)


async def as_in_chat(uow: UnitOfWork, who: Person, where: Team) -> tuple[Actor, Place]:
    """The person acting in the team's channel, as a chat adapter would say it: the web's
    changes go through the same flows (handlers/router.py) as a form in Slack or Teams."""
    workspace = await uow.get(Workspace, who.workspace_id)
    assert workspace is not None
    actor = Actor(workspace.platform.value, workspace.external_id, who.platform_id,
                  who.display_name, locale=who.locale)  # fmt: skip
    return actor, Place("channel", where.channel_id, where.name)


def ics(series: Series, sessions: Sequence[Session], now: datetime) -> str:
    """The series as an iCalendar file (RFC 5545): its rule, one event per planned session."""
    stamp = f"{now:%Y%m%dT%H%M%SZ}"

    def text(value: str) -> str:
        return (
            value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
        )

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Coulisse//web//EN", "CALSCALE:GREGORIAN"]
    rule = series.rrule.splitlines()
    lines += ["BEGIN:VEVENT", f"UID:series-{series.id}@coulisse", f"DTSTAMP:{stamp}",
              f"SUMMARY:{text(series.title)}", *rule, "DURATION:PT1H", "END:VEVENT"]  # fmt: skip
    for session in sessions:
        if session.starts_at is None or session.series_id != series.id:
            continue
        lines += ["BEGIN:VEVENT", f"UID:session-{session.id}@coulisse", f"DTSTAMP:{stamp}",
                  f"DTSTART:{session.starts_at:%Y%m%dT%H%M%SZ}", "DURATION:PT1H",
                  f"SUMMARY:{text(session.title)}", "END:VEVENT"]  # fmt: skip
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


# --- the chat side ------------------------------------------------------------------------------

router = Router()


@router.command("dashboard", in_dm=True)
@router.action("dashboard")  # the button on Slack's App Home
async def dashboard(ctx: Context, _args: str) -> None:
    """A sign-in link for the web view, to the person alone."""
    links = configured()
    if links is None:
        raise Refusal("web.not_served")
    url = links.url(ctx.person_id, ctx.now)
    ctx.say("web.link", url=url, minutes=LINK_MINUTES)


@router.command("reader", role=Role.COORDINATOR)
async def reader(ctx: Context, args: str) -> None:
    """`reader NAME`: NAME reads this team's trends on the web; `reader NAME off`: no more."""
    name, _, last = args.strip().rpartition(" ")
    off = yes_or_no(last) is False
    name = name if off else args.strip()
    if not name:
        raise Refusal("web.reader_usage")
    wanted = name.lstrip("@").casefold()
    person = next(
        (
            p
            for p in await ctx.uow.directory.people(ctx.workspace.id or 0)
            if wanted in (p.platform_id.casefold(), p.display_name.casefold())
        ),
        None,
    )
    if person is None:
        raise Refusal("errors.unknown_member", name=name[:60])
    team = ctx.require_team()
    if off:
        await ctx.uow.web.revoke_reader(ctx.team_id, id_of(person))
        ctx.say("web.reader_revoked", name=person.display_name, team=team.name)
        return
    await ctx.uow.web.grant_reader(ctx.team_id, id_of(person), ctx.person_id, ctx.now)
    ctx.say("web.reader_granted", name=person.display_name, team=team.name)
