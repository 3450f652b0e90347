"""People, their team and their preferences: who is acting, in which role and language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.context import Context, Refusal
from handlers.conversation import Router, no_args
from handlers.etiquette import known_holidays, own_holidays, split_holidays
from handlers.loops import Bounds
from handlers.messages import (
    Actor,
    Destination,
    Heading,
    Place,
    Text,
    message,
    outbox_row,
)
from handlers.model import (
    Membership,
    Person,
    Platform,
    Role,
    Team,
    Workspace,
    id_of,
)
from handlers.ports import Clock, UnitOfWork
from prompts.catalog import LANGUAGES, language, t, words

QUIET = re.compile(r"\s*(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})\s*")


@dataclass(frozen=True)
class WorkspaceDefaults:
    """What a workspace starts with when Coulisse first hears from it (the installation's
    settings, COULISSE_LANGUAGE and COULISSE_TIMEZONE); people inherit it, then choose."""

    locale: str = "nl"
    timezone: str = "Europe/Amsterdam"


async def resolve(
    uow: UnitOfWork,
    clock: Clock,
    actor: Actor,
    place: Place,
    bounds: Bounds,
    defaults: WorkspaceDefaults = WorkspaceDefaults(),
) -> Context:
    """The acting person and their team, created on first sight.

    The first member of a new team becomes its coordinator: whoever brings Coulisse into a
    channel sets it up, and can hand the role on.
    """
    # Someone known, with their team, in one query: the channel's team, or in a direct message
    # their team with a running session, else their first team.
    if place.kind == "channel":
        workspace, person, team, membership = await uow.directory.in_channel(
            actor.platform, actor.workspace, actor.user_id, place.channel_id
        )
    else:
        workspace, person, team, membership = await uow.directory.in_dm(
            actor.platform, actor.workspace, actor.user_id
        )
    if workspace is None:
        locale = language(actor.locale or defaults.locale)
        workspace = Workspace(Platform(actor.platform), actor.workspace, locale, defaults.timezone)
        workspace_id = await uow.store(workspace)
    else:
        workspace_id = id_of(workspace)

    if person is None:
        person = Person(
            workspace_id=workspace_id,
            platform_id=actor.user_id,
            display_name=actor.display_name or actor.user_id,
            organisation=actor.organisation,
            locale=language(actor.locale or workspace.locale),
            timezone=workspace.timezone,
        )
        person_id = await uow.store(person)
    else:
        person_id = id_of(person)
        if actor.organisation and not person.organisation:
            person.organisation = actor.organisation
        if actor.display_name and person.display_name == person.platform_id:
            person.display_name = actor.display_name  # added by id before they first spoke

    if team is None and place.kind == "channel" and place.channel_id:
        team = Team(workspace_id, place.channel_id, place.channel_name or place.channel_id)
        await uow.store(team)
    if team is not None and membership is None and place.kind == "channel":
        team_id = id_of(team)
        first = not await uow.directory.members(team_id)
        membership = Membership(team_id, person_id, Role.COORDINATOR if first else Role.PARTICIPANT)
        await uow.store(membership)  # written now: it can be locked, and members() sees it
        return Context(uow, clock, workspace, person, team, membership, True, bounds)
    return Context(uow, clock, workspace, person, team, membership, bounds=bounds)


async def ensure_members(ctx: Context, platform_ids: list[str]) -> int:
    """Make these people (by platform id) members of the team; returns how many were new.
    Their names are filled in when they first act themselves."""
    added = 0
    for platform_id in dict.fromkeys(p.strip() for p in platform_ids if p.strip()):
        person = await ctx.uow.directory.person_by_platform_id(ctx.workspace.id or 0, platform_id)
        if person is None:
            person = Person(
                ctx.workspace.id or 0,
                platform_id,
                platform_id,
                locale=ctx.workspace.locale,
                timezone=ctx.workspace.timezone,
            )
            person_id = await ctx.uow.store(person)
        else:
            person_id = id_of(person)
        if await ctx.uow.directory.membership(ctx.team_id, person_id) is None:
            ctx.uow.add(Membership(ctx.team_id, person_id))
            added += 1
    await ctx.uow.flush()  # members() sees the new members
    return added


async def find_member(ctx: Context, name_or_id: str) -> Person:
    """A member of the team by platform id or display name (case-insensitive)."""
    wanted = name_or_id.strip().lstrip("@").casefold()
    for _membership, person in await ctx.uow.directory.members(ctx.team_id):
        if wanted in (person.platform_id.casefold(), person.display_name.casefold()):
            return person
    raise Refusal("errors.unknown_member", name=name_or_id.strip()[:60])


async def join(ctx: Context) -> None:
    """Someone joins the team (first message in its channel, or the platform said so)."""
    team = ctx.require_team()
    assert ctx.membership is not None
    role = ctx.t(f"roles.{ctx.membership.role.value}")
    ctx.say("people.welcome" if ctx.joined_now else "people.member", team=team.name, role=role)


async def set_language(ctx: Context, args: str) -> None:
    """`taal en`, `taal Engels`, `lang Dutch`: the language the bot writes to this person in."""
    wanted = language_named(args)
    if wanted is None:
        raise Refusal("errors.unknown_language", languages=", ".join(LANGUAGES))
    ctx.person.locale = wanted
    ctx.say("people.language_set")


def language_named(word: str) -> str | None:
    """A language by its code or its name in either language ("en", "Engels", "English.")."""
    wanted = word.strip().strip(".!").casefold()
    if wanted in LANGUAGES:
        return wanted
    for code in LANGUAGES:
        if any(wanted == t(lang, f"languages.{code}").casefold() for lang in LANGUAGES):
            return code
    return None


async def set_timezone(ctx: Context, args: str) -> None:
    """`tz Europe/London`: nudges follow the person's own clock."""
    name = args.strip()
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise Refusal("errors.unknown_timezone", name=name[:60]) from None
    if not name:
        raise Refusal("errors.unknown_timezone", name="")
    ctx.person.timezone = name
    ctx.say("people.timezone_set", name=name)


async def set_quiet_hours(ctx: Context, args: str) -> None:
    """`quiet 18:00-08:30`: no nudges in these hours."""
    match = QUIET.fullmatch(args)
    try:
        if match is None:
            raise ValueError
        start = time(int(match[1]), int(match[2]))
        end = time(int(match[3]), int(match[4]))
    except ValueError:
        raise Refusal("errors.quiet_usage") from None
    if start == end:
        raise Refusal("errors.quiet_usage")
    ctx.person.quiet_start, ctx.person.quiet_end = start, end
    ctx.say("people.quiet_set", start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))


async def forget_me(ctx: Context) -> None:
    """`forget-me`: the person asks to be forgotten; what the team made stays, without them."""
    lang = ctx.lang  # the person's language is blanked too
    await forget_person(ctx.uow, ctx.now, ctx.person)
    ctx.reply(message(Text(t(lang, "people.forgotten"))))


async def forget_person(uow: UnitOfWork, now: datetime, person: Person) -> None:
    """Forget someone (themselves, or an operator's `coulisse forget`). A team whose last
    coordinator this was gets the longest-standing remaining member as coordinator, told by
    DM: otherwise nobody could start a session or hand the role on again. Their open
    commitments go to the coordinators, to give to someone else or to close."""
    person_id = id_of(person)
    for team in await uow.directory.teams_of(person_id):
        members = await uow.directory.members(id_of(team))  # longest-standing first
        coordinators = {m.person_id for m, _ in members if m.role == Role.COORDINATOR}
        others = [(m, p) for m, p in members if p.id != person_id]
        if coordinators != {person_id} or not others:
            continue
        membership, successor = others[0]
        membership.role = Role.COORDINATOR
        text = t(successor.locale, "people.became_coordinator", team=team.name)
        await uow.outbox.enqueue(
            outbox_row(
                Destination.dm(id_of(successor)),
                message(Text(text)),
                kind="role",
                dedupe_key=f"new-coordinator:{team.id}:{successor.id}:{now.isoformat()}",
                due_at=now,
            )
        )
    # What they had taken on goes to the coordinators (the new one too) to hand on or close;
    # forget() then takes their name out of those messages with everything else.
    from handlers.commitments import hand_over  # commitments finds members here: when used

    await uow.flush()  # the new coordinator is one for the query that follows
    await hand_over(uow, now, person_id)
    await uow.flush()  # all written before forget() blanks the person, not after
    await uow.privacy.forget(person_id, person.platform_id)


async def privacy(ctx: Context) -> None:
    """What is stored, for how long, and who sees what, in plain words."""
    days = ctx.retention_days
    period = (
        ctx.t("people.retention_years", years=days // 365)
        if days and days % 365 == 0
        else ctx.t("people.retention_days", days=days)
    )
    text = ctx.t("people.privacy", period=period)
    ctx.reply(message(Heading(ctx.t("people.privacy_heading")), Text(text)))


async def pause(ctx: Context) -> None:
    ctx.person.nudges_paused = True
    ctx.say("people.paused")


async def resume(ctx: Context) -> None:
    ctx.person.nudges_paused = False
    ctx.say("people.resumed")


async def set_role(ctx: Context, args: str) -> None:
    """`role NAME coordinator|participant`: coordinators hand the role on or share it."""
    name, _, role_word = args.strip().rpartition(" ")
    try:
        role = Role(role_word.strip().lower())
    except ValueError:
        raise Refusal("errors.role_usage") from None
    person = await find_member(ctx, name)
    membership = await ctx.uow.directory.membership(ctx.team_id, id_of(person))
    assert membership is not None
    if role == Role.PARTICIPANT and person.id == ctx.person_id:
        coordinators = [
            m for m, _ in await ctx.uow.directory.members(ctx.team_id) if m.role == Role.COORDINATOR
        ]
        if len(coordinators) == 1:
            raise Refusal("errors.last_coordinator")
    membership.role = role
    ctx.say("people.role_set", name=person.display_name, role=ctx.t(f"roles.{role.value}"))


async def installed(ctx: Context) -> None:
    """The bot was added to a channel: whoever added it joins first (its coordinator), the
    channel's people join quietly (no welcome to a whole roster), and the channel hears what
    Coulisse does."""
    team = ctx.require_team()
    await join(ctx)  # the installer hears their role
    roster = await ctx.roster(team.channel_id)
    others = [pid for pid, _name in roster if pid != ctx.person.platform_id]
    await ensure_members(ctx, others)
    ctx.announce(message(Text(ctx.t("people.installed", team=team.name))))


async def settings(ctx: Context, args: str) -> None:
    """What the person has set, and the words that change it; `settings holidays GB-SCT`
    sets whose public holidays keep reminders away (`settings holidays auto`: the time zone's)."""
    word, _, rest = args.strip().partition(" ")
    if word and _is_holidays_word(word):
        await set_holidays(ctx, rest)
        return
    if word:
        raise Refusal("people.settings_usage")
    person = ctx.person
    country, region = own_holidays(
        person.holiday_country, person.holiday_region, person.timezone, ctx.policy.country
    )
    ctx.reply(
        message(
            Heading(ctx.t("people.settings_heading")),
            Text(
                ctx.t(
                    "people.settings",
                    language=ctx.t(f"languages.{person.locale}"),
                    timezone=person.timezone,
                    start=person.quiet_start.strftime("%H:%M"),
                    end=person.quiet_end.strftime("%H:%M"),
                    paused=person.nudges_paused,
                    holidays=_code(country, region),
                    from_zone=not person.holiday_country,
                )
            ),
        )
    )


async def set_holidays(ctx: Context, args: str) -> None:
    """`settings holidays BE`, `instellingen feestdagen GB-SCT`, `… auto` (from the time zone)."""
    wanted = args.strip()
    if wanted.casefold() in (w.casefold() for w in _all_words("people.holidays_auto_words")):
        ctx.person.holiday_country, ctx.person.holiday_region = "", ""
        country, region = own_holidays("", "", ctx.person.timezone, ctx.policy.country)
        ctx.say("people.holidays_auto", code=_code(country, region))
        return
    country, region = split_holidays(wanted.replace(" ", "-"))
    found = known_holidays(country, region) if wanted else None
    if found is None:
        raise Refusal("people.unknown_holidays", code=wanted[:20])
    ctx.person.holiday_country, ctx.person.holiday_region = found
    ctx.say("people.holidays_set", code=_code(*found))


def _code(country: str, region: str) -> str:
    return f"{country}-{region}" if region else country


def _all_words(key: str) -> list[str]:
    return [w for lang in LANGUAGES for w in words(lang, key)]


def _is_holidays_word(word: str) -> bool:
    return word.casefold() in (w.casefold() for w in _all_words("people.holidays_words"))


def _settings_args(args: str) -> bool:
    """In a DM `instellingen` alone, or `instellingen feestdagen …`, is the command."""
    word = args.strip().partition(" ")[0]
    return not word or _is_holidays_word(word)


def _is_language(args: str) -> bool:
    return language_named(args) is not None


def _is_zone(args: str) -> bool:
    try:
        return "/" in args and bool(ZoneInfo(args.strip()))
    except (ValueError, ZoneInfoNotFoundError):
        return False


router = Router()
router.command("join")(no_args(join))
router.command("pause", in_dm=True)(no_args(pause))
router.command("resume", in_dm=True)(no_args(resume))
router.command("tz", in_dm=_is_zone)(set_timezone)
router.command("quiet", in_dm=lambda args: QUIET.fullmatch(args) is not None)(set_quiet_hours)
router.command("lang", in_dm=_is_language)(set_language)
router.command("settings", in_dm=_settings_args)(settings)
router.command("privacy", in_dm=True)(no_args(privacy))
router.command("forget-me")(no_args(forget_me))
router.command("role", role=Role.COORDINATOR)(set_role)
