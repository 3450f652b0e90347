"""Loops and leverage on hand-checked maps, and the search's bounds against networkx."""

from __future__ import annotations

import random
from collections import Counter

import networkx as nx
import pytest

from handlers.loops import (
    Edge,
    analyse,
    betweenness,
    conflicts,
    find_loops,
    micmac,
    search_loops,
)


def edges(*spec: str) -> list[Edge[str]]:
    """ "A +B", "A -B", "A -B delay", "A ?B" (no known polarity) -> edges."""
    out = []
    for item in spec:
        source, target, *rest = item.split()
        out.append(Edge(source, target[1:], target[0] == "-", bool(rest), target[0] == "?"))
    return out


def nodes_of(es: list[Edge[str]]) -> list[str]:
    return list(dict.fromkeys(n for e in es for n in (e.source, e.target)))


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
    # Within one length, loops are numbered in a fixed order of the factors (alphabetical).
    assert found == {
        "B1": ({"symptom", "fundamental"}, "balancing"),
        "B2": ({"symptom", "quickfix"}, "balancing"),
        "R1": ({"symptom", "quickfix", "sideeffect", "fundamental"}, "reinforcing"),
    }


def test_a_loop_is_found_once_whichever_factor_it_is_read_from() -> None:
    a = find_loops(["a", "b", "c"], edges("a +b", "b +c", "c +a"))[0]
    b = find_loops(["c", "a", "b"], edges("b +c", "c +a", "a +b"))[0]
    assert len(a) == len(b) == 1 and a[0].nodes == b[0].nodes == ("a", "b", "c")
    doubled = find_loops(["a", "b"], edges("a +b", "a +b", "b -a"))[0]
    assert len(doubled) == 1 and doubled[0].label == "B1"


def test_shortest_first_and_delays_counted() -> None:
    found, _, _ = find_loops(
        ["a", "b", "c", "d"], edges("a +b", "b +c", "c +d", "d +a delay", "b -a")
    )
    assert [(lp.label, len(lp.nodes), lp.delays) for lp in found] == [("B1", 2, 0), ("R1", 4, 1)]


def test_a_self_link_is_a_loop_of_one_factor() -> None:
    found, truncated, _ = find_loops([], edges("stock -stock", "stock +flow", "flow +stock"))
    assert [(lp.label, lp.nodes) for lp in found] == [("B1", ("stock",)), ("R1", ("flow", "stock"))]
    assert not truncated


def test_conflicting_duplicates_make_the_loop_unclear_and_are_listed() -> None:
    es = edges("a +b", "b +a", "a -b", "c +d", "d ?c")
    assert conflicts(es) == [("a", "b")]
    found, _, _ = find_loops([], es)
    assert [(lp.label, lp.kind) for lp in found] == [("U1", "unclear"), ("U2", "unclear")]
    assert not found[0].reinforcing and not found[0].balancing


def test_the_count_bound_keeps_the_shortest_loops() -> None:
    es = edges("a +b", "b +c", "c +a", "d +e", "e -d")
    loops, search = search_loops([], es, max_loops=1)
    assert [lp.nodes for lp in loops] == [("d", "e")]
    assert (search.bound, search.complete_to, search.hidden) == ("count", 2, 1)


def test_exactly_n_loops_is_not_truncated() -> None:
    es = edges("a +b", "b +a", "b +c", "c +b", "c +a")
    total = len(find_loops([], es)[0])
    assert total == 3
    loops, search = search_loops([], es, max_loops=total)
    assert len(loops) == total and not search.truncated and search.hidden == 0
    loops, search = search_loops([], es, max_loops=total - 1)
    assert len(loops) == total - 1 and search.bound == "count" and search.hidden == 1
    assert search.more_possible  # loops longer than 3 links were not looked for
    _, search = search_loops([], es, max_loops=total - 1, max_length=3)
    assert search.hidden == 1 and not search.more_possible  # the last length counted out


def random_map(n: int, degree: float, seed: int, selfs: bool = False) -> list[Edge[int]]:
    rng = random.Random(seed)
    pairs = {(rng.randrange(n), rng.randrange(n)) for _ in range(int(n * degree))}
    return [Edge(s, t, rng.random() < 0.4) for s, t in pairs if selfs or s != t]


def reference(es: list[Edge[int]], bound: int) -> Counter[tuple[frozenset[int], str]]:
    """networkx's cycles with R/B worked out here from the links' signs, independently."""
    graph = nx.DiGraph()
    for e in es:
        graph.add_edge(e.source, e.target, opposite=e.opposite)
    found: Counter[tuple[frozenset[int], str]] = Counter()
    for cycle in nx.simple_cycles(graph, length_bound=bound):
        minus = sum(graph[cycle[i]][cycle[(i + 1) % len(cycle)]]["opposite"]
                    for i in range(len(cycle)))  # fmt: skip
        found[(frozenset(cycle), "balancing" if minus % 2 else "reinforcing")] += 1
    return found


@pytest.mark.parametrize("seed", range(6))
def test_same_loops_and_kinds_as_networkx_on_random_maps(seed: int) -> None:
    es = random_map(25, 2.2, seed, selfs=True)
    found, _, _ = find_loops(list(range(25)), es, max_length=6, max_loops=10**6, time_budget=60)
    assert Counter((frozenset(lp.nodes), lp.kind) for lp in found) == reference(es, 6)
    assert [len(lp.nodes) for lp in found] == sorted(len(lp.nodes) for lp in found)


@pytest.mark.parametrize("seed", range(4))
def test_under_the_count_bound_nothing_hidden_is_shorter_than_what_is_shown(seed: int) -> None:
    es = random_map(40, 3.0, seed)
    loops, search = search_loops(list(range(40)), es, max_length=7, max_loops=60)
    by_length = Counter(len(c) for c in nx.simple_cycles(
        nx.DiGraph([(e.source, e.target) for e in es]), length_bound=7))  # fmt: skip
    assert search.bound == "count" and len(loops) == 60
    longest = max(len(lp.nodes) for lp in loops)
    assert search.complete_to == longest - 1
    for length in range(1, longest):
        assert sum(len(lp.nodes) == length for lp in loops) == by_length[length]
    shown_at_last = sum(len(lp.nodes) == longest for lp in loops)
    assert search.hidden == by_length[longest] - shown_at_last  # counted, not guessed


def test_shuffled_rows_give_the_same_loops_labels_and_leverage() -> None:
    es = random_map(60, 2.5, 11)
    first = analyse(list(range(60)), es, max_loops=40)
    for seed in range(5):
        shuffled = list(es)
        random.Random(seed).shuffle(shuffled)
        nodes = list(range(60))
        random.Random(seed + 100).shuffle(nodes)
        again = analyse(nodes, shuffled, max_loops=40)
        assert again.loops == first.loops and again.leverage == first.leverage
        assert again.search == first.search


def test_the_time_bound_is_a_safety_net_and_says_what_is_complete() -> None:
    es = random_map(200, 6.0, 1)
    loops, search = search_loops(list(range(200)), es, max_loops=10**7, time_budget=0.05)
    assert search.bound == "time" and search.more_possible
    # Whatever the machine's load, every loop up to `complete_to` links is there.
    graph = nx.DiGraph([(e.source, e.target) for e in es])
    complete = sum(1 for _ in nx.simple_cycles(graph, length_bound=search.complete_to))
    assert sum(len(lp.nodes) <= search.complete_to for lp in loops) == complete


def test_the_length_bound_is_reported_only_when_it_hides_a_loop() -> None:
    ring = [Edge(i, (i + 1) % 10) for i in range(10)]
    found, truncated, bound = find_loops(list(range(10)), ring, max_length=8)
    assert (found, truncated, bound) == ([], True, "length")
    found, truncated, _ = find_loops(list(range(10)), ring, max_length=10)
    assert len(found) == 1 and not truncated
    chords = [*ring, Edge(5, 0)]  # loops of 6 and 10 links
    loops, search = search_loops([], chords, max_length=6)
    assert len(loops) == 1 and search.bound == "length" and search.hidden == 1


def test_loops_grouped_by_strongly_connected_part_with_a_covering_core() -> None:
    es = edges(
        "a +b",
        "b +a",
        "b +c",
        "c +b",
        "c +a",
        "a -c",  # one part: a, b, c
        "x +y",
        "y -x",  # another: x, y
        "c +x",
    )  # a bridge: on no loop
    result = analyse([], es)
    assert result.groups == [("a", "b", "c"), ("x", "y")]
    assert {lp.group for lp in result.loops if set(lp.nodes) <= {"a", "b", "c"}} == {1}
    assert {lp.group for lp in result.loops if "x" in lp.nodes} == {2}
    core = [lp for lp in result.loops if lp.core]
    core_links = {(lp.nodes[i], lp.nodes[(i + 1) % len(lp.nodes)])
                  for lp in core for i in range(len(lp.nodes))}  # fmt: skip
    feedback = {(e.source, e.target) for e in es} - {("c", "x")}
    assert core_links == feedback and len(core) < len(result.loops)
    assert result.uncovered == 0


def test_hubs_with_their_split_and_without_two_link_drains() -> None:
    es = edges("trust -referrals", "referrals +waiting", "waiting -trust", "trust +sharing",
               "sharing +trust", "waiting +pressure", "pressure +referrals",
               "waiting +outflow", "outflow -waiting")  # fmt: skip
    result = analyse(nodes_of(es), es)
    assert result.loop_count["waiting"] == 3
    assert (result.reinforcing["waiting"], result.balancing["waiting"]) == (2, 1)
    assert "outflow" in result.drains and "outflow" not in result.leverage
    assert result.leverage[0] == "waiting"
    assert result.loop_count["outflow"] == 1  # counted, just not offered


def test_micmac_places() -> None:
    es = edges("policy +a", "a +b", "b +a", "b +outcome")
    result = analyse([], es)
    places = micmac(result)
    assert places["policy"] == "driving" and places["outcome"] == "dependent"
    assert result.influence["policy"] == 3 and result.dependence["outcome"] == 3


def test_betweenness_matches_networkx() -> None:
    es = random_map(30, 2.5, 7)
    mine = betweenness(list(range(30)), es)
    theirs = nx.betweenness_centrality(nx.DiGraph([(e.source, e.target) for e in es]))
    for node, value in theirs.items():
        assert mine[node] == pytest.approx(value)
