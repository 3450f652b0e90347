"""The session summary: what the team shared, chose and took on, with no author names.

`build_summary` gives typed sections (handlers/summary.py; `as_dict` is the JSON export);
exporters and the chat message render it.
Commitment owners appear as pseudonyms with their organisation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, replace
from typing import Any

from handlers.commitments import mode_label, status_label
from handlers.lookup import category_label, round_title
from handlers.loops import Bounds, Loop
from handlers.messages import Heading, Message, Text, message
from handlers.model import (
    Factor,
    ForceDirection,
    IcebergLevel,
    Link,
    Person,
    Polarity,
    RoundKind,
    Session,
    SessionStatus,
    Theme,
    id_of,
)
from handlers.narrative import assistance_parts
from handlers.overview import net_balance
from handlers.ports import UnitOfWork
from handlers.pseudonyms import NameScrubber, Pseudonyms, everyone_nameable
from handlers.summary import (
    ActorSummary,
    ActsOn,
    CausalLinkSummary,
    CheckInSummary,
    CommitmentSummary,
    ContributionSummary,
    ForceField,
    ForceSummary,
    IcebergSummary,
    LeverageSummary,
    LoopSummary,
    Participants,
    RoundSummary,
    SessionInfo,
    Summary,
    ThemeSummary,
)
from handlers.systems import TeamMap, leverage_questions, map_of, team_map
from prompts.catalog import t

EXAMPLES_PER_THEME = 3
LEVERAGE_SHOWN = 5


SMALLEST_GROUP = 3  # fewer people than this from one organisation would be recognisable


def small_groups_merged(counts: Counter[str], other: str) -> Counter[str]:
    """Organisations with fewer than three people are counted together as "other"."""
    merged: Counter[str] = Counter()
    for name, count in counts.items():
        merged[name if count >= SMALLEST_GROUP else other] += count
    return merged


async def session_to_summarise(uow: UnitOfWork, team_id: int) -> Session | None:
    """The running session, else the last one that took place; never a draft, never one that
    did not take place (`summary` and `export` both mean this one)."""
    sessions = await uow.sessions.for_team(team_id)
    running = [s for s in sessions if s.status == SessionStatus.OPEN]
    closed = [s for s in sessions if s.status == SessionStatus.CLOSED]
    chosen = running or closed
    return chosen[-1] if chosen else None


async def took_part(uow: UnitOfWork, session: Session) -> bool:
    """Did anyone do anything in this session: an answer, a dot, a link, an actor, a force,
    a commitment? (The review of earlier commitments alone is not taking part.)"""
    session_id = id_of(session)
    rounds = [r for r in await uow.sessions.rounds(session_id) if r.id is not None]
    if await uow.sessions.contributions([id_of(r) for r in rounds]):
        return True
    for rnd in rounds:
        if rnd.kind == RoundKind.VOTE and await uow.sessions.votes(id_of(rnd)):
            return True
    if await uow.commitments.for_session(session_id):
        return True
    if await uow.sessions.actors(session_id) or await uow.sessions.forces(session_id):
        return True
    return any(lk.session_id == session_id for lk in await uow.causal.links(session.team_id))


async def snapshot_map(uow: UnitOfWork, session: Session) -> dict[str, Any]:
    """The team's causal map as it stands now, to keep with a session that closes."""
    factors = await uow.causal.factors(session.team_id)
    links = await uow.causal.links(session.team_id)
    return {
        "factors": [
            {"id": f.id, "name": f.name, "key": f.key, "steerable": f.steerable} for f in factors
        ],
        "links": [
            {
                "source": lk.source_id,
                "target": lk.target_id,
                "polarity": lk.polarity.value,
                "delay": lk.delay,
                "session": lk.session_id,  # drawn in this session, or an earlier one
            }
            for lk in links
        ],
    }


async def session_map(uow: UnitOfWork, session: Session, bounds: Bounds | None = None) -> TeamMap:
    """The map a session shows: the team's as it is while the session runs; once closed, the
    one kept at its close (links drawn later are not this session's)."""
    if session.status not in (SessionStatus.CLOSED, SessionStatus.NOT_HELD):
        return await team_map(uow, session.team_id, bounds)
    kept = session.map_snapshot
    if kept is None:  # closed before sessions kept their map: the links drawn up to it
        now = await team_map(uow, session.team_id, bounds)
        upto = id_of(session)
        earlier = [lk for lk in now.links if lk.session_id is None or lk.session_id <= upto]
        return map_of(now.factors, earlier, bounds)
    team_id = session.team_id
    factors = [
        Factor(team_id, f["name"], f["key"], id=f["id"], steerable=bool(f.get("steerable")))
        for f in kept["factors"]
    ]
    links = [
        Link(
            team_id,
            lk["source"],
            lk["target"],
            Polarity(lk["polarity"]),
            bool(lk["delay"]),
            session_id=lk["session"],
        )
        for lk in kept["links"]
    ]
    return map_of(factors, links, bounds)


async def scrubber_for(uow: UnitOfWork, session: Session, lang: str) -> NameScrubber:
    return NameScrubber(await everyone_nameable(uow, session), t(lang, "summary.name_removed"))


async def build_summary(
    uow: UnitOfWork,
    session: Session,
    lang: str | None = None,
    bounds: Bounds | None = None,
    *,
    with_names: bool = False,
    pseudonyms: Pseudonyms | None = None,
) -> Summary:
    """`with_names`: commitment owners by name (a coordinator's export), never answer authors.
    `pseudonyms`: shared by the sessions of one export (a series); a fresh key otherwise."""
    lang = lang or session.locale
    session_id = id_of(session)
    rounds = list(await uow.sessions.rounds(session_id))
    contributions = await uow.sessions.contributions([r.id for r in rounds if r.id is not None])
    members = await uow.directory.members(session.team_id)
    alias = pseudonyms or Pseudonyms(lang)
    scrub = await scrubber_for(uow, session, lang)
    headcount = Counter(p.organisation or t(lang, "summary.no_organisation") for _, p in members)
    organisations = small_groups_merged(headcount, t(lang, "summary.other_organisations"))

    def owners_organisation(owner: Person | None) -> str:
        """A pseudonym with an organisation of one or two people would name them after all."""
        if owner is None or owner.erased or not owner.organisation:
            return ""
        if with_names or headcount[owner.organisation] >= SMALLEST_GROUP:
            return owner.organisation
        return t(lang, "summary.other_organisations")

    round_data = []
    for rnd in rounds:
        answers = tuple(
            ContributionSummary(
                c.category,
                category_label(lang, rnd, c.category) if rnd.categories else "",
                scrub(c.text),
            )
            for c in contributions
            if c.round_id == rnd.id
        )
        round_data.append(
            RoundSummary(
                position=rnd.position,
                name=rnd.name,
                title=round_title(lang, rnd),
                kind=rnd.kind.value,
                pillar=rnd.pillar,
                status=rnd.status.value,
                question=t(lang, f"rounds.{rnd.name}.question"),
                contribution_count=len(answers),
                contributions=answers,
            )
        )

    themes: list[Theme] = []
    dots: Counter[int] = Counter()
    for rnd in rounds:
        if rnd.kind == RoundKind.GROUP and rnd.id is not None:
            themes = list(await uow.sessions.themes(rnd.id))
        if rnd.kind == RoundKind.VOTE and rnd.id is not None:
            for vote in await uow.sessions.votes(rnd.id):
                dots[vote.theme_id] += vote.dots
    theme_data = sorted(
        (
            ThemeSummary(
                title=scrub(th.title),
                category=th.category,
                votes=dots[th.id or 0],
                contributions=sum(1 for c in contributions if c.theme_id == th.id),
                examples=tuple(
                    [scrub(c.text) for c in contributions if c.theme_id == th.id][
                        :EXAMPLES_PER_THEME
                    ]
                ),
            )
            for th in themes
        ),
        key=lambda th: -th.votes,
    )

    tm = await session_map(uow, session, bounds)
    names = {f.id: scrub(f.name) for f in tm.factors}
    links = tuple(
        CausalLinkSummary(
            names[link.source_id], names[link.target_id], link.polarity.value, link.delay
        )
        for link in tm.links
    )
    made = list(await uow.commitments.for_session(session_id))

    def acts_on(loop: Loop[int]) -> tuple[int, ...]:
        return tuple(c.id or 0 for c in made if c.loop_key == loop.key or c.factor_id in loop.nodes)

    acting = {lp.label: acts_on(lp) for lp in tm.analysis.loops}
    loops = tuple(
        LoopSummary(
            id=lp.label,
            kind=lp.kind,
            factors=tuple(names[n] for n in lp.nodes),
            length=len(lp.nodes),
            delays=lp.delays,
            commitments=acting[lp.label],
        )
        for lp in tm.analysis.loops
    )
    leverage = tuple(
        LeverageSummary(names[f], tm.analysis.loop_count[f], round(tm.analysis.betweenness[f], 4))
        for f in tm.analysis.leverage[:LEVERAGE_SHOWN]
    )
    iceberg = {
        level.value: IcebergSummary(
            label=t(lang, f"rounds.iceberg.categories.{level.value}"),
            contributions=sum(1 for c in contributions if c.category == level.value),
            commitments=sum(1 for c in made if c.iceberg_level == level.value),
        )
        for level in IcebergLevel
    }

    commitments = []
    for c in made:
        owner = await uow.get(Person, c.owner_id) if c.owner_id else None
        number = id_of(c)
        commitments.append(
            CommitmentSummary(
                number=number,
                text=scrub(c.text),
                owner=(
                    t(lang, "summary.former_participant")
                    if owner is None or owner.erased
                    else owner.display_name
                    if with_names
                    else alias(owner.id or 0)
                ),
                organisation=owners_organisation(owner),
                co_owners=len(c.co_owner_ids),
                due_date=c.due_date.isoformat(),
                mode=c.mode.value,
                mode_label=mode_label(lang, c.mode),
                status=c.status.value,
                status_label=status_label(lang, c.status),
                acts_on=ActsOn(
                    names.get(c.factor_id) if c.factor_id else None,
                    tuple(label for label, ids in acting.items() if c.id in ids),
                ),
                iceberg_level=c.iceberg_level or None,
                check_ins=tuple(
                    CheckInSummary(ci.status.value, ci.at.isoformat() if ci.at else None)
                    for ci in await uow.commitments.check_ins(number)
                ),
            )
        )

    actors = sorted(await uow.sessions.actors(session_id), key=lambda a: -a.influence)
    forces = list(await uow.sessions.forces(session_id))
    strongest = sorted(forces, key=lambda f: -f.strength)

    def pulling(direction: ForceDirection) -> tuple[ForceSummary, ...]:
        return tuple(
            ForceSummary(scrub(f.text), f.strength) for f in strongest if f.direction == direction
        )

    summary = Summary(
        session=SessionInfo(
            id=session_id,
            title=scrub(session.title),
            question=scrub(session.question),
            format=session.format,
            language=lang,
            status=session.status.value,
            anonymous=session.anonymous,
            created_at=session.created_at.isoformat() if session.created_at else None,
            closed_at=session.closed_at.isoformat() if session.closed_at else None,
        ),
        participants=Participants(len(members), dict(sorted(organisations.items()))),
        rounds=tuple(round_data),
        themes=tuple(theme_data),
        actors=tuple(
            ActorSummary(
                name=scrub(a.name),
                organisation=scrub(a.organisation),
                interest=scrub(a.interest),
                influence=a.influence,
                stance=a.stance,
            )
            for a in actors
        ),
        forces=ForceField(
            driving=pulling(ForceDirection.DRIVING),
            restraining=pulling(ForceDirection.RESTRAINING),
            net_balance=net_balance(forces),
        ),
        causal_links=links,
        loops=loops,
        loops_truncated=tm.analysis.truncated,
        leverage=leverage,
        leverage_questions=tuple(scrub(q) for q in leverage_questions(lang, tm)),
        iceberg=iceberg,
        commitments=tuple(commitments),
    )
    narrative, assistance = await assistance_parts(uow, session, lang, summary)
    return replace(summary, narrative=narrative, assistance=assistance)


async def summary_message(
    uow: UnitOfWork, session: Session, lang: str | None = None, bounds: Bounds | None = None
) -> Message:
    """The summary in chat: credit to the team, the chosen themes, the commitments."""
    data = await build_summary(uow, session, lang, bounds)
    lang = data.session.language
    contributions = sum(r.contribution_count for r in data.rounds)
    blocks: list = [
        Heading(t(lang, "summary.heading", title=session.title)),
        Text(
            t(
                lang,
                "summary.credit",
                people=data.participants.total,
                contributions=contributions,
                themes=len(data.themes),
                links=len(data.causal_links),
                commitments=len(data.commitments),
            )
        ),
    ]
    if data.themes:
        blocks.append(Heading(t(lang, "summary.themes_heading")))
        blocks += [
            Text(t(lang, "votes.result_line", rank=i, title=th.title, dots=th.votes))
            for i, th in enumerate(data.themes[:5], start=1)
        ]
    if data.commitments:
        blocks.append(Heading(t(lang, "summary.commitments_heading")))
        blocks += [Text(t(lang, "summary.commitment_line", **asdict(c))) for c in data.commitments]
    return message(*blocks)
