"""The LLM assistant, from the wings: it drafts, the team decides.

A round that closes (a reflection round), a group round that opens and a session that ends each
queue one job in the outbox. The job runs when the outbox sends it, outside the event's
transaction: read in one short transaction, one call to the model with no transaction open,
store and render in another. So a slow model never holds a database lock or delays an answer.
What it drafts is stored once per job (a resent job reuses it) and shown as a suggestion;
links, groupings and the summary's paragraph count only after someone in the team confirms.
Without a model, or when a team turned it off, or when the call fails, the plain fallbacks
of handlers.synthesis are used and the session goes on as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.context import Context, Refusal, record_id, yes_or_no
from handlers.conversation import Router
from handlers.drafts import NOT_CALLED, Completion, Item, Task
from handlers.lookup import category_label, round_title
from handlers.loops import Edge, find_loops
from handlers.messages import (
    Action,
    Block,
    Choices,
    Destination,
    Heading,
    Message,
    Text,
    message,
    outbox_row,
)
from handlers.model import (
    Contribution,
    OutboxMessage,
    Polarity,
    Role,
    Round,
    RoundKind,
    RoundStatus,
    Session,
    SessionStatus,
    Suggestion,
    SuggestionStatus,
    Team,
    Theme,
    id_of,
)
from handlers.nudges import Outcome, Ready, Skip
from handlers.ports import Clock, Conflict, Synthesizer, UnitOfWork, UnitOfWorkFactory
from handlers.pseudonyms import everyone_nameable
from handlers.redact import Names, name_patterns, pseudonymise
from handlers.reports import build_summary
from handlers.synthesis import (
    ASSISTANT,
    Grouping,
    RoundDraft,
    fallback_round,
    grouping_from_answer,
    narrative_from_answer,
    round_from_answer,
)
from handlers.systems import ParsedLink, add_links
from handlers.themes import all_stopwords, board
from prompts.catalog import t

log = logging.getLogger(__name__)

ASSIST = "assist"
FACT_THEMES = 5
FACT_EXAMPLES = 2
FACT_LOOPS = 12


# --- planning: one job per round or session, queued with the event ---------------------------


async def _plan(ctx: Context, session: Session, job: str) -> None:
    await ctx.uow.outbox.enqueue(
        outbox_row(
            Destination.channel(session.team_id),
            kind=ASSIST,
            dedupe_key=f"assist:{job}",
            due_at=ctx.now,
            nudge={"type": ASSIST, "job": job},
        )
    )


async def after_round(ctx: Context, session: Session, rnd: Round) -> None:
    """After a reflection round's reveal: a first reading of it (with or without a model)."""
    if rnd.kind == RoundKind.REFLECT:
        await _plan(ctx, session, f"round:{rnd.id}")


async def after_grouping(ctx: Context, session: Session, group_round: Round) -> None:
    """The board shows the plain grouping; the model may suggest another (only with a model)."""
    await _plan(ctx, session, f"grouping:{group_round.id}")


async def after_session(ctx: Context, session: Session) -> None:
    """A draft of the summary's paragraph (only with a model; the template is always there)."""
    await _plan(ctx, session, f"narrative:{session.id}")


# --- running a job ----------------------------------------------------------------------------


@dataclass
class _Job:
    name: str
    kind: str
    session: Session
    lang: str
    task: Task | None  # None: the fallback only, nothing is sent
    stored: list[Suggestion] = field(default_factory=list)  # drafted before (a resent job)
    rnd: Round | None = None
    contributions: list[Contribution] = field(default_factory=list)


class Assistant:
    """Turns queued assistant jobs into messages (the outbox's `prepare` for kind `assist`)."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, synthesizer: Synthesizer | None
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.synthesizer = synthesizer

    async def prepare(self, item: OutboxMessage) -> Outcome:
        name = str(item.payload["nudge"]["job"])
        try:
            async with self.uow() as uow:
                job = await self._gather(uow, name)
            if job is None:
                return Skip("nothing_to_draft")
            if job.stored:
                return self._rendered(job, job.stored)
            completion = NOT_CALLED
            if job.task is not None and self.synthesizer is not None:
                completion = await self._call(job.task)
            async with self.uow() as uow:
                stored = await self._store(uow, job, completion)
                await uow.commit()
        except Conflict:
            # Another worker stored this job's drafts first: show what it stored.
            async with self.uow() as uow:
                again = await self._gather(uow, name)
            if again is None or not again.stored:
                return Skip("nothing_to_draft")
            return self._rendered(again, again.stored)
        if not stored:
            return Skip("nothing_to_draft")
        return self._rendered(job, stored)

    async def _call(self, task: Task) -> Completion:
        assert self.synthesizer is not None
        try:
            return await self.synthesizer.complete(task)
        except Exception as exc:  # the port must not raise; if it does, the team still goes on
            log.warning("the assistant failed: %s", type(exc).__name__)
            return Completion(None, failure="error")

    async def _gather(self, uow: UnitOfWork, name: str) -> _Job | None:
        kind, _, ref = name.partition(":")
        number = record_id(ref)
        if number is None:
            return None
        if kind == "narrative":
            session = await uow.get(Session, number)
            rnd = None
        else:
            rnd = await uow.get(Round, number)
            session = await uow.get(Session, rnd.session_id) if rnd else None
        if session is None or session.id is None:
            return None
        team = await uow.get(Team, session.team_id)
        on = self.synthesizer is not None and team is not None and team.assistant
        lang = session.locale
        stored = list(await uow.assistance.suggestions(session.id, name))
        if kind == "round" and rnd is not None:
            contributions = list(await uow.sessions.contributions([rnd.id or 0]))
            if not contributions:
                return None
            task = await _round_task(uow, session, rnd, contributions) if on else None
            return _Job(name, kind, session, lang, task, stored, rnd, contributions)
        if not on and not stored:
            return None  # the board and the template are the plain way already
        if kind == "grouping" and rnd is not None:
            if rnd.status != RoundStatus.OPEN:
                return None
            contributions = await _reflected(uow, session, rnd)
            if not contributions:
                return None
            task = await _grouping_task(uow, session, contributions)
            return _Job(name, kind, session, lang, task, stored, rnd, contributions)
        if kind == "narrative":
            return _Job(name, kind, session, lang, await _narrative_task(uow, session), stored)
        return None

    async def _store(self, uow: UnitOfWork, job: _Job, done: Completion) -> list[Suggestion]:
        session_id = id_of(job.session)
        drafted: list[tuple[str, dict[str, Any], str, SuggestionStatus]] = []
        items = job.task.items if job.task else ()
        if job.kind == "round":
            assert job.rnd is not None
            draft: RoundDraft | None = None
            if done.data is not None:
                draft = round_from_answer(done.data, len(items))
            if draft is None:
                draft = fallback_round(job.lang, job.rnd, job.contributions, all_stopwords())
            drafted += [
                ("synthesis", {"text": draft.synthesis}, draft.drafted_by, SuggestionStatus.SHOWN),
                ("question", {"text": draft.question}, draft.drafted_by, SuggestionStatus.SHOWN),
            ]
            drafted += [
                ("link", link.as_payload(), draft.drafted_by, SuggestionStatus.PENDING)
                for link in draft.links
            ]
            used = draft.drafted_by == ASSISTANT
        elif job.kind == "grouping":
            by_number = {i.number: c for i, c in zip(items, job.contributions, strict=True)}
            groups = (
                grouping_from_answer(done.data, by_number, all_stopwords()) if done.data else None
            )
            if groups:
                payload = {
                    "themes": [{"title": g.title, "members": list(g.members)} for g in groups]
                }
                drafted.append(("grouping", payload, ASSISTANT, SuggestionStatus.PENDING))
            used = bool(groups)
        else:
            text = narrative_from_answer(done.data) if done.data else None
            if text:
                drafted.append(("narrative", {"text": text}, ASSISTANT, SuggestionStatus.PENDING))
            used = bool(text)
        if done.called:
            await uow.assistance.add_usage(
                session_id,
                1,
                int(done.prompt_tokens or 0),  # a port must not break the count (NOT NULL)
                int(done.completion_tokens or 0),
                0 if used else 1,
            )
        stored = [
            Suggestion(session_id, job.name, kind, n, payload, by, status, self.clock.now())
            for n, (kind, payload, by, status) in enumerate(drafted)
        ]
        for suggestion in stored:
            await uow.store(suggestion)  # its id goes on its buttons
        return stored

    def _rendered(self, job: _Job, stored: Sequence[Suggestion]) -> Outcome:
        if job.kind == "round":
            assert job.rnd is not None
            return Ready(round_message(job.lang, job.rnd, stored))
        if job.kind == "grouping":
            return Ready(grouping_message(job.lang, stored[0]))
        return Ready(narrative_message(job.lang, stored[0]))


# --- what is sent: data of this session only, without names -----------------------------------


async def _names(uow: UnitOfWork, session: Session) -> tuple[Names | None, list[str]]:
    people = await everyone_nameable(uow, session)
    return name_patterns(p.display_name for p in people), [p.platform_id for p in people]


async def _items(
    uow: UnitOfWork, session: Session, contributions: Sequence[Contribution]
) -> tuple[str, tuple[Item, ...]]:
    names, ids = await _names(uow, session)
    rounds = {r.id: r for r in await uow.sessions.rounds(session.id or 0)}
    lang = session.locale
    items = tuple(
        Item(
            n,
            pseudonymise(c.text, names, ids),
            category_label(lang, rounds[c.round_id], c.category) if c.category else "",
        )
        for n, c in enumerate(contributions, start=1)
    )
    return pseudonymise(session.question, names, ids), items


async def _round_task(
    uow: UnitOfWork, session: Session, rnd: Round, contributions: Sequence[Contribution]
) -> Task:
    question, items = await _items(uow, session, contributions)
    return Task("round", session.locale, question, round_title(session.locale, rnd), items)


async def _reflected(uow: UnitOfWork, session: Session, group_round: Round) -> list[Contribution]:
    """The contributions the group round groups: those of the reflection rounds before it."""
    ids = [
        r.id
        for r in await uow.sessions.rounds(session.id or 0)
        if r.kind == RoundKind.REFLECT and r.position < group_round.position and r.id
    ]
    return list(await uow.sessions.contributions(ids)) if ids else []


async def _grouping_task(
    uow: UnitOfWork, session: Session, contributions: Sequence[Contribution]
) -> Task:
    question, items = await _items(uow, session, contributions)
    return Task("grouping", session.locale, question, items=items)


async def _session_loops(uow: UnitOfWork, session: Session) -> list[tuple[str, list[str]]]:
    """The loops in the links this session drew (kind and factor names), at most FACT_LOOPS:
    the team's map grows across its sessions, and one call carries one session's words."""
    links = [lk for lk in await uow.causal.links(session.team_id) if lk.session_id == session.id]
    if not links:
        return []
    names = {f.id: f.name for f in await uow.causal.factors(session.team_id)}
    nodes = list(dict.fromkeys(n for lk in links for n in (lk.source_id, lk.target_id)))
    edges = [
        Edge(lk.source_id, lk.target_id, lk.polarity == Polarity.OPPOSITE, lk.delay) for lk in links
    ]
    found, _truncated, _bound = find_loops(nodes, edges, max_loops=FACT_LOOPS)
    return [(lp.kind, [names[n] for n in lp.nodes]) for lp in found[:FACT_LOOPS]]


async def _narrative_task(uow: UnitOfWork, session: Session) -> Task:
    summary = await build_summary(uow, session)
    names, ids = await _names(uow, session)

    def clean(text: str) -> str:
        return pseudonymise(text, names, ids)

    facts = {
        "people": summary.participants.total,
        "contributions": sum(r.contribution_count for r in summary.rounds),
        "themes": [
            {
                "title": clean(th.title),
                "votes": th.votes,
                "examples": [clean(x) for x in th.examples[:FACT_EXAMPLES]],
            }
            for th in summary.themes[:FACT_THEMES]
        ],
        "loops": [
            {"kind": kind, "factors": [clean(f) for f in factors]}
            for kind, factors in await _session_loops(uow, session)
        ],
        "commitments": [
            {"text": clean(c.text), "mode": c.mode_label, "status": c.status_label}
            for c in summary.commitments
        ],
    }
    return Task("narrative", session.locale, clean(session.question), facts=facts)


# --- what the team sees -----------------------------------------------------------------------


def _by(lang: str, drafted_by: str) -> Text:
    return Text(t(lang, "assist.by_assistant" if drafted_by == ASSISTANT else "assist.by_template"))


def _yes_no(suggestion: Suggestion, yes: str, no: str) -> Choices:
    return Choices(
        (
            Action("suggestion", yes, f"{suggestion.id}:yes", "primary"),
            Action("suggestion", no, f"{suggestion.id}:no"),
        )
    )


def round_message(lang: str, rnd: Round, stored: Sequence[Suggestion]) -> Message:
    by = {s.kind: s for s in stored}
    blocks: list[Block] = [
        Heading(t(lang, "assist.round_heading", title=round_title(lang, rnd))),
        _by(lang, stored[0].drafted_by),
        Text(str(by["synthesis"].payload["text"])),
        Heading(t(lang, "assist.question_heading")),
        Text(str(by["question"].payload["text"])),
    ]
    links = [s for s in stored if s.kind == "link"]
    if links:
        blocks.append(Heading(t(lang, "assist.links_heading")))
    for s in links:
        blocks.append(Text(_link_line(lang, s.payload)))
        blocks.append(_yes_no(s, t(lang, "assist.link_button"), t(lang, "assist.leave_button")))
    return message(*blocks)


def _link_line(lang: str, payload: dict[str, Any]) -> str:
    return t(
        lang,
        "systems.link_line",
        source=payload["source"],
        target=payload["target"],
        polarity=payload["polarity"],
        delay=payload.get("delay", False),
    )


def grouping_message(lang: str, suggestion: Suggestion) -> Message:
    themes = suggestion.payload["themes"]
    return message(
        Heading(t(lang, "assist.grouping_heading")),
        _by(lang, suggestion.drafted_by),
        Text(
            "\n".join(
                t(
                    lang,
                    "assist.grouping_line",
                    number=n,
                    title=th["title"],
                    count=len(th["members"]),
                )
                for n, th in enumerate(themes, start=1)
            )
        ),
        Text(t(lang, "assist.grouping_note")),
        _yes_no(suggestion, t(lang, "assist.use_grouping"), t(lang, "assist.keep_grouping")),
    )


def narrative_message(lang: str, suggestion: Suggestion) -> Message:
    return message(
        Heading(t(lang, "assist.narrative_heading")),
        Text(str(suggestion.payload["text"])),
        Text(t(lang, "assist.narrative_note")),
        _yes_no(suggestion, t(lang, "assist.use_narrative"), t(lang, "assist.keep_template")),
    )


# --- the team decides -------------------------------------------------------------------------


async def decide(ctx: Context, value: str) -> None:
    """A suggestion's button: `<id>:yes` confirms it (now it counts), `<id>:no` lets it go."""
    ctx.require_team()
    ref, _, answer = value.strip().partition(":")
    number = record_id(ref)
    if number is None or answer not in ("yes", "no"):
        raise Refusal("errors.unknown_action")
    suggestion = await ctx.uow.get(Suggestion, number)
    session = await ctx.uow.get(Session, suggestion.session_id) if suggestion else None
    if suggestion is None or session is None or session.team_id != ctx.team_id:
        raise Refusal("errors.unknown_suggestion")  # never another team's drafts
    if suggestion.status != SuggestionStatus.PENDING:
        ctx.say("assist.already_decided")
        return
    if answer == "no":
        suggestion.status = SuggestionStatus.REJECTED
        ctx.say(
            {
                "link": "assist.link_left",
                "grouping": "assist.grouping_kept",
                "narrative": "assist.narrative_kept",
            }[suggestion.kind]
        )
        return
    if suggestion.kind == "link":
        if session.status == SessionStatus.CLOSED:
            raise Refusal("errors.suggestion_closed")
        p = suggestion.payload
        link = ParsedLink(p["source"], p["target"], Polarity(p["polarity"]), bool(p["delay"]))
        await add_links(ctx, session, [link])
    elif suggestion.kind == "grouping":
        await _regroup(ctx, session, suggestion)
    elif suggestion.kind == "narrative":
        for other in await ctx.uow.assistance.suggestions(session.id or 0):
            if other.kind == "narrative" and other.status == SuggestionStatus.CONFIRMED:
                other.status = SuggestionStatus.REJECTED
        ctx.say("assist.narrative_used")
    suggestion.status = SuggestionStatus.CONFIRMED


async def _regroup(ctx: Context, session: Session, suggestion: Suggestion) -> None:
    """The suggested grouping becomes the round's themes (the team may merge and rename on)."""
    group_round = await ctx.uow.get(Round, int(suggestion.job.partition(":")[2]))
    if group_round is None or group_round.status != RoundStatus.OPEN:
        raise Refusal("errors.suggestion_closed")
    contributions = {c.id: c for c in await _reflected(ctx.uow, session, group_round)}
    for c in contributions.values():
        c.theme_id = None
    await ctx.uow.flush()  # the answers leave their themes before these go
    for theme in await ctx.uow.sessions.themes(group_round.id or 0):
        await ctx.uow.delete(theme)
    await ctx.uow.flush()  # and the old themes go before the new ones come
    groups = [Grouping(g["title"], tuple(g["members"])) for g in suggestion.payload["themes"]]
    for position, group in enumerate(groups, start=1):
        members = [contributions[i] for i in group.members if i in contributions]
        categories = {c.category for c in members}
        theme = Theme(
            group_round.id or 0,
            group.title,
            categories.pop() if len(categories) == 1 else "",
            position,
        )
        theme_id = await ctx.uow.store(theme)
        for c in members:
            c.theme_id = theme_id
    await ctx.uow.flush()  # the board below reads what is stored
    await ctx.post(
        Destination.channel(session.team_id),
        await board(ctx, session, group_round),
        kind="themes",
        dedupe_key=f"regrouped:{suggestion.id}",
    )
    ctx.say("assist.grouping_used", count=len(groups))


async def set_assistant(ctx: Context, args: str) -> None:
    """`assistant off` / `assistant on`: a coordinator decides for the team."""
    on = yes_or_no(args)
    if on is None:
        raise Refusal("errors.assistant_usage")
    team = ctx.require_team()
    team.assistant = on
    if team.assistant:
        ctx.say("assist.turned_on", configured=ctx.assistant)
    else:
        ctx.say("assist.turned_off")


router = Router()
router.command("assistant", role=Role.COORDINATOR)(set_assistant)
router.action("suggestion")(decide)
