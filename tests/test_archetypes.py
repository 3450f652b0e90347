"""Archetype hints: each classic archetype built as Senge draws it is recognised, and maps that
merely resemble one are not taken for it."""

from __future__ import annotations

import pytest

from handlers.archetypes import KINDS, archetypes
from handlers.loops import Edge, analyse


def edges(*spec: str) -> list[Edge[str]]:
    """ "a +b", "a -b" -> edges."""
    return [Edge(s, t[1:], t[0] == "-") for s, t in (item.split() for item in spec)]


def kinds(*spec: str) -> list[str]:
    es = edges(*spec)
    return [h.kind for h in archetypes(analyse([], es).loops, es)]


ARCHETYPES = {
    "fixes_that_fail": ("problem +fix", "fix -problem", "fix +sideeffect", "sideeffect +problem"),
    "shifting_the_burden": ("symptom +quickfix", "quickfix -symptom", "symptom +fundamental",
                            "fundamental -symptom", "quickfix +sideeffect",
                            "sideeffect -fundamental"),
    "limits_to_growth": ("effort +results", "results +effort", "results +constraint",
                         "constraint -results"),
    "escalation": ("actionA +resultA", "resultA +lead", "lead -actionA",
                   "actionB +resultB", "resultB -lead", "lead +actionB"),
    "tragedy_of_the_commons": ("actA +gainA", "gainA +actA", "actB +gainB", "gainB +actB",
                               "actA +total", "actB +total", "total -resource",
                               "resource +gainA", "resource +gainB"),
    "success_to_the_successful": ("successA +share", "share +resourcesA",
                                  "resourcesA +successA", "share -resourcesB",
                                  "resourcesB +successB", "successB -share"),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(ARCHETYPES))
def test_each_archetype_is_recognised(kind: str) -> None:
    found = kinds(*ARCHETYPES[kind])
    assert found and found[0] == kind, found


def test_the_hint_names_the_loops_and_the_factor_they_meet_in() -> None:
    es = edges(*ARCHETYPES["shifting_the_burden"])
    result = analyse([], es)
    (hint,) = archetypes(result.loops, es)
    assert hint.factor == "symptom" and len(hint.loops) == 3
    by_label = {lp.label: lp for lp in result.loops}
    assert {by_label[label].kind for label in hint.loops} == {"balancing", "reinforcing"}


NEAR_MISSES = {
    # Two balancing loops on one symptom, but the quick fix does not undermine the real one.
    "two_solutions_to_one_problem": (("symptom +quickfix", "quickfix -symptom",
                                      "symptom +fundamental", "fundamental -symptom"),
                                     {"shifting_the_burden", "escalation"}),
    # A fix whose side effect does not come back to the problem.
    "a_fix_with_a_harmless_side_effect": (("problem +fix", "fix -problem", "fix +sideeffect",
                                           "sideeffect +other", "other +sideeffect"),
                                          {"fixes_that_fail", "limits_to_growth"}),
    # Growth and a limit that never meet.
    "growth_and_an_unrelated_limit": (("effort +results", "results +effort", "stock +outflow",
                                       "outflow -stock", "results +stock"),
                                      {"limits_to_growth"}),
    # Two sides that both push the lead up: they correct the same gap, they don't escalate.
    "two_corrections_of_one_gap": (("actionA +resultA", "resultA +lead", "lead -actionA",
                                    "actionB +resultB", "resultB +lead", "lead -actionB"),
                                   {"escalation"}),
    # Each party has its own resource: two limits to growth, not a commons.
    "two_separate_resources": (("actA +gainA", "gainA +actA", "actB +gainB", "gainB +actB",
                                "actA +useA", "useA -gainA", "actB +useB", "useB -gainB"),
                               {"tragedy_of_the_commons"}),
    # Two reinforcing loops that share a factor and both gain from it.
    "two_loops_that_both_gain": (("successA +share", "share +resourcesA",
                                  "resourcesA +successA", "share +resourcesB",
                                  "resourcesB +successB", "successB +share"),
                                 {"success_to_the_successful"}),
    # A reinforcing loop and a balancing one with no factor in common.
    "growth_next_to_a_thermostat": (("a +b", "b +a", "x +y", "y -x"), set(KINDS)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(NEAR_MISSES))
def test_maps_that_merely_resemble_an_archetype_are_not_taken_for_it(name: str) -> None:
    spec, not_these = NEAR_MISSES[name]
    assert not set(kinds(*spec)) & not_these, kinds(*spec)


def test_unclear_loops_are_never_taken_for_an_archetype() -> None:
    es = [*edges("effort +results", "results +effort", "results +constraint"),
          Edge("constraint", "results", unknown=True)]  # fmt: skip
    assert archetypes(analyse([], es).loops, es) == []
