"""Feedback loops and leverage in a causal map: pure graph work, no storage, no words.

A loop is an elementary cycle (a self-link is a loop of one factor). It reinforces (R) when it
has an even number of opposite (−) links, balances (B) when odd, and is unclear (U) when one of
its links has no known polarity (none given, or given twice with different signs).

Loops are found in order of increasing length: every loop of 1 link, then of 2, … up to the
length bound. When the count bound stops the search, everything shown is at most as long as
everything left out, the loops of the last length are the first ones in a fixed order of the
factors (not of the rows), and the rest of that length is still counted. A time bound is only a
safety net for maps so dense that even that would take too long; it is reported as such.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

N = TypeVar("N", bound=Hashable)

DEFAULT_MAX_LENGTH = 8
DEFAULT_MAX_LOOPS = 500
DEFAULT_TIME_BUDGET = 3.0  # seconds: a safety net only; the other bounds decide the answer
PICTURE_FACTORS = 60  # a larger map is drawn as its loop groups only (bot/export/diagram.py)
HIDDEN_COUNT_CAP = 100_000  # past the count bound, loops of the last length counted up to this
_CHECK_EVERY = 2048  # steps between looks at the clock


@dataclass(frozen=True)
class Bounds:
    """How far the loop search may go; settings can change these."""

    max_length: int = DEFAULT_MAX_LENGTH
    max_loops: int = DEFAULT_MAX_LOOPS
    time_budget: float = DEFAULT_TIME_BUDGET


@dataclass(frozen=True)
class Edge(Generic[N]):
    source: N
    target: N
    opposite: bool = False  # polarity −
    delay: bool = False
    unknown: bool = False  # no polarity known: the loops through it are neither R nor B


@dataclass(frozen=True)
class Loop(Generic[N]):
    nodes: tuple[N, ...]  # in loop order, starting at the factor that comes first in the map
    opposite_links: int
    delays: int
    label: str = ""  # R1, R2, B1, U1, …
    unclear_links: int = 0
    group: int = 0  # which strongly connected part of the map it lies in (1, 2, …)
    core: bool = False  # in the small set of loops that together cover every feedback link

    @property
    def reinforcing(self) -> bool:
        return self.unclear_links == 0 and self.opposite_links % 2 == 0

    @property
    def balancing(self) -> bool:
        return self.unclear_links == 0 and self.opposite_links % 2 == 1

    @property
    def kind(self) -> str:
        if self.unclear_links:
            return "unclear"
        return "reinforcing" if self.reinforcing else "balancing"

    @property
    def key(self) -> str:
        """A stable name for the loop whatever factor one starts reading it at."""
        return ">".join(str(n) for n in self.nodes)


@dataclass(frozen=True)
class Search:
    """What the search covered, so nobody has to guess what a bound left out."""

    complete_to: int  # every loop of up to this many links is listed
    bound: str = ""  # "", "length", "count" or "time" (the safety net)
    hidden: int = 0  # loops known to exist and not listed (at least this many)
    more_possible: bool = False  # beyond `hidden`, further loops may exist

    @property
    def truncated(self) -> bool:
        return bool(self.bound)


@dataclass
class Analysis(Generic[N]):
    loops: list[Loop[N]]
    loop_count: dict[N, int]
    betweenness: dict[N, float]
    truncated: bool
    bound: str = ""  # which bound was hit: "length", "count" or "time"
    leverage: list[N] = field(default_factory=list)  # hubs, two-link drains left out
    search: Search = field(default_factory=lambda: Search(0))
    reinforcing: dict[N, int] = field(default_factory=dict)  # loops through it, per kind
    balancing: dict[N, int] = field(default_factory=dict)
    groups: list[tuple[N, ...]] = field(default_factory=list)  # strongly connected parts
    uncovered: int = 0  # feedback links on no listed loop (they lie on longer ones)
    drains: set[N] = field(default_factory=set)  # factors tied to one other factor only
    influence: dict[N, int] = field(default_factory=dict)  # factors it reaches (MICMAC-style)
    dependence: dict[N, int] = field(default_factory=dict)  # factors that reach it


def canonical(nodes: Iterable[N]) -> list[N]:
    """A fixed order of the factors whatever order the rows came in."""
    unique = list(dict.fromkeys(nodes))
    try:
        return sorted(unique)  # type: ignore[type-var]
    except TypeError:
        return sorted(unique, key=repr)


def merge_edges(edges: Iterable[Edge[N]]) -> dict[tuple[N, N], Edge[N]]:
    """One link per ordered pair: repeats agree or the pair's polarity becomes unknown."""
    merged: dict[tuple[N, N], Edge[N]] = {}
    for edge in edges:
        pair = (edge.source, edge.target)
        known = merged.get(pair)
        if known is None:
            merged[pair] = edge
        elif known.unknown or edge.unknown or known.opposite != edge.opposite:
            merged[pair] = replace(known, unknown=True, delay=known.delay or edge.delay)
        elif edge.delay and not known.delay:
            merged[pair] = replace(known, delay=True)
    return merged


def conflicts(edges: Iterable[Edge[N]]) -> list[tuple[N, N]]:
    """Pairs linked more than once with different polarities, in the order first seen."""
    signs: dict[tuple[N, N], set[bool]] = {}
    for edge in edges:
        if not edge.unknown:
            signs.setdefault((edge.source, edge.target), set()).add(edge.opposite)
    return [pair for pair, seen in signs.items() if len(seen) > 1]


def strongly_connected(order: Sequence[N], succ: dict[N, list[N]]) -> list[list[N]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    stack: list[N] = []
    on_stack: set[N] = set()
    parts: list[list[N]] = []
    counter = 0
    for root in order:
        if root in index:
            continue
        work: list[tuple[N, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            recurse = False
            targets = succ[node]
            while i < len(targets):
                nxt = targets[i]
                i += 1
                if nxt not in index:
                    work.append((node, i))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                part = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.append(member)
                    if member == node:
                        break
                parts.append(part)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return parts


class _Clock:
    def __init__(self, budget: float) -> None:
        self.deadline = time.monotonic() + budget
        self.steps = 0
        self.out = False

    def over(self) -> bool:
        self.steps += 1
        if self.steps % _CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            self.out = True
        return self.out


def search_loops(
    nodes: Sequence[N],
    edges: Iterable[Edge[N]],
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_loops: int = DEFAULT_MAX_LOOPS,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> tuple[list[Loop[N]], Search]:
    """The loops up to `max_length` links, shortest first, each once, and what was covered."""
    edges = list(edges)
    order = canonical([*nodes, *(n for e in edges for n in (e.source, e.target))])
    rank = {n: i for i, n in enumerate(order)}
    merged = merge_edges(edges)
    succ: dict[N, list[N]] = {n: [] for n in order}
    for s, t in merged:
        succ[s].append(t)
    for targets in succ.values():
        targets.sort(key=rank.__getitem__)
    part_of: dict[N, int] = {}
    for number, part in enumerate(strongly_connected(order, succ)):
        for node in part:
            part_of[node] = number
    # Only links inside a strongly connected part lie on loops.
    out: list[list[int]] = [[rank[t] for t in succ[n] if part_of[t] == part_of[n]] for n in order]
    into: list[list[int]] = [[] for _ in order]
    for i, ahead in enumerate(out):
        for j in ahead:
            into[j].append(i)
    info = {(rank[a], rank[b]): e for (a, b), e in merged.items()}
    clock = _Clock(time_budget)
    found: list[tuple[int, ...]] = []
    # Distances back to each start, worked out when first needed and kept for every length.
    distance: list[dict[int, int] | None] = [None] * len(order)
    complete_to, bound, hidden, more = 0, "", 0, False
    if max_length < 1:
        max_length = 0

    for length in range(1, max_length + 1):
        counted = 0  # loops of this length past the count bound
        last = length == max_length
        longer = False
        for start in range(len(order)):
            if not out[start]:
                continue  # on no loop
            dist = distance[start]
            if dist is None:
                dist = distance[start] = _distances_to(start, into)
            for cycle, too_long in _cycles_of_length(start, length, out, dist, clock, last):
                if cycle is None:
                    longer = longer or too_long
                    continue
                if len(found) < max_loops:
                    found.append(cycle)
                else:
                    counted += 1
                    if counted >= HIDDEN_COUNT_CAP:
                        break
            if clock.out or counted >= HIDDEN_COUNT_CAP:
                break
        if counted:
            bound, hidden = "count", counted
            more = clock.out or counted >= HIDDEN_COUNT_CAP or length < max_length
            complete_to = length - 1
            break
        if clock.out:
            bound, complete_to, more = "time", length - 1, True
            hidden = 0
            break
        complete_to = length
        if last and longer:
            bound, hidden, more = "length", 1, True
    loops = [_loop(cycle, order, info) for cycle in found]
    return loops, Search(complete_to, bound, hidden, more)


def _cycles_of_length(
    start: int,
    length: int,
    out: list[list[int]],
    dist: dict[int, int],
    clock: _Clock,
    watch_longer: bool,
) -> Iterable[tuple[tuple[int, ...] | None, bool]]:
    """Elementary cycles of exactly `length` links whose smallest factor is `start`.

    Yields (cycle, False) for each; with `watch_longer`, yields (None, True) once when a path
    was cut that does close into a longer elementary loop (so the length bound hid one)."""
    if length == 1:
        if start in out[start]:
            yield (start,), False
        return
    path = [start]
    on_path = {start}
    stack = [iter(out[start])]
    reported_longer = not watch_longer
    while stack:
        if clock.over():
            return
        nxt = next(stack[-1], None)
        if nxt is None:
            stack.pop()
            on_path.discard(path.pop())
            continue
        links = len(path)  # links on the path once this step is taken
        if nxt == start:
            if links == length:
                yield tuple(path), False
            continue
        if nxt < start or nxt in on_path or nxt not in dist:
            continue
        if links + dist[nxt] > length:
            if not reported_longer and _reaches(nxt, start, out, on_path):
                reported_longer = True
                yield None, True
            continue
        path.append(nxt)
        on_path.add(nxt)
        stack.append(iter(out[nxt]))


def _reaches(source: int, target: int, out: list[list[int]], avoid: set[int]) -> bool:
    """Is there a path from `source` to `target` through factors not in `avoid` (nor before
    `target`)? Then the current path, this step and that path form a longer elementary loop."""
    seen = {source}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        for nxt in out[node]:
            if nxt == target:
                return True
            if nxt > target and nxt not in seen and nxt not in avoid:
                seen.add(nxt)
                queue.append(nxt)
    return False


def _distances_to(start: int, into: list[list[int]]) -> dict[int, int]:
    """Links needed from each factor (not before `start`) back to `start`."""
    distance = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for prev in into[node]:
            if prev >= start and prev not in distance:
                distance[prev] = distance[node] + 1
                queue.append(prev)
    return distance


def _loop(
    cycle: tuple[int, ...], order: Sequence[N], info: dict[tuple[int, int], Edge[N]]
) -> Loop[N]:
    links = [info[(cycle[i], cycle[(i + 1) % len(cycle)])] for i in range(len(cycle))]
    return Loop(
        tuple(order[i] for i in cycle),
        sum(e.opposite and not e.unknown for e in links),
        sum(e.delay for e in links),
        unclear_links=sum(e.unknown for e in links),
    )


def number(loops: list[Loop[N]]) -> list[Loop[N]]:
    """R1, R2, …, B1, …, U1, … in the order found (shortest first)."""
    counters = {"R": 0, "B": 0, "U": 0}
    numbered = []
    for lp in loops:
        prefix = "U" if lp.unclear_links else "R" if lp.reinforcing else "B"
        counters[prefix] += 1
        numbered.append(replace(lp, label=f"{prefix}{counters[prefix]}"))
    return numbered


def find_loops(
    nodes: Sequence[N],
    edges: Iterable[Edge[N]],
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_loops: int = DEFAULT_MAX_LOOPS,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> tuple[list[Loop[N]], bool, str]:
    """The loops, numbered, whether a bound left some out, and which bound."""
    loops, search = search_loops(
        nodes, edges, max_length=max_length, max_loops=max_loops, time_budget=time_budget
    )
    return number(loops), search.truncated, search.bound


def betweenness(nodes: Sequence[N], edges: Iterable[Edge[N]]) -> dict[N, float]:
    """Normalised betweenness centrality of a directed, unweighted graph (Brandes, 2001)."""
    succ: dict[N, list[N]] = {n: [] for n in nodes}
    for edge in edges:
        if edge.source != edge.target and edge.target not in succ[edge.source]:
            succ[edge.source].append(edge.target)
    score = dict.fromkeys(nodes, 0.0)
    for s in nodes:
        order: list[N] = []
        preds: dict[N, list[N]] = {n: [] for n in nodes}
        paths = dict.fromkeys(nodes, 0)
        paths[s] = 1
        dist = {s: 0}
        queue = deque([s])
        while queue:
            v = queue.popleft()
            order.append(v)
            for w in succ[v]:
                if w not in dist:
                    dist[w] = dist[v] + 1
                    queue.append(w)
                if dist[w] == dist[v] + 1:
                    paths[w] += paths[v]
                    preds[w].append(v)
        credit = dict.fromkeys(nodes, 0.0)
        for w in reversed(order):
            for v in preds[w]:
                credit[v] += paths[v] / paths[w] * (1 + credit[w])
            if w != s:
                score[w] += credit[w]
    n = len(nodes)
    scale = 1 / ((n - 1) * (n - 2)) if n > 2 else 1.0
    return {node: value * scale for node, value in score.items()}


def _reach_counts(nodes: Sequence[N], succ: dict[N, set[N]]) -> dict[N, int]:
    counts = {}
    for start in nodes:
        seen = {start}
        queue = deque([start])
        while queue:
            for nxt in succ[queue.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        counts[start] = len(seen) - 1
    return counts


def off_picture(nodes: Sequence[N], edges: Iterable[Edge[N]]) -> int:
    """How many factors a picture of this map leaves out: none for a map of up to
    PICTURE_FACTORS, else those on no loop (the picture shows the loop groups only)."""
    if len(nodes) <= PICTURE_FACTORS:
        return 0
    succ: dict[N, list[N]] = {n: [] for n in nodes}
    for e in edges:
        succ[e.source].append(e.target)
    on_loops = sum(
        len(p) for p in strongly_connected(list(nodes), succ) if len(p) > 1 or p[0] in succ[p[0]]
    )
    return len(nodes) - on_loops


def analyse(
    nodes: Sequence[N],
    edges: Sequence[Edge[N]],
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_loops: int = DEFAULT_MAX_LOOPS,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> Analysis[N]:
    """Loops grouped and covered, how many pass through each factor (R and B apart),
    betweenness, MICMAC-style reach, and the hubs worth asking about.

    The core: going through the loops shortest first, each loop that adds a feedback link not
    yet on an earlier one. Together they cover every feedback link the listed loops reach; it
    is a greedy stand-in for a shortest independent loop set (Oliva, 2004), not the minimum.
    `uncovered` counts the feedback links that lie only on loops past the bounds."""
    found, search = search_loops(
        nodes, edges, max_length=max_length, max_loops=max_loops, time_budget=time_budget
    )
    order = canonical([*nodes, *(n for e in edges for n in (e.source, e.target))])
    merged = merge_edges(edges)
    succ: dict[N, list[N]] = {n: [] for n in order}
    for s, t in merged:
        succ[s].append(t)
    rank = {n: i for i, n in enumerate(order)}
    parts = [sorted(p, key=rank.__getitem__) for p in strongly_connected(order, succ)]
    cyclic = [p for p in parts if len(p) > 1 or p[0] in succ[p[0]]]
    # Bigger parts first; ties by their first factor, so the numbering never follows the rows.
    cyclic.sort(key=lambda p: (-len(p), rank[p[0]]))
    group_of = {n: i + 1 for i, p in enumerate(cyclic) for n in p}
    feedback = {pair for pair in merged if group_of.get(pair[0]) == group_of.get(pair[1], -1)}
    covered: set[tuple[N, N]] = set()
    loops = []
    for lp in number(found):
        pairs = {(lp.nodes[i], lp.nodes[(i + 1) % len(lp.nodes)]) for i in range(len(lp.nodes))}
        core = not pairs <= covered
        covered |= pairs
        loops.append(replace(lp, group=group_of[lp.nodes[0]], core=core))

    count = dict.fromkeys(order, 0)
    reinforcing = dict.fromkeys(order, 0)
    balancing = dict.fromkeys(order, 0)
    for lp in loops:
        for node in lp.nodes:
            count[node] += 1
            reinforcing[node] += lp.reinforcing
            balancing[node] += lp.balancing
    between = betweenness(order, list(merged.values()))
    neighbours: dict[N, set[N]] = {n: set() for n in order}
    out_sets: dict[N, set[N]] = {n: set() for n in order}
    in_sets: dict[N, set[N]] = {n: set() for n in order}
    for s, t in merged:
        if s != t:
            neighbours[s].add(t)
            neighbours[t].add(s)
            out_sets[s].add(t)
            in_sets[t].add(s)
    # A stock and its outflow: in loops, but tied to one other factor only.
    drains = {n for n in order if count[n] and len(neighbours[n]) == 1}
    ranked = sorted(order, key=lambda n: (-count[n], -between[n], rank[n]))
    leverage = [n for n in ranked if (count[n] or between[n] > 0) and n not in drains]
    return Analysis(
        loops,
        count,
        between,
        search.truncated,
        search.bound,
        leverage,
        search,
        reinforcing,
        balancing,
        [tuple(p) for p in cyclic],
        len(feedback - covered),
        drains,
        _reach_counts(order, out_sets),
        _reach_counts(order, in_sets),
    )


def micmac(analysis: Analysis[Any]) -> dict[Any, str]:
    """Each factor's place in a MICMAC-style plot of influence against dependence:
    "driving" (reaches much, reached little), "relay" (both), "dependent", "autonomous"."""
    nodes = list(analysis.influence)
    if not nodes:
        return {}
    mean_in = sum(analysis.influence.values()) / len(nodes)
    mean_dep = sum(analysis.dependence.values()) / len(nodes)
    places = {}
    for n in nodes:
        high_in = analysis.influence[n] > mean_in
        high_dep = analysis.dependence[n] > mean_dep
        places[n] = (
            "relay" if high_in and high_dep else "driving" if high_in
            else "dependent" if high_dep else "autonomous"
        )  # fmt: skip
    return places
