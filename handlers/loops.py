"""Feedback loops and leverage in a causal map: pure graph work, no storage, no words.

A loop is an elementary cycle. It reinforces (R) when it has an even number of opposite (−)
links and balances (B) when odd. The search is bounded in loop length, loop count and time, so
a dense map still answers quickly; `truncated` says when a bound was hit.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

N = TypeVar("N", bound=Hashable)

DEFAULT_MAX_LENGTH = 8
DEFAULT_MAX_LOOPS = 500
DEFAULT_TIME_BUDGET = 0.8  # seconds: the answer must come within a second


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


@dataclass(frozen=True)
class Loop(Generic[N]):
    nodes: tuple[N, ...]  # in loop order, starting at the node that comes first in the map
    opposite_links: int
    delays: int
    label: str = ""  # R1, R2, B1, …

    @property
    def reinforcing(self) -> bool:
        return self.opposite_links % 2 == 0

    @property
    def kind(self) -> str:
        return "reinforcing" if self.reinforcing else "balancing"

    @property
    def key(self) -> str:
        """A stable name for the loop whatever factor one starts reading it at."""
        return ">".join(str(n) for n in self.nodes)


@dataclass
class Analysis(Generic[N]):
    loops: list[Loop[N]]
    loop_count: dict[N, int]
    betweenness: dict[N, float]
    truncated: bool
    bound: str = ""  # which bound was hit: "length", "count" or "time"
    leverage: list[N] = field(default_factory=list)


def find_loops(
    nodes: Sequence[N],
    edges: Iterable[Edge[N]],
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_loops: int = DEFAULT_MAX_LOOPS,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> tuple[list[Loop[N]], bool, str]:
    """Every elementary cycle up to `max_length` links, each once.

    Each cycle is found from its first node in `nodes` order, through later nodes only; a
    reverse breadth-first search tells how far each node is from the start, so paths that
    cannot close within the length bound are never walked.
    """
    index = {n: i for i, n in enumerate(nodes)}
    out: dict[int, list[tuple[int, Edge[N]]]] = {i: [] for i in range(len(nodes))}
    into: dict[int, list[int]] = {i: [] for i in range(len(nodes))}
    seen: set[tuple[int, int]] = set()
    for edge in edges:
        s, t = index[edge.source], index[edge.target]
        if s != t and (s, t) not in seen:  # a repeated link adds no loop
            seen.add((s, t))
            out[s].append((t, edge))
            into[t].append(s)
    deadline = time.monotonic() + time_budget
    found: list[Loop[N]] = []
    truncated, bound = False, ""
    longer_exist = False

    for start in range(len(nodes)):
        distance = _distances_to(start, into)
        path: list[int] = [start]
        edges_on_path: list[Edge[N]] = []
        on_path = {start}
        stack = [iter(out[start])]
        while stack:
            if time.monotonic() > deadline:
                return _number(found), True, "time"
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                on_path.discard(path.pop())
                if edges_on_path:
                    edges_on_path.pop()
                continue
            nxt, edge = step
            if nxt == start:
                cycle_edges = [*edges_on_path, edge]
                found.append(
                    Loop(
                        tuple(nodes[i] for i in path),
                        sum(e.opposite for e in cycle_edges),
                        sum(e.delay for e in cycle_edges),
                    )
                )
                if len(found) >= max_loops:
                    return _number(found), True, "count"
                continue
            if nxt < start or nxt in on_path or nxt not in distance:
                continue
            if len(path) + distance[nxt] > max_length:
                # Only a bound that hides a real loop counts as hit.
                if not longer_exist and _reaches(nxt, start, out, on_path):
                    longer_exist = True
                continue
            path.append(nxt)
            on_path.add(nxt)
            edges_on_path.append(edge)
            stack.append(iter(out[nxt]))
    if longer_exist:
        truncated, bound = True, "length"
    return _number(found), truncated, bound


def _reaches(
    source: int, target: int, out: dict[int, list[tuple[int, Edge[N]]]], avoid: set[int]
) -> bool:
    """Is there a path from `source` to `target` through nodes not in `avoid` (nor before
    `target`)? Then source, that path and the current path form a longer elementary loop."""
    seen = {source}
    queue = deque([source])
    while queue:
        node = queue.popleft()
        for nxt, _edge in out[node]:
            if nxt == target:
                return True
            if nxt > target and nxt not in seen and nxt not in avoid:
                seen.add(nxt)
                queue.append(nxt)
    return False


def _distances_to(start: int, into: dict[int, list[int]]) -> dict[int, int]:
    """Links needed from each node (not before `start`) back to `start`."""
    distance = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for prev in into[node]:
            if prev >= start and prev not in distance:
                distance[prev] = distance[node] + 1
                queue.append(prev)
    return distance


def _number(loops: list[Loop[N]]) -> list[Loop[N]]:
    """R1, R2, … and B1, B2, …, shortest first."""
    ordered = sorted(loops, key=lambda lp: (len(lp.nodes), not lp.reinforcing))
    counters = {True: 0, False: 0}
    numbered = []
    for lp in ordered:
        counters[lp.reinforcing] += 1
        prefix = "R" if lp.reinforcing else "B"
        numbered.append(Loop(lp.nodes, lp.opposite_links, lp.delays,
                             f"{prefix}{counters[lp.reinforcing]}"))  # fmt: skip
    return numbered


def betweenness(nodes: Sequence[N], edges: Iterable[Edge[N]]) -> dict[N, float]:
    """Normalised betweenness centrality of a directed, unweighted graph (Brandes, 2001)."""
    succ: dict[N, list[N]] = {n: [] for n in nodes}
    for edge in edges:
        if edge.source != edge.target:
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


def analyse(
    nodes: Sequence[N],
    edges: Sequence[Edge[N]],
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_loops: int = DEFAULT_MAX_LOOPS,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> Analysis[N]:
    """Loops, how many pass through each factor, betweenness, and the leverage ranking."""
    loops, truncated, bound = find_loops(
        nodes, edges, max_length=max_length, max_loops=max_loops, time_budget=time_budget
    )
    count = dict.fromkeys(nodes, 0)
    for lp in loops:
        for node in lp.nodes:
            count[node] += 1
    between = betweenness(nodes, edges)
    order = {n: i for i, n in enumerate(nodes)}
    ranked = sorted(nodes, key=lambda n: (-count[n], -between[n], order[n]))
    leverage = [n for n in ranked if count[n] or between[n] > 0]
    return Analysis(loops, count, between, truncated, bound, leverage)
