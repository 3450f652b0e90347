"""Collecting answers privately: a contribution is stored at once and shown only at the reveal."""

from __future__ import annotations

from handlers.context import Context, Refusal, clean_text
from handlers.conversation import Router
from handlers.lookup import category_label, require_open_round, split_category
from handlers.messages import Form
from handlers.model import Contribution, RoundKind, id_of
from handlers.overview import add_from_text
from handlers.round_prompts import contribute_form
from handlers.systems import add_links_from_text


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
    ctx.uow.add(Contribution(id_of(rnd), ctx.person_id, text, category, created_at=ctx.now))
    key = "contributions.stored_anonymous" if session.anonymous else "contributions.stored"
    ctx.say(key, category=category_label(ctx.lang, rnd, category) if category else "")


ANSWERING = (RoundKind.CHECKIN, RoundKind.REFLECT, RoundKind.CAUSAL, RoundKind.OVERVIEW)


async def _answer_form(ctx: Context, context: str) -> Form:
    """The answer form of the open round; one for a round that has closed is refused."""
    _session, rnd = await require_open_round(ctx, ANSWERING)
    if context and context != str(rnd.id):
        raise Refusal("errors.round_closed")
    return contribute_form(ctx.lang, rnd)


router = Router()
router.command("add")(contribute)


@router.form("contribute", build=_answer_form)
async def _submitted(ctx: Context, values: dict[str, str], context: str) -> None:
    await contribute(ctx, values.get("text", ""), values.get("category", ""), context)
