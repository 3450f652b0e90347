"""The words that ask a round's question: the DM prompt and the answer form."""

from __future__ import annotations

from handlers.commitments import commitment_form
from handlers.lookup import category_label, round_title
from handlers.messages import (
    Bullets,
    Fields,
    Form,
    Heading,
    Message,
    Option,
    Select,
    Text,
    TextInput,
    message,
)
from handlers.model import Person, Round, RoundKind, Session
from handlers.overview import overview_prompt_blocks
from prompts.catalog import t


def round_prompt(person: Person, session: Session, rnd: Round, total: int) -> Message:
    """The DM that asks one person the round's question, in their language."""
    lang = person.locale
    blocks: list = [
        Heading(
            t(
                lang,
                "rounds.prompt_heading",
                session=session.title,
                position=rnd.position,
                total=total,
                title=round_title(lang, rnd),
            )
        ),
        Fields(((t(lang, "sessions.question_label"), session.question),)),
    ]
    if rnd.kind == RoundKind.VOTE:
        blocks.append(Text(t(lang, "votes.prompt", budget=session.vote_budget)))
        return message(*blocks)
    blocks.append(Text(t(lang, f"rounds.{rnd.name}.question")))
    if rnd.kind == RoundKind.COMMIT:
        blocks.append(commitment_form(lang, rnd))
        return message(*blocks)
    if rnd.kind == RoundKind.CAUSAL:
        blocks.append(Text(t(lang, "systems.link_syntax")))
    if rnd.kind == RoundKind.OVERVIEW:
        return message(*blocks, *overview_prompt_blocks(lang))
    if rnd.categories:
        labels = [category_label(lang, rnd, c) for c in rnd.categories]
        blocks.append(Text(t(lang, "rounds.categories_hint", example=labels[0])))
        blocks.append(Bullets(tuple(labels)))
    if session.anonymous:
        blocks.append(Text(t(lang, "rounds.anonymous_note")))
    blocks.append(contribute_form(lang, rnd))
    return message(*blocks)


def contribute_form(lang: str, rnd: Round) -> Form:
    """An answer to a round, with its category when the round has them."""
    fields: list[TextInput | Select] = [
        TextInput("text", t(lang, "rounds.answer_label"), multiline=True)
    ]
    if rnd.categories:
        options = tuple(Option(c, category_label(lang, rnd, c)) for c in rnd.categories)
        fields.append(Select("category", t(lang, "rounds.category_label"), options))
    return Form(
        "contribute", round_title(lang, rnd), tuple(fields), t(lang, "rounds.send"), str(rnd.id)
    )
