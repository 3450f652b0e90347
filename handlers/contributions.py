"""Collecting answers privately: a contribution is stored at once and shown only at the reveal.
Until then its author may change or withdraw it (the privacy text promises it)."""

from __future__ import annotations

import json

from handlers.context import Context, Refusal, clean_text, record_id
from handlers.conversation import Router, no_args
from handlers.lookup import category_label, require_open_round, split_category
from handlers.messages import Action, Choices, Form, Heading, Quote, Text, TextInput, message
from handlers.model import Contribution, Round, RoundKind, RoundStatus, id_of
from handlers.overview import add_from_text
from handlers.round_prompts import contribute_form
from handlers.systems import add_links_from_text
from prompts.catalog import t

# Rounds whose answers are contributions, revealed together when the round closes.
REVEALED = (RoundKind.CHECKIN, RoundKind.REFLECT)


async def contribute(ctx: Context, raw: str, category: str = "", round_id: str = "") -> None:
    """Store one answer for the open round (a DM reply or a submitted form). A form names its
    round: an answer to a round that has closed since is refused, not filed elsewhere."""
    session, rnd = await require_open_round(ctx, ANSWERING)
    if round_id and round_id != str(rnd.id):
        raise Refusal("errors.round_closed")
    if rnd.kind == RoundKind.CAUSAL:
        await add_links_from_text(ctx, session, raw)
        return
    if rnd.kind == RoundKind.OVERVIEW:
        await add_from_text(ctx, rnd, raw)
        return
    text = clean_text(raw)
    if not category:
        category, text = split_category(rnd, text)
        text = clean_text(text)
    elif category not in rnd.categories:
        raise Refusal("errors.unknown_category")
    answer = Contribution(id_of(rnd), ctx.person_id, text, category, created_at=ctx.now)
    await ctx.uow.insert(answer)  # nothing below changes it
    key = "contributions.stored_anonymous" if session.anonymous else "contributions.stored"
    label = category_label(ctx.lang, rnd, category) if category else ""
    ctx.reply(message(Text(ctx.t(key, category=label)), answer_buttons(ctx.lang, answer)))


ANSWERING = (RoundKind.CHECKIN, RoundKind.REFLECT, RoundKind.CAUSAL, RoundKind.OVERVIEW)


def answer_buttons(lang: str, answer: Contribution) -> Choices:
    """Change (a form with the answer filled in) or withdraw one's own answer."""
    form = json.dumps({"form": "edit_answer", "context": str(answer.id)})
    return Choices(
        (
            Action("form", t(lang, "contributions.change_button"), form),
            Action("withdraw_answer", t(lang, "contributions.withdraw_button"), str(answer.id)),
        )
    )


async def my_answers(ctx: Context) -> list[tuple[Contribution, Round]]:
    """The person's answers in the open round, oldest first (their numbers in `answers`)."""
    found = await ctx.uow.sessions.open_round(ctx.team_id)
    if found is None or found[1].kind not in REVEALED:
        return []
    rnd = found[1]
    answers = await ctx.uow.sessions.contributions([id_of(rnd)])
    return [(c, rnd) for c in answers if c.author_id == ctx.person_id]


async def _own_unrevealed(ctx: Context, ref: str) -> Contribution:
    """One's own answer, by its number in `answers` ("2") or a button's id ("#17"), while its
    round is still open: after the reveal the team has seen it, and it stays."""
    ref = ref.strip()
    if ref.startswith("#"):
        number = record_id(ref)
        answer = await ctx.uow.get(Contribution, number) if number is not None else None
        if answer is None or answer.author_id != ctx.person_id:
            raise Refusal("contributions.not_yours")
        rnd = await ctx.uow.get(Round, answer.round_id)
        if rnd is None or rnd.status != RoundStatus.OPEN:
            raise Refusal("contributions.revealed")
        return answer
    if not (ref.isascii() and ref.isdigit()):
        raise Refusal("contributions.number_needed")
    mine = await my_answers(ctx)
    if not 1 <= int(ref) <= len(mine):
        raise Refusal("contributions.no_such_answer", number=ref[:12], count=len(mine))
    return mine[int(ref) - 1][0]


async def list_answers(ctx: Context) -> None:
    """`answers`: what one has shared in the open round, each to change or withdraw."""
    mine = await my_answers(ctx)
    if not mine:
        ctx.say("contributions.none_yours")
        return
    blocks: list = [Heading(ctx.t("contributions.yours_heading", count=len(mine)))]
    for number, (answer, rnd) in enumerate(mine, start=1):
        label = category_label(ctx.lang, rnd, answer.category) if answer.category else ""
        name = ctx.t("contributions.numbered", number=number)
        blocks += [Quote(answer.text, f"{name} · {label}" if label else name)]
        blocks.append(answer_buttons(ctx.lang, answer))
    blocks.append(Text(ctx.t("contributions.how_to_change")))
    ctx.reply(message(*blocks))


async def change_answer(ctx: Context, args: str) -> None:
    """`change 2 new words`; `change 2` alone opens the form with the answer filled in."""
    ref, _, text = args.strip().partition(" ")
    answer = await _own_unrevealed(ctx, ref)
    if not text.strip():
        ctx.open(_edit_form(ctx.lang, answer))
        return
    await _replace_text(ctx, answer, text)


async def _replace_text(ctx: Context, answer: Contribution, raw: str) -> None:
    rnd = await ctx.uow.get(Round, answer.round_id)
    assert rnd is not None
    category, text = split_category(rnd, clean_text(raw))
    answer.text = clean_text(text)
    if category:
        answer.category = category
    ctx.say("contributions.changed", text=answer.text)


async def withdraw(ctx: Context, args: str) -> None:
    """`withdraw 2` or the button: the answer is deleted, as if never given."""
    answer = await _own_unrevealed(ctx, args)
    await ctx.uow.delete(answer)
    ctx.say("contributions.withdrawn")


def _edit_form(lang: str, answer: Contribution) -> Form:
    return Form(
        "edit_answer",
        t(lang, "contributions.edit_title"),
        (TextInput("text", t(lang, "rounds.answer_label"), multiline=True, value=answer.text),),
        t(lang, "contributions.edit_submit"),
        f"#{answer.id}",
    )


async def _answer_form(ctx: Context, context: str) -> Form:
    """The answer form of the open round; one for a round that has closed is refused."""
    _session, rnd = await require_open_round(ctx, ANSWERING)
    if context and context != str(rnd.id):
        raise Refusal("errors.round_closed")
    return contribute_form(ctx.lang, rnd)


async def _edit_answer_form(ctx: Context, context: str) -> Form:
    ref = context if context.startswith("#") else f"#{context}"
    return _edit_form(ctx.lang, await _own_unrevealed(ctx, ref))


def _a_number(args: str) -> bool:
    return record_id(args) is not None


router = Router()
router.command("add")(contribute)
router.command("answers", in_dm=True)(no_args(list_answers))
# In a DM, "wijzig 2" alone opens the form; with more words only as "/wijzig 2 …", so that an
# answer that happens to begin with the word stays an answer.
router.command("change", in_dm=_a_number)(change_answer)
router.command("withdraw", in_dm=_a_number)(withdraw)


@router.action("withdraw_answer")
async def _withdraw_clicked(ctx: Context, value: str) -> None:
    await withdraw(ctx, f"#{value}" if value.isdigit() else value)


@router.form("contribute", build=_answer_form)
async def _submitted(ctx: Context, values: dict[str, str], context: str) -> None:
    await contribute(ctx, values.get("text", ""), values.get("category", ""), context)


@router.form("edit_answer", build=_edit_answer_form)
async def _edited(ctx: Context, values: dict[str, str], context: str) -> None:
    ref = context if context.startswith("#") else f"#{context}"
    await _replace_text(ctx, await _own_unrevealed(ctx, ref), values.get("text", ""))
