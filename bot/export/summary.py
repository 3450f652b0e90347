"""The causal map of a summary as a neutral diagram, for the exports and the chat."""

from __future__ import annotations

from handlers.messages import Diagram, DiagramLink, DiagramLoop
from handlers.summary import Summary


def diagram_of(summary: Summary, title: str) -> Diagram | None:
    """The causal map of a summary as a diagram (the same one the chat showed)."""
    if not summary.causal_links:
        return None
    names: list[str] = []
    for link in summary.causal_links:
        for name in (link.source, link.target):
            if name not in names:
                names.append(name)
    index = {name: i for i, name in enumerate(names)}
    return Diagram(
        title,
        title,
        tuple(names),
        tuple(
            DiagramLink(index[lk.source], index[lk.target], lk.polarity, lk.delay)
            for lk in summary.causal_links
        ),
        tuple(DiagramLoop(lp.id, tuple(index[f] for f in lp.factors)) for lp in summary.loops),
    )
