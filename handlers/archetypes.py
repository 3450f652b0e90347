"""System archetypes recognised from the loops' structure and signs: pure, no words.

Only a hint: the same structure can mean something else in the team's situation, so the words
(in prompts/*/systems.yaml) always ask "does that fit?". The patterns, after Senge's *The Fifth
Discipline* (appendix 2) and Kim's *System Archetypes*:

- fixes that fail: a balancing loop (problem → fix → less problem) wholly inside a longer
  reinforcing loop (the fix's side effect brings the problem back);
- shifting the burden: two balancing loops on one symptom (a quick fix, a fundamental
  solution) and a reinforcing loop through both (the quick fix undermines the fundamental one);
- limits to growth: a reinforcing loop and a balancing loop that share a factor, each with
  factors of its own (growth, and what holds it back);
- escalation: two balancing loops that meet in one factor and push it opposite ways (each
  side reacts to the other's lead);
- success to the successful: two reinforcing loops that meet in one factor and leave it with
  opposite signs (what goes to one is taken from the other);
- tragedy of the commons: two reinforcing loops with nothing in common, each held back by a
  balancing loop, the two balancing loops sharing a factor (the common resource).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import combinations, permutations
from typing import Generic, TypeVar

from handlers.loops import Edge, Loop, merge_edges

N = TypeVar("N", bound=Hashable)

KINDS = (
    "shifting_the_burden",
    "fixes_that_fail",
    "tragedy_of_the_commons",
    "success_to_the_successful",
    "escalation",
    "limits_to_growth",
)
LOOPS_LOOKED_AT = 60  # the shortest loops; pairs and quadruples of more would take too long
MAX_HINTS = 3


@dataclass(frozen=True)
class Hint(Generic[N]):
    kind: str  # one of KINDS
    loops: tuple[str, ...]  # the loops' labels, e.g. ("B1", "R2")
    factor: N | None = None  # the factor they meet in, when that is the point


def _links(lp: Loop[N]) -> set[tuple[N, N]]:
    n = len(lp.nodes)
    return {(lp.nodes[i], lp.nodes[(i + 1) % n]) for i in range(n)}


def _into(lp: Loop[N], node: N) -> tuple[N, N]:
    i = lp.nodes.index(node)
    return (lp.nodes[i - 1], node)


def _out_of(lp: Loop[N], node: N) -> tuple[N, N]:
    i = lp.nodes.index(node)
    return (node, lp.nodes[(i + 1) % len(lp.nodes)])


def archetypes(loops: Sequence[Loop[N]], edges: Sequence[Edge[N]]) -> list[Hint[N]]:
    """The archetypes the loops look like, most specific first, each loop in one hint."""
    merged = merge_edges(edges)
    known = [lp for lp in loops[:LOOPS_LOOKED_AT] if lp.kind != "unclear" and len(lp.nodes) > 1]
    r = [lp for lp in known if lp.reinforcing]
    b = [lp for lp in known if lp.balancing]
    sets = {lp.label: set(lp.nodes) for lp in known}
    found: list[Hint[N]] = []
    used: set[str] = set()

    def free(*group: Loop[N]) -> bool:
        return not any(lp.label in used for lp in group)

    def take(kind: str, group: Sequence[Loop[N]], factor: N | None = None) -> None:
        found.append(Hint(kind, tuple(lp.label for lp in group), factor))
        used.update(lp.label for lp in group)

    def opposite(pair: tuple[N, N]) -> bool:
        return merged[pair].opposite

    for b1, b2 in combinations(b, 2):
        shared = sets[b1.label] & sets[b2.label]
        if len(shared) != 1:
            continue
        (symptom,) = shared
        for loop in r:
            own = sets[loop.label]
            if (
                symptom in own
                and own & (sets[b1.label] - shared)
                and own & (sets[b2.label] - shared)
                and free(b1, b2, loop)
            ):
                take("shifting_the_burden", (b1, b2, loop), symptom)
                break
    for fix in b:
        for loop in r:
            inside = sets[fix.label] < sets[loop.label] and _links(fix) & _links(loop)
            if inside and free(fix, loop):
                take("fixes_that_fail", (fix, loop))
    for r1, r2 in combinations(r, 2):
        if sets[r1.label] & sets[r2.label]:
            continue
        for b1, b2 in permutations(b, 2):
            if (
                sets[b1.label] & sets[r1.label]
                and sets[b2.label] & sets[r2.label]
                and not sets[b1.label] & sets[r2.label]
                and not sets[b2.label] & sets[r1.label]
                and sets[b1.label] & sets[b2.label]
                and free(r1, r2, b1, b2)
            ):
                take("tragedy_of_the_commons", (r1, r2, b1, b2))
                break
    for r1, r2 in combinations(r, 2):
        shared = sets[r1.label] & sets[r2.label]
        if len(shared) == 1:
            (node,) = shared
            if opposite(_out_of(r1, node)) != opposite(_out_of(r2, node)) and free(r1, r2):
                take("success_to_the_successful", (r1, r2), node)
    for b1, b2 in combinations(b, 2):
        shared = sets[b1.label] & sets[b2.label]
        if len(shared) == 1:
            (node,) = shared
            if opposite(_into(b1, node)) != opposite(_into(b2, node)) and free(b1, b2):
                take("escalation", (b1, b2), node)
    for grow in r:
        for hold in b:
            mine, theirs = sets[grow.label], sets[hold.label]
            if mine & theirs and mine - theirs and theirs - mine and free(grow, hold):
                take("limits_to_growth", (grow, hold), min(mine & theirs, key=grow.nodes.index))
    order = {kind: i for i, kind in enumerate(KINDS)}
    found.sort(key=lambda h: order[h.kind])
    return found[:MAX_HINTS]
