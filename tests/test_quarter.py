"""A team's quarter, left alone: three teams over 13 weeks from Monday 1 March 2027, across the
change to summer time (28 March), Good Friday and Easter, King's Day, Ascension and Whit Monday.
The clock moves only by `bot/console/clock.py` (what the console's `/clock` does): it stops at
each moment something falls due, the schedule ticks and the outbox is sent.

The story, and what we expect of it, is written down first (EXPECTED_*); the run comes after.

- Noord meets live every Tuesday at 10:00 (Amsterdam). Sanne coordinates and starts each meeting;
  Ahmed and Fleur answer (Fleur changes hers on 9 March before the reveal), Joost never does.
  King's Day (Tuesday 27 April) moves that week's meeting to Wednesday 28 April, announced a
  week ahead. On 11 May nobody starts the meeting: it did not take place, and Sanne is asked
  whether to keep the series (she does). Sanne types `end` twice after the first meeting, then
  `summary`.
- Zuid works async every other Tuesday from 9 March, rounds of one working day. Noor coordinates;
  Bram and Lotte answer every round, Daan paused his nudges, Eva asks to be forgotten on 19 April.
  Lotte gets stuck on her commitment on 23 March; Bram offers to help.
  Good Friday and Easter Monday fall inside the 23 March session; King's Day inside 20 April's.
  Nobody takes part in the session of 4 May.
- West meets live on the first Thursday of the month at 10:00 Amsterdam: Mila coordinates from
  Amsterdam, Oliver and Emma work from London (09:00 for them), Sem from Amsterdam. Their causal
  map grows by a link in March and one in April. Ascension
  (Thursday 6 May) moves May's meeting to Friday 7 May. Oliver takes on a commitment and never
  answers its check-ins.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.console.clock import move_clock
from bot.wiring import App
from handlers.etiquette import Etiquette
from handlers.model import (
    OutboxStatus,
    Person,
    RoundKind,
    Series,
    Session,
    SessionStatus,
)
from handlers.reports import build_summary
from handlers.series_report import build_series_summary
from prompts.catalog import t, words
from tests.driver import Driver, Sent

AMS, LON = ZoneInfo("Europe/Amsterdam"), ZoneInfo("Europe/London")
ROOT = Path(__file__).resolve().parents[1]


def ams(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)


def lon(*args: int) -> datetime:
    return datetime(*args, tzinfo=LON)


BEGIN, END = ams(2027, 3, 1, 8, 45), ams(2027, 5, 31, 18, 0)

# --- What we expect, written down before the run ------------------------------------------
# Each team's sessions: when each starts (local) and how it ends.
EXPECTED_SESSIONS = {
    "noord": [
        *[(ams(2027, m, d, 10, 0), "closed") for m, d in ((3, 2), (3, 9), (3, 16), (3, 23))],
        (ams(2027, 3, 30, 10, 0), "closed"),  # the first week of summer time
        *[(ams(2027, 4, d, 10, 0), "closed") for d in (6, 13, 20)],
        (ams(2027, 4, 28, 10, 0), "closed"),  # King's Day: moved to the Wednesday
        (ams(2027, 5, 4, 10, 0), "closed"),
        (ams(2027, 5, 11, 10, 0), "not_held"),  # nobody started it
        (ams(2027, 5, 18, 10, 0), "closed"),
        (ams(2027, 5, 25, 10, 0), "closed"),
        (ams(2027, 6, 1, 10, 0), "draft"),  # prepared, waiting for its meeting
    ],
    "zuid": [
        *[(ams(2027, m, d, 10, 0), "closed") for m, d in ((3, 9), (3, 23), (4, 6), (4, 20))],
        (ams(2027, 5, 4, 10, 0), "not_held"),  # nobody took part
        (ams(2027, 5, 18, 10, 0), "closed"),
        (ams(2027, 6, 1, 10, 0), "draft"),
    ],
    "west": [
        (ams(2027, 3, 4, 10, 0), "closed"),
        (ams(2027, 4, 1, 10, 0), "closed"),
        (ams(2027, 5, 7, 10, 0), "closed"),  # Ascension: moved to the Friday
        (ams(2027, 6, 3, 10, 0), "draft"),
    ],
}
# Zuid's round plans on working days (opens at 10:00 of each day; the last date is the close).
EXPECTED_ZUID_PLANS = {
    date(2027, 3, 9): ["03-09", "03-10", "03-11", "03-12", "03-15", "03-16"],
    # Good Friday and Easter Monday are left out: the vote opens Tuesday 30 March.
    date(2027, 3, 23): ["03-23", "03-24", "03-25", "03-30", "03-31", "04-01"],
    date(2027, 4, 6): ["04-06", "04-07", "04-08", "04-09", "04-12", "04-13"],
    date(2027, 4, 20): ["04-20", "04-21", "04-22", "04-23", "04-26", "04-28"],  # King's Day
    date(2027, 5, 4): ["05-04", "05-05", "05-07", "05-10", "05-11", "05-12"],  # Ascension
    date(2027, 5, 18): ["05-18", "05-19", "05-20", "05-21", "05-24", "05-25"],
    date(2027, 6, 1): ["06-01", "06-02", "06-03", "06-04", "06-07", "06-08"],  # prepared
}
# The live coordinators' reminders: 09:00 their time on the working day before.
EXPECTED_REMINDERS = {
    "Sanne": [
        ams(2027, 3, 1, 9, 0),
        ams(2027, 3, 8, 9, 0),
        ams(2027, 3, 15, 9, 0),
        ams(2027, 3, 22, 9, 0),
        ams(2027, 3, 25, 9, 0),  # Thursday: Good Friday and Easter Monday come before the 30th
        ams(2027, 4, 5, 9, 0),
        ams(2027, 4, 12, 9, 0),
        ams(2027, 4, 19, 9, 0),
        ams(2027, 4, 26, 9, 0),  # for Wednesday 28 April; the day before is King's Day
        ams(2027, 5, 3, 9, 0),
        ams(2027, 5, 10, 9, 0),
        ams(2027, 5, 14, 9, 0),  # Friday: Whit Monday comes before the 18th
        ams(2027, 5, 24, 9, 0),
        ams(2027, 5, 31, 9, 0),
    ],
    "Mila": [
        ams(2027, 3, 3, 9, 0),
        ams(2027, 3, 31, 9, 0),
        ams(2027, 5, 5, 9, 0),  # Wednesday: Thursday 6 May is Ascension
    ],
}
# Channel notices of a date that moved, a week ahead (or when it was prepared, if later).
EXPECTED_NOTICES = {
    "noord": (ams(2027, 4, 20), "27 april", "28 april"),
    "west": (ams(2027, 4, 29), "6 May", "7 May"),
}
# Oliver (London) never answers his check-ins: each at his local time.
EXPECTED_OLIVER = [
    ("checkin", lon(2027, 3, 15, 8, 30)),  # halfway fell on a Sunday: Monday morning
    ("checkin", lon(2027, 3, 25, 9, 0)),  # the due date, 09:00 London
    ("overdue", lon(2027, 3, 30, 8, 30)),  # a day later is Good Friday, then Easter Monday
]
# After a session nobody took part in, the coordinator is asked in their hours.
EXPECTED_KEEP = {
    "Sanne": ams(2027, 5, 12, 8, 30),  # 11 May ended at midnight; her day starts at 08:30
    "Noor": ams(2027, 5, 12, 10, 0),  # the last round of 4 May's session closed then
}

# Fleur changes her answer before the reveal of 9 March; Lotte is stuck on 23 March, Bram helps.
EDITED = ams(2027, 3, 9, 10, 0)
STUCK = ams(2027, 3, 23, 11, 0)

# What is not sent, and why (the story says who pauses, answers, finishes or has no assistant).
EXPECTED_SKIPS = {
    ("round_open", "Daan", "paused"),
    ("closing_soon", "Daan", "paused"),
    ("closing_soon", "Bram", "answered"),
    ("closing_soon", "Lotte", "answered"),
    ("overdue", "Ahmed", "done"),
    ("assist", "", "nothing_to_draft"),  # no language model in this quarter
}

TEAMS = {
    "noord": ("Sanne", "Ahmed", "Fleur", "Joost"),
    "zuid": ("Noor", "Bram", "Lotte", "Daan", "Eva"),
    "west": ("Mila", "Oliver", "Emma", "Sem"),
}


class Quarter:
    """The three teams, the clock, and what the people do."""

    def __init__(self, app: App, clock: ManualClock) -> None:
        self.app, self.clock = app, clock
        self.teams = {name: Driver(app, channel=name) for name in TEAMS}
        self.teams["west"].lang = "en"
        self.post = Driver(app, channel="post")  # only delivers
        self.sent: list[tuple[datetime, Sent]] = []

    async def deliver(self) -> None:
        for sent in await self.post.deliver():
            self.sent.append((self.clock.now(), sent))

    async def until(self, when: datetime) -> None:
        if when > self.clock.now():
            await move_clock(self.app, self.clock, when, self.deliver)

    async def team_id(self, team: str) -> int:
        async with self.app.uow() as uow:
            found = await uow.directory.team_by_channel(1, team)
        assert found is not None and found.id is not None
        return found.id

    async def sessions(self, team: str) -> list[Session]:
        team_id = await self.team_id(team)
        async with self.app.uow() as uow:
            return list(await uow.sessions.for_team(team_id))

    async def meeting(
        self,
        team: str,
        answers: dict[str, str],
        commit: str = "",
        edits: tuple = (),
        links: tuple = (),
    ) -> None:
        d = self.teams[team]
        coordinator = TEAMS[team][0]
        assert t(d.lang, "sessions.started", title=TITLES[team]) in await d.cmd(
            coordinator, "start"
        )
        for who, text in answers.items():
            await d.cmd(who, "add", text)
        for who, args in edits:  # changed before the reveal
            assert await d.cmd(who, "change", args)
        await d.cmd(coordinator, "next")
        if team == "west":  # the causal round: the map grows across the series
            for who, link in links:
                await d.cmd(who, "add", link)
            await d.cmd(coordinator, "next")
        if commit:
            who, text, due, mode = commit.split("|")
            await d.form(who, "commit", text=text, due=due, mode=mode)
        reply = await d.cmd(coordinator, "end")
        assert t(d.lang, "sessions.closed", title=TITLES[team]) in reply, reply
        await self.deliver()

    async def zuid_day(self) -> None:
        """At 10:30 on a working day, Bram and Lotte do what the open round asks."""
        d = self.teams["zuid"]
        async with self.app.uow() as uow:
            found = await uow.sessions.open_round(await self.team_id("zuid"))
        if found is None:
            return
        session, rnd = found
        if session.occurrence == ams(2027, 5, 4, 10, 0):
            return  # nobody takes part this time
        if rnd.kind == RoundKind.CHECKIN:
            await d.cmd("Bram", "add", "fris")
            await d.cmd("Lotte", "add", "druk maar goed")
        elif rnd.kind == RoundKind.REFLECT:
            await d.cmd("Bram", "add", "start: samen plannen")
            await d.cmd("Lotte", "add", "stop: dubbel werk")
        elif rnd.kind == RoundKind.VOTE:
            assert "stip" in await d.cmd("Bram", "vote", "1")
            await d.cmd("Lotte", "vote", "1")
        elif rnd.kind == RoundKind.COMMIT:
            due = (self.clock.now() + timedelta(days=14)).astimezone(AMS).date().isoformat()
            assert session.starts_at is not None
            started = session.starts_at.astimezone(AMS)
            text = LOTTE_TAKES_ON[started.month * 100 + started.day]
            reply = await d.form("Lotte", "commit", text=text, due=due, mode="samen doen")
            assert text in reply, reply
        await self.deliver()


# Lotte takes something else on in each session (one like an open one would be asked about).
LOTTE_TAKES_ON = {
    309: "Planning delen",
    323: "Intake met de GGD oefenen",
    406: "Wachtlijst wekelijks nabellen",
    420: "Huisbezoeken in één rooster",
    518: "Scholen uitnodigen voor juni",
}

# West's causal map: a link in March, another in April (each session keeps the map it closed with).
WEST_LINKS = {
    3: (("Oliver", "waiting list -> +pressure on GPs"),),
    4: (("Emma", "pressure on GPs -> +sick leave"),),
}

TITLES = {"noord": "Weekstart Noord", "zuid": "Terugblik Zuid", "west": "West monthly"}


async def _set_up(q: Quarter) -> None:
    for team, people in TEAMS.items():
        d = q.teams[team]
        for name in people:
            await d.cmd(name, "join")
    for name in ("Oliver", "Emma"):
        await q.teams["west"].cmd(name, "tz", "Europe/London")
    await q.teams["zuid"].cmd("Daan", "pause")
    # Problem 3: Sanne first forgets the time; the series is refused with a question.
    untimed = await q.teams["noord"].form(
        "Sanne", "new_session", title=TITLES["noord"], question="Wat speelt er deze week?",
        format="custom", rounds="checkin commit", recurrence="wekelijks",
    )  # fmt: skip
    assert t("nl", "sessions.series_needs_time") in untimed
    noord = await q.teams["noord"].form(
        "Sanne", "new_session", title=TITLES["noord"], question="Wat speelt er deze week?",
        format="custom", rounds="checkin commit", starts_at="2027-03-02 10:00",
        recurrence="wekelijks",
    )  # fmt: skip
    assert t("nl", "sessions.created_series.weekly") in noord, noord
    zuid = await q.teams["zuid"].form(
        "Noor", "new_session", title=TITLES["zuid"], question="Wat leren we ervan?",
        format="custom", rounds="checkin start-stop-continue group vote commit",
        starts_at="2027-03-09 10:00", round_length="1", recurrence="om de week",
    )  # fmt: skip
    # The form shows the plan before anything runs: the fifth round closes Tuesday 16 March.
    closes = t("nl", "when.said", weekday=words("nl", "when.weekdays")[1], day=16,
               month=words("nl", "when.months")[2], time="10:00")  # fmt: skip
    assert t("nl", "sessions.created_async", zone="Europe/Amsterdam") in zuid, zuid
    assert f"{closes}\n" in zuid, zuid
    west = await q.teams["west"].form(
        "Mila", "new_session", title=TITLES["west"], question="What is moving in West?",
        format="custom", rounds="checkin causal commit", starts_at="2027-03-04 10:00",
        recurrence="monthly", language="en",
    )  # fmt: skip
    assert t("en", "sessions.created_series.monthly") in west, west


async def _run(q: Quarter) -> None:
    noord_days = [s for s, status in EXPECTED_SESSIONS["noord"] if status == "closed"]
    west_days = [s for s, status in EXPECTED_SESSIONS["west"] if status == "closed"]
    events: list[tuple[datetime, str]] = [(day, "noord") for day in noord_days]
    events += [(day, "west") for day in west_days]
    day = BEGIN.date()
    while day <= END.date():
        if day.weekday() < 5:
            events.append((datetime.combine(day, time(10, 30), AMS), "zuid"))
        day += timedelta(days=1)
    events += [
        (ams(2027, 3, 16, 10, 30), "ahmed-done"),
        (ams(2027, 4, 19, 11, 0), "eva-forgotten"),
        (STUCK, "lotte-stuck"),
        (ams(2027, 5, 12, 10, 30), "keep"),
    ]
    for when, what in sorted(events):
        await q.until(when)
        if what == "noord":
            first = when == noord_days[0]
            commit = "Ahmed|Huisartsen bellen|2027-03-16|samen doen" if first else ""
            edits = (("Fleur", "1 uitgerust"),) if when == EDITED else ()
            await q.meeting("noord", {"Ahmed": "goed", "Fleur": "moe"}, commit, edits)
            if first:
                await _end_twice_and_summary(q)
        elif what == "west":
            first = when == west_days[0]
            commit = "Oliver|Call the GP practices|2027-03-25|co-produce" if first else ""
            links = WEST_LINKS.get(when.month, ())
            await q.meeting(
                "west", {"Oliver": "fine", "Emma": "busy", "Sem": "ok"}, commit, (), links
            )
        elif what == "zuid":
            await q.zuid_day()
        elif what == "ahmed-done":
            async with q.app.uow() as uow:
                mine = await uow.commitments.for_person(await _person_id(q, "Ahmed"))
            await q.teams["noord"].action("Ahmed", "checkin", f"{mine[0].id}:done")
        elif what == "lotte-stuck":
            async with q.app.uow() as uow:
                lotte = await uow.commitments.for_person(await _person_id(q, "Lotte"))
            zuid = q.teams["zuid"]
            await zuid.action("Lotte", "checkin", f"{lotte[0].id}:stuck")
            await q.deliver()
            await zuid.action("Bram", "help_out", str(lotte[0].id))
            await q.deliver()
        elif what == "eva-forgotten":
            await q.teams["zuid"].cmd("Eva", "forget-me")
        elif what == "keep":
            series = {s.series_id for s in await q.sessions("noord")}
            await q.teams["noord"].action("Sanne", "series_keep", str(min(series - {None})))
    await q.until(END)


async def _end_twice_and_summary(q: Quarter) -> None:
    """Problems 4 and 5: a second `end` closes nothing (next week's draft stays a draft) and
    `summary` shows the meeting just held, not the draft."""
    d = q.teams["noord"]
    assert t("nl", "sessions.nothing_to_end") in await d.cmd("Sanne", "end")
    shown = await d.cmd("Sanne", "summary")
    assert t("nl", "summary.heading", title=TITLES["noord"]) in shown
    assert "0 bijdragen" not in shown and "2 bijdragen" in shown, shown


async def _person_id(q: Quarter, name: str) -> int:
    async with q.app.uow() as uow:
        person = await uow.directory.person_by_platform_id(1, name.lower())
    assert person is not None and person.id is not None
    return person.id


async def test_a_quarter_left_alone(app: App, clock: ManualClock) -> None:
    clock.set(BEGIN)
    q = Quarter(app, clock)
    await _set_up(q)
    await _run(q)
    async with app.uow() as uow:
        rows = list(await uow.outbox.all_done())
        people = {p.id: p for p in await uow.directory.people(1)}
        for row in rows:  # the forgotten are not in the directory any more
            if row.person_id and row.person_id not in people:
                people[row.person_id] = await uow.get(Person, row.person_id)  # type: ignore[assignment]
    team_ids = {name: await q.team_id(name) for name in TEAMS}

    # 1. Each team's sessions happened as planned (and only those).
    for team, expected in EXPECTED_SESSIONS.items():
        got = [(s.starts_at, s.status.value) for s in await q.sessions(team)]
        assert got == [(when.astimezone(got[0][0].tzinfo), status) for when, status in expected], (
            team
        )

    # 2. Zuid's plans are laid on working days, at 10:00.
    for session in await q.sessions("zuid"):
        assert session.starts_at is not None
        async with app.uow() as uow:
            rounds = list(await uow.sessions.rounds(session.id or 0))
        days = [r.opens_at.astimezone(AMS) for r in rounds if r.opens_at]
        days.append(rounds[-1].closes_at.astimezone(AMS))  # type: ignore[union-attr]
        expected_days = EXPECTED_ZUID_PLANS[session.starts_at.astimezone(AMS).date()]
        assert [f"{d:%m-%d}" for d in days] == expected_days
        assert {d.strftime("%H:%M") for d in days} == {"10:00"}

    # 3. Problem 1: every round question reaches everyone who takes nudges, at the round's
    # opening (10:00), before it closes; none is skipped because its round closed.
    assert not [r for r in rows if r.kind == "round_open" and r.reason == "round_closed"]
    zuid_round_questions = [
        r
        for r in rows
        if r.kind == "round_open" and people[r.person_id].display_name in ("Bram", "Lotte", "Noor")  # type: ignore[index]
    ]
    # Three people, six sessions, four rounds that ask (the group round works in the channel).
    assert len(zuid_round_questions) == 3 * 6 * 4
    for r in zuid_round_questions:
        assert r.status == OutboxStatus.SENT and r.sent_at is not None
        assert r.sent_at.astimezone(AMS).strftime("%H:%M") == "10:00"
    vote_day = [
        r
        for r in zuid_round_questions
        if r.sent_at.astimezone(AMS).date() == date(2027, 3, 30)  # type: ignore[union-attr]
    ]
    assert len(vote_day) == 3  # the vote after Easter, asked the day it opened
    # Daan paused, Eva was forgotten: their questions are skipped with the reason.
    for r in rows:
        name = people[r.person_id].display_name if r.person_id else ""  # type: ignore[union-attr]
        if r.kind == "round_open" and name == "Daan":
            assert r.status == OutboxStatus.SKIPPED and r.reason == "paused"
        if r.person_id and people[r.person_id].erased:  # type: ignore[union-attr]
            assert r.status == OutboxStatus.SKIPPED or r.sent_at < ams(2027, 4, 19, 11, 0)  # type: ignore[operator]

    # 4. Problem 2: no session opens by itself in a live team, none on King's Day, and a session
    # nobody took part in posts no summary and no empty figures.
    channel = [(at, s) for at, s in q.sent if s.to.kind == "channel"]
    for team in ("noord", "west"):
        opened = [at for at, s in channel if s.kind == "session_open" and s.to.id == team_ids[team]]
        held = [w for w, status in EXPECTED_SESSIONS[team] if status == "closed"]
        assert [at.astimezone(AMS) for at in opened] == held
    assert not [s for at, s in channel if at.astimezone(AMS).date() == date(2027, 4, 27)
                and s.to.id == team_ids["noord"]]  # fmt: skip
    summaries = [s for _, s in channel if s.kind == "summary"]
    held_count = sum(st == "closed" for team in EXPECTED_SESSIONS.values() for _, st in team)
    assert len(summaries) == held_count
    empty = re.compile(r"(^|\s)0 (bijdragen|contributions|mensen|people)\b|\(0\)")
    assert not [s.text for _, s in channel if s.kind in ("reveal", "summary")
                and empty.search(s.text)]  # fmt: skip

    # Bram and Lotte did what each round asked the day it opened (an answer, dots; Lotte also a
    # commitment): no "closes soon" reaches them for it, except in the session nobody took part in.
    kinds, quiet = {}, set()
    async with app.uow() as uow:
        for session in await uow.sessions.for_team(team_ids["zuid"]):
            for rnd in await uow.sessions.rounds(session.id or 0):
                kinds[rnd.id] = rnd.kind
                if session.status == SessionStatus.NOT_HELD:
                    quiet.add(rnd.id)
    for r in rows:
        name = people[r.person_id].display_name if r.person_id else ""  # type: ignore[union-attr]
        if r.kind == "closing_soon" and name in ("Bram", "Lotte"):
            round_id = r.payload["nudge"]["round_id"]
            did = round_id not in quiet and (name == "Lotte" or kinds[round_id] != RoundKind.COMMIT)
            assert r.reason == ("answered" if did else ""), (name, r.dedupe_key)

    # Fleur's changed answer is what the team saw; Lotte's stuck commitment went to the team
    # without her name, Bram's help to her by DM.
    edited = [
        s.text
        for at, s in channel
        if s.kind == "reveal"
        and at.astimezone(AMS).date() == EDITED.date()
        and s.to.id == team_ids["noord"]
    ]
    assert len(edited) == 1 and "uitgerust" in edited[0] and "moe" not in edited[0]
    stuck = [(at, s) for at, s in channel if s.kind == "stuck"]
    assert [(at.astimezone(AMS), s.to.id) for at, s in stuck] == [(STUCK, team_ids["zuid"])]
    assert "Lotte" not in stuck[0][1].text
    helped = [r for r in rows if r.kind == "helper"]
    assert [people[r.person_id].display_name for r in helped] == ["Lotte"]  # type: ignore[index]

    # 5. Live coordinators are reminded the working day before, at 09:00 their time.
    for name, expected in EXPECTED_REMINDERS.items():
        got = [
            r.sent_at
            for r in rows
            if r.kind == "session_reminder" and people[r.person_id].display_name == name  # type: ignore[index]
        ]
        assert sorted(got) == [w.astimezone(got[0].tzinfo) for w in expected], name  # type: ignore[union-attr]

    # 6. A moved date is announced to the team a week ahead.
    for team, (day, was, becomes) in EXPECTED_NOTICES.items():
        notices = [(at, s) for at, s in channel if s.kind == "holiday_notice"
                   and s.to.id == team_ids[team]]  # fmt: skip
        assert len(notices) == 1
        at, notice = notices[0]
        assert (
            at.astimezone(AMS).date() == day.date()
            and was in notice.text
            and becomes in (notice.text)
        )

    # 7. Oliver in London gets his check-ins at his local times, across the DST change.
    oliver = [
        (r.kind, r.sent_at)
        for r in rows
        if r.kind in ("checkin", "overdue")
        and people[r.person_id].display_name == "Oliver"  # type: ignore[index]
        and r.status == OutboxStatus.SENT
    ]
    assert [(k, w.astimezone(LON)) for k, w in oliver] == EXPECTED_OLIVER  # type: ignore[union-attr]

    # 8. After a session nobody took part in, the coordinator was asked, in their hours.
    for name, when in EXPECTED_KEEP.items():
        asked = [r.sent_at for r in rows if r.kind == "keep_series"
                 and people[r.person_id].display_name == name]  # type: ignore[index]  # fmt: skip
        assert asked == [when.astimezone(asked[0].tzinfo)], name  # type: ignore[union-attr]

    # 9. Everything that went out did so in working hours, where it was read: a working day,
    # 08:30 to 18:00 (the recipient's time; the channel's is Amsterdam's).
    calendar = Etiquette("Europe/Amsterdam")
    for r in rows:
        if r.status != OutboxStatus.SENT:
            continue
        person = people.get(r.person_id) if r.person_id else None
        zone = ZoneInfo(person.timezone) if person is not None else AMS
        local = r.sent_at.astimezone(zone)  # type: ignore[union-attr]
        assert calendar.is_working_day(local.date()), (r.kind, r.dedupe_key, local)
        assert time(8, 30) <= local.time() <= time(18, 0), (r.kind, r.dedupe_key, local)
    # … and what was not sent has its reason, one the story gives.
    skips = set()
    for r in rows:
        if r.status == OutboxStatus.SKIPPED:
            person = people.get(r.person_id) if r.person_id else None
            skips.add((r.kind, person.display_name if person else "", r.reason))
    assert skips == EXPECTED_SKIPS

    # Problem 6: each West session's summary (and so its exports) shows the map as it stood when
    # it closed: March's one link, April's two, not what came later.
    async with app.uow() as uow:
        west_held = [s for s in await uow.sessions.for_team(team_ids["west"]) if s.closed_at]
        maps = [len((await build_summary(uow, s)).causal_links) for s in west_held]
    assert maps == [1, 2, 2]

    # 10. Exports and trends: a series shows only the sessions that took place.
    for team in ("noord", "zuid"):
        series_id = next(s.series_id for s in await q.sessions(team) if s.series_id)
        async with app.uow() as uow:
            series = await uow.get(Series, series_id)
            assert series is not None
            report = await build_series_summary(uow, series, END.date())
            assert report is not None
            held = [w for w, st in EXPECTED_SESSIONS[team] if st == "closed"]
            assert len(report.sessions) == len(held)
            assert all(sum(r.contribution_count for r in s.rounds) > 0 for s in report.sessions)

    _write_timeline(rows, people, team_ids, q)


NAMED = ("session_reminder", "keep_series", "checkin", "overdue", "helper", "plan_moved", "digest")


def _write_timeline(rows: list, people: dict, team_ids: dict[str, int], q: Quarter) -> None:
    """The quarter's timeline as a Markdown table: what went out when, per team."""
    team_of_person = {}
    for team, names in TEAMS.items():
        for name in names:
            for p in people.values():
                if p is not None and p.platform_id == name.lower():
                    team_of_person[p.id] = team
    by_id = {v: k for k, v in team_ids.items()}
    days: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    lines = ["| team | local time | kind | to | status | reason |", "|---|---|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: r.sent_at or r.due_at):
        if row.destination["kind"] == "channel":
            team, to, zone = by_id.get(row.destination["id"], "?"), "#channel", AMS
        else:
            person = people.get(row.person_id)
            team = team_of_person.get(row.person_id, "?")
            to = person.display_name if person and not person.erased else "(forgotten)"
            zone = ZoneInfo(person.timezone) if person and person.timezone else AMS
        when = (row.sent_at or row.due_at).astimezone(zone)
        stamp = f"{when:%a %d %b %H:%M} {zone.key.split('/')[-1]}"
        lines.append(
            f"| {team} | {stamp} | {row.kind} | {to} | {row.status.value} | {row.reason} |"
        )
        moment = (row.sent_at or row.due_at).astimezone(AMS)
        # Names where they tell the story; otherwise how many got it.
        named = to if row.kind in NAMED or to == "#channel" else "DM"
        what = f"{moment:%H:%M} {row.kind} ({named})"
        if row.status != OutboxStatus.SENT:
            what = f"~~{row.kind}~~ ({to}: {row.reason})"
        days[(team, f"{moment:%Y-%m-%d %a}")][what] += 1
    folder = ROOT / ".test-artifacts"
    folder.mkdir(exist_ok=True)
    suffix = q.app.engine.dialect.name
    (folder / f"quarter-timeline-{suffix}.md").write_text("\n".join(lines) + "\n")
    # The same by team and day (Amsterdam time), for reading: what went out, what did not.
    daily = ["| team | day | what went out (Amsterdam time; not sent: crossed out, with why) |",
             "|---|---|---|"]  # fmt: skip
    for (team, day), items in sorted(days.items()):
        listed = "; ".join(f"{k} ×{n}" if n > 1 else k for k, n in items.items())
        listed = listed.replace("(#channel)", "#")
        daily.append(f"| {team} | {day} | {listed} |")
    (folder / f"quarter-days-{suffix}.md").write_text("\n".join(daily) + "\n")
    if os.environ.get("QUARTER_TIMELINE"):
        print("\n".join(lines))
