"""Overzicht: the actor map and the force field.

Actors have an organisation, an interest, an influence (1–5) and a stance; forces drive or
restrain change with a strength (1–5). Both are entered by form, or as text in the overview
round: `actor: GPs in North (4)`, `restraining force: privacy rules (5)`. The round closes with
the field's net balance and the question which restraining force someone will weaken.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from handlers.commitments import commitment_form
from handlers.context import Context, Refusal, clean_text, optional_text, record_id
from handlers.conversation import Flow, Router
from handlers.lookup import require_open_round, split_category
from handlers.messages import (
    Action,
    Block,
    Bullets,
    Choices,
    Form,
    Heading,
    Message,
    Option,
    Select,
    Text,
    TextInput,
    message,
)
from handlers.model import Actor, Force, ForceDirection, Round, RoundKind, Session, Stance, id_of
from handlers.ports import UnitOfWork
from prompts.catalog import LANGUAGES, t

MAX_NAME = 200
MAX_INTEREST = 1000  # what an actor wants, in a sentence or two
_SCORE = re.compile(r"\s*\((\d+)\)\s*$")
SCALE = tuple(str(n) for n in range(1, 6))


def stance_label(lang: str, stance: str) -> str:
    return t(lang, f"overview.stances.{stance}")


def actor_form(lang: str) -> Form:
    return Form(
        "actor",
        t(lang, "overview.actor_form_title"),
        (
            TextInput("name", t(lang, "overview.actor_name"), max_length=MAX_NAME),
            TextInput(
                "organisation", t(lang, "overview.organisation"), optional=True, max_length=MAX_NAME
            ),
            TextInput(
                "interest",
                t(lang, "overview.interest"),
                optional=True,
                multiline=True,
                max_length=MAX_INTEREST,
            ),
            Select("influence", t(lang, "overview.influence"), tuple(Option(n, n) for n in SCALE)),
            Select(
                "stance",
                t(lang, "overview.stance"),
                tuple(Option(s.value, stance_label(lang, s.value)) for s in Stance),
            ),
        ),
        t(lang, "overview.add"),
    )


def force_form(lang: str) -> Form:
    return Form(
        "force",
        t(lang, "overview.force_form_title"),
        (
            TextInput("text", t(lang, "overview.force_text"), multiline=True),
            Select(
                "direction",
                t(lang, "overview.direction"),
                tuple(
                    Option(d.value, t(lang, f"rounds.overview.categories.{d.value}"))
                    for d in ForceDirection
                ),
            ),
            Select("strength", t(lang, "overview.strength"), tuple(Option(n, n) for n in SCALE)),
        ),
        t(lang, "overview.add"),
    )


def _score(word: str, default: int = 3) -> int:
    word = word.strip()
    if not word:
        return default
    if word not in SCALE:
        raise Refusal("errors.score_range")
    return int(word)


def _stance(word: str) -> Stance:
    wanted = word.strip().casefold()
    if not wanted:
        return Stance.NEUTRAL
    for stance in Stance:
        if wanted in {
            stance.value,
            *(stance_label(lang, stance.value).casefold() for lang in LANGUAGES),
        }:
            return stance
    raise Refusal("errors.unknown_stance")


def _direction(word: str) -> ForceDirection:
    wanted = word.strip().casefold()
    for direction in ForceDirection:
        labels = {
            t(lang, f"rounds.overview.categories.{direction.value}").casefold()
            for lang in LANGUAGES
        }
        short = {t(lang, f"overview.directions.{direction.value}").casefold() for lang in LANGUAGES}
        if wanted in {direction.value, *labels, *short}:
            return direction
    raise Refusal("errors.unknown_direction")


async def _overview_round(ctx: Context) -> tuple[Session, Round]:
    return await require_open_round(ctx, (RoundKind.OVERVIEW,))


async def add_actor(ctx: Context, values: dict[str, str]) -> None:
    session, _ = await _overview_round(ctx)
    actor = Actor(
        id_of(session),
        clean_text(values.get("name", ""), MAX_NAME),
        optional_text(values.get("organisation", ""), MAX_NAME),
        optional_text(values.get("interest", ""), MAX_INTEREST),
        _score(values.get("influence", "")),
        _stance(values.get("stance", "")).value,
    )
    ctx.uow.add(actor)
    ctx.say(
        "overview.actor_added",
        name=actor.name,
        influence=actor.influence,
        stance=stance_label(ctx.lang, actor.stance),
    )


async def add_force(ctx: Context, values: dict[str, str]) -> None:
    session, _ = await _overview_round(ctx)
    force = Force(
        id_of(session),
        clean_text(values.get("text", "")),
        _direction(values.get("direction", "")),
        _score(values.get("strength", "")),
    )
    ctx.uow.add(force)
    ctx.say(
        "overview.force_added",
        text=force.text,
        strength=force.strength,
        direction=t(ctx.lang, f"rounds.overview.categories.{force.direction.value}"),
    )


async def add_from_text(ctx: Context, rnd: Round, raw: str) -> None:
    """`actor: name (influence)` or `driving force: text (strength)`, in either language."""
    category, text = split_category(rnd, clean_text(raw))
    if not category:
        raise Refusal("errors.overview_usage")
    score = _SCORE.search(text)
    value = score.group(1) if score else ""
    text = _SCORE.sub("", text)
    if category == "actor":
        await add_actor(ctx, {"name": text, "influence": value})
    else:
        await add_force(ctx, {"text": text, "direction": category, "strength": value})


def net_balance(forces: list[Force]) -> int:
    return sum(f.strength if f.direction == ForceDirection.DRIVING else -f.strength for f in forces)


async def field_message(uow: UnitOfWork, session: Session) -> Message:
    """The actor map and force field, and the question that turns it into action."""
    lang = session.locale
    session_id = id_of(session)
    actors = sorted(await uow.sessions.actors(session_id), key=lambda a: -a.influence)
    forces = list(await uow.sessions.forces(session_id))
    blocks: list[Block] = [Heading(t(lang, "overview.map_heading", count=len(actors)))]
    blocks += [
        Text(
            t(
                lang,
                "overview.actor_line",
                name=a.name,
                organisation=a.organisation,
                influence=a.influence,
                stance=stance_label(lang, a.stance),
                interest=a.interest,
            )
        )
        for a in actors
    ]
    blocks.append(Heading(t(lang, "overview.field_heading")))
    for direction in ForceDirection:
        mine = sorted((f for f in forces if f.direction == direction), key=lambda f: -f.strength)
        label = t(lang, f"rounds.overview.categories.{direction.value}")
        blocks.append(
            Text(t(lang, "overview.side", label=label, total=sum(f.strength for f in mine)))
        )
        if mine:
            blocks.append(Bullets(tuple(f"{f.text} ({f.strength})" for f in mine)))
    blocks.append(Text(t(lang, "overview.balance", net=net_balance(forces))))
    restraining = [f for f in forces if f.direction == ForceDirection.RESTRAINING]
    if restraining:
        blocks.append(Text(t(lang, "overview.weaken_question")))
        blocks.append(
            Choices(
                tuple(
                    Action(
                        "weaken", t(lang, "overview.weaken_button", text=_short(f.text)), str(f.id)
                    )
                    for f in sorted(restraining, key=lambda f: -f.strength)
                )
            )
        )
    return message(*blocks)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def weaken(ctx: Context, value: str) -> None:
    """The answer to "which restraining force will you weaken?": a commitment form, filled in."""
    number = record_id(value)
    force = await ctx.uow.get(Force, number) if number else None
    if force is None or force.direction != ForceDirection.RESTRAINING:
        raise Refusal("errors.unknown_action")
    session = await ctx.uow.get(Session, force.session_id)
    if session is None or session.team_id != ctx.team_id:
        raise Refusal("errors.unknown_action")
    form = commitment_form(ctx.lang)
    text = t(ctx.lang, "overview.weaken_text", text=force.text)
    fields = tuple(
        TextInput(f.name, f.label, f.multiline, f.max_length, f.optional, text)
        if isinstance(f, TextInput) and f.name == "text"
        else f
        for f in form.fields
    )
    ctx.say("overview.weaken_intro")
    ctx.open(Form(form.id, form.title, fields, form.submit, form.context))


def overview_prompt_blocks(lang: str) -> list[Block]:
    return [Text(t(lang, "overview.how_to")), actor_form(lang), force_form(lang)]


def _form_only(form: Callable[[str], Form]) -> Flow:
    """A command that is filled in as a form: without fields it shows the form."""

    async def run(ctx: Context, args: str) -> None:
        if args.strip():
            raise Refusal("errors.use_the_form")
        ctx.open(form(ctx.lang))

    return run


router = Router()
router.command("actor", form="actor")(_form_only(actor_form))
router.command("force", form="force")(_form_only(force_form))
router.action("weaken")(weaken)


@router.form("actor", build=actor_form, static=True)
async def _actor(ctx: Context, values: dict[str, str], _context: str) -> None:
    await add_actor(ctx, values)


@router.form("force", build=force_form, static=True)
async def _force(ctx: Context, values: dict[str, str], _context: str) -> None:
    await add_force(ctx, values)
