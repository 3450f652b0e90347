"""Loops and leverage on hand-checked maps: the classic system archetypes."""

from __future__ import annotations

import random
import time

import networkx as nx
import pytest

from handlers.loops import Edge, analyse, betweenness, find_loops


def edges(*spec: str) -> list[Edge[str]]:
    """ "A +B", "A -B", "A -B delay" -> edges."""
    out = []
    for item in spec:
        source, target, *rest = item.split()
        out.append(Edge(source, target[1:], target[0] == "-", bool(rest)))
    return out


def nodes_of(es: list[Edge[str]]) -> list[str]:
    seen: list[str] = []
    for e in es:
        for n in (e.source, e.target):
            if n not in seen:
                seen.append(n)
    return seen


def loops_of(*spec: str) -> dict[str, tuple[set[str], str]]:
    es = edges(*spec)
    found, truncated, _ = find_loops(nodes_of(es), es)
    assert not truncated
    return {lp.label: (set(lp.nodes), lp.kind) for lp in found}


def test_limits_to_growth() -> None:
    assert loops_of(
        "effort +results", "results +effort", "results +constraint", "constraint -results"
    ) == {
        "R1": ({"effort", "results"}, "reinforcing"),
        "B1": ({"results", "constraint"}, "balancing"),
    }


def test_shifting_the_burden() -> None:
    found = loops_of("symptom +quickfix", "quickfix -symptom", "symptom +fundamental",
                     "fundamental -symptom delay", "quickfix +sideeffect",
                     "sideeffect -fundamental")  # fmt: skip
    assert found == {
        "B1": ({"symptom", "quickfix"}, "balancing"),
        "B2": ({"symptom", "fundamental"}, "balancing"),
        "R1": ({"symptom", "quickfix", "sideeffect", "fundamental"}, "reinforcing"),
    }


def test_fixes_that_fail() -> None:
    assert loops_of(
        "problem +fix", "fix -problem", "fix +consequence", "consequence +problem delay"
    ) == {
        "B1": ({"problem", "fix"}, "balancing"),
        "R1": ({"problem", "fix", "consequence"}, "reinforcing"),
    }


def test_escalation() -> None:
    assert loops_of(
        "activityA +threatB", "threatB +activityB", "activityB +threatA", "threatA +activityA"
    ) == {
        "R1": ({"activityA", "threatB", "activityB", "threatA"}, "reinforcing"),
    }


def test_tragedy_of_the_commons() -> None:
    found = loops_of("actA +gainA", "gainA +actA", "actB +gainB", "gainB +actB", "actA +total",
                     "actB +total", "total -resource", "resource +yield", "yield +gainA",
                     "yield +gainB")  # fmt: skip
    assert {label: kind for label, (_, kind) in found.items()} == {
        "R1": "reinforcing", "R2": "reinforcing", "B1": "balancing", "B2": "balancing",
    }  # fmt: skip
    assert found["B1"][0] | found["B2"][0] >= {"total", "resource", "yield"}


def test_a_loop_is_found_once_whichever_factor_it_is_read_from() -> None:
    a = find_loops(["a", "b", "c"], edges("a +b", "b +c", "c +a"))[0]
    b = find_loops(["c", "a", "b"], edges("b +c", "c +a", "a +b"))[0]
    assert len(a) == len(b) == 1 and set(a[0].nodes) == set(b[0].nodes)
    doubled = find_loops(["a", "b"], edges("a +b", "a +b", "b -a"))[0]
    assert len(doubled) == 1 and doubled[0].label == "B1"


def test_shortest_first_and_delays_counted() -> None:
    found, _, _ = find_loops(
        ["a", "b", "c", "d"], edges("a +b", "b +c", "c +d", "d +a delay", "b -a")
    )
    assert [(lp.label, len(lp.nodes), lp.delays) for lp in found] == [("B1", 2, 0), ("R1", 4, 1)]


def random_map(n: int, degree: float, seed: int) -> list[Edge[int]]:
    rng = random.Random(seed)
    pairs = {(rng.randrange(n), rng.randrange(n)) for _ in range(int(n * degree))}
    return [Edge(s, t, rng.random() < 0.4) for s, t in pairs if s != t]


@pytest.mark.parametrize("seed", range(5))
def test_same_loops_as_networkx_on_random_maps(seed: int) -> None:
    es = random_map(25, 2.0, seed)
    found, _, _ = find_loops(list(range(25)), es, max_length=6, max_loops=10**6, time_budget=30)
    graph = nx.DiGraph([(e.source, e.target) for e in es])
    reference = {frozenset(c) for c in nx.simple_cycles(graph, length_bound=6)}
    assert {frozenset(lp.nodes) for lp in found} == reference
    assert len(found) == len(list(nx.simple_cycles(graph, length_bound=6)))


def test_a_dense_map_answers_within_the_bound_and_says_so() -> None:
    es = random_map(200, 6.0, 1)
    start = time.monotonic()
    found, truncated, bound = find_loops(list(range(200)), es, time_budget=0.8)
    assert time.monotonic() - start < 1.5
    assert truncated and bound in ("count", "time") and found


def test_betweenness_matches_networkx() -> None:
    es = random_map(30, 2.5, 7)
    mine = betweenness(list(range(30)), es)
    theirs = nx.betweenness_centrality(nx.DiGraph([(e.source, e.target) for e in es]))
    for node, value in theirs.items():
        assert mine[node] == pytest.approx(value)


def test_leverage_ranks_the_factor_in_most_loops_first() -> None:
    es = edges("trust -referrals", "referrals +waiting", "waiting -trust", "trust +sharing",
               "sharing +trust", "waiting +pressure", "pressure +referrals")  # fmt: skip
    result = analyse(nodes_of(es), es)
    assert result.leverage[0] in ("trust", "referrals", "waiting")
    assert result.loop_count["trust"] == 2 and result.loop_count["pressure"] == 1
    assert len(result.loops) == 3


def test_the_length_bound_is_reported_only_when_it_hides_a_loop() -> None:
    ring = [Edge(i, (i + 1) % 10) for i in range(10)]
    found, truncated, bound = find_loops(list(range(10)), ring, max_length=8)
    assert (found, truncated, bound) == ([], True, "length")
    found, truncated, _ = find_loops(list(range(10)), ring, max_length=10)
    assert len(found) == 1 and not truncated
