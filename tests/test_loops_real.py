"""On real maps nobody here wrote (tests/fixtures/maps): the same loops and R/B as an
independent enumeration (networkx.simple_cycles, signs read from the file by this test), the
shortest loops always among those shown, and the same output however the rows are ordered."""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from bot.export.mapfiles import analysis_json, read_csv, read_kumu, read_map
from handlers.loops import analyse, search_loops

MAPS = Path(__file__).parent / "fixtures" / "maps"
CSVS = ["world3-03.csv", "sdxorg-sir.csv", "sdxorg-workforce.csv", "sdxorg-teacup.csv"]
KUMU = ["kumu-us-financial-inclusion.json", "kumu-changelabs-template.json"]
SAME = {"+", "++", "--", "same"}
OPPOSITE = {"-", "+-", "-+", "opposite"}


def signs_from_csv(path: Path) -> dict[tuple[str, str], set[str]]:
    """(from, to) -> the signs the rows give it, read with nothing of ours."""
    signs: dict[tuple[str, str], set[str]] = {}
    for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
        signs.setdefault((row["from"], row["to"]), set()).add(row["polarity"])
    return signs


def signs_from_kumu(path: Path) -> dict[tuple[str, str], set[str]]:
    """The same from a Kumu backup, by element id, with direction and reversed as Kumu
    documents them; names are shown as ours are (label, or "label (id)" when shared)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    labels = {e["_id"]: " ".join(e["attributes"]["label"].split()) for e in data["elements"]}
    shared = {lb for lb, n in Counter(labels.values()).items() if n > 1}
    name = {i: f"{lb} ({i})" if lb in shared else lb for i, lb in labels.items()}
    signs: dict[tuple[str, str], set[str]] = {}
    for c in data["connections"]:
        a, b = name[c["from"]], name[c["to"]]
        if c.get("reversed"):
            a, b = b, a
        code = str(c["attributes"].get("connection type") or "").casefold()
        sign = "+" if code in SAME else "-" if code in OPPOSITE else "?"
        pairs = [(a, b)] if c["direction"] == "directed" else [(a, b), (b, a)]
        for pair in pairs:
            signs.setdefault(pair, set()).add(sign)
    return signs


def reference(signs: dict[tuple[str, str], set[str]], bound: int) -> Counter[tuple]:
    graph = nx.DiGraph(list(signs))
    found: Counter[tuple] = Counter()
    for cycle in nx.simple_cycles(graph, length_bound=bound):
        links = [signs[(cycle[i], cycle[(i + 1) % len(cycle)])] for i in range(len(cycle))]
        if any(len(s) > 1 or "?" in s for s in links):
            kind = "unclear"
        else:
            kind = "balancing" if sum("-" in s for s in links) % 2 else "reinforcing"
        found[(frozenset(cycle), len(cycle), kind)] += 1
    return found


def signs_of(name: str) -> dict[tuple[str, str], set[str]]:
    return signs_from_kumu(MAPS / name) if name.endswith(".json") else signs_from_csv(MAPS / name)


@pytest.mark.parametrize(("name", "bound"), [*((n, 8) for n in CSVS + KUMU),
                                             ("world3-03.csv", 14),
                                             ("kumu-us-financial-inclusion.json", 16)])  # fmt: skip
def test_same_loops_and_kinds_as_networkx(name: str, bound: int) -> None:
    loaded = read_map(MAPS / name)
    loops, search = search_loops(
        loaded.factors, loaded.edges, max_length=bound, max_loops=10**6, time_budget=120
    )
    result = analyse(
        loaded.factors, loaded.edges, max_length=bound, max_loops=10**6, time_budget=120
    )
    ours = Counter((frozenset(lp.nodes), len(lp.nodes), lp.kind) for lp in result.loops)
    assert ours == reference(signs_of(name), bound)
    assert search.bound in ("", "length") and len(loops) == len(result.loops)
    assert [len(lp.nodes) for lp in result.loops] == sorted(len(lp.nodes) for lp in result.loops)


def test_world3_has_loops_of_many_lengths() -> None:
    loaded = read_map(MAPS / "world3-03.csv")
    result = analyse(loaded.factors, loaded.edges, max_length=14, max_loops=10**6)
    lengths = Counter(len(lp.nodes) for lp in result.loops)
    assert len(loaded.factors) == 178 and len(lengths) >= 10
    assert {lp.kind for lp in result.loops} == {"reinforcing", "balancing"}


@pytest.mark.parametrize("max_loops", [1, 7, 50, 200])
def test_under_the_count_bound_the_shortest_loops_of_world3_are_shown(max_loops: int) -> None:
    loaded = read_map(MAPS / "world3-03.csv")
    result = analyse(loaded.factors, loaded.edges, max_length=20, max_loops=max_loops)
    assert len(result.loops) == max_loops and result.search.bound == "count"
    graph = nx.DiGraph([(e.source, e.target) for e in loaded.edges])
    longest = max(len(lp.nodes) for lp in result.loops)
    shorter = Counter(frozenset(c) for c in nx.simple_cycles(graph, length_bound=longest - 1))
    shown = Counter(frozenset(lp.nodes) for lp in result.loops if len(lp.nodes) < longest)
    assert shown == shorter  # every loop shorter than the longest shown is shown
    at_longest = sum(1 for c in nx.simple_cycles(graph, length_bound=longest) if len(c) == longest)
    assert result.search.hidden == at_longest - sum(len(lp.nodes) == longest
                                                    for lp in result.loops)  # fmt: skip


def _without_positions(data: dict) -> dict:
    """Where in the file a doubtful link was differs with the order; nothing else may."""
    return {k: v for k, v in data.items() if k not in ("unsigned_links", "conflicts")}


@pytest.mark.parametrize("seed", range(3))
def test_shuffled_csv_rows_give_the_same_output(seed: int) -> None:
    text = (MAPS / "world3-03.csv").read_text(encoding="utf-8")
    header, *rows = text.splitlines()
    first = read_csv(text)
    base = analysis_json(first, analyse(first.factors, first.edges, max_length=20, max_loops=40))
    random.Random(seed).shuffle(rows)
    again = read_csv("\n".join([header, *rows]) + "\n")
    data = analysis_json(again, analyse(again.factors, again.edges, max_length=20, max_loops=40))
    assert data == base
    assert base["truncated"] and base["bound"] == "count"


@pytest.mark.parametrize("seed", range(3))
def test_shuffled_kumu_elements_and_connections_give_the_same_output(seed: int) -> None:
    raw = json.loads((MAPS / KUMU[0]).read_text(encoding="utf-8"))
    first = read_kumu(json.dumps(raw))
    base = analysis_json(first, analyse(first.factors, first.edges, max_loops=20))
    rng = random.Random(seed)
    rng.shuffle(raw["elements"])
    rng.shuffle(raw["connections"])
    rng.shuffle(raw["loops"])
    again = read_kumu(json.dumps(raw))
    data = analysis_json(again, analyse(again.factors, again.edges, max_loops=20))
    assert _without_positions(data) == _without_positions(base)
    assert sorted(data["unsigned_links"]) != [] and len(data["unsigned_links"]) == 7
