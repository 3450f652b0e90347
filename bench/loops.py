"""Loop finding on random causal maps, against networkx.simple_cycles in the same run.

Maps of 20, 50, 100 and 200 factors with an average of 3 links per factor. Both enumerate every
elementary cycle up to the same length bound (no count or time bound here, so the work is the
same); the ratio is our time over networkx's. A last line shows the bounded search the bot uses
(max 8 links, 500 loops, 0.8 s) on the same maps.
Run: `.venv/bin/python bench/loops.py [--length 6]`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handlers.loops import Edge, find_loops


def random_map(n: int, degree: float, seed: int) -> list[Edge[int]]:
    rng = random.Random(seed)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < int(n * degree):
        s, t = rng.randrange(n), rng.randrange(n)
        if s != t:
            pairs.add((s, t))
    return [Edge(s, t, rng.random() < 0.4) for s, t in sorted(pairs)]


def ours_count(nodes: list[int], es: list[Edge[int]], length: int) -> int:
    return len(find_loops(nodes, es, max_length=length, max_loops=10**8, time_budget=600)[0])


def networkx_count(graph: nx.DiGraph, length: int) -> int:
    return sum(1 for _ in nx.simple_cycles(graph, length_bound=length))


def best_of(runs: int, fn: Callable[[], int]) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--length", type=int, default=6)
    args = parser.parse_args()
    print(f"random maps, 3 links per factor on average, loops up to {args.length} links, best of 3")
    print(f"{'factors':>8} {'loops':>8} {'ours ms':>9} {'networkx ms':>12} {'ratio':>6}")
    for n in (20, 50, 100, 200):
        es = random_map(n, 3.0, seed=n)
        nodes = list(range(n))
        graph = nx.DiGraph([(e.source, e.target) for e in es])
        ours, count = best_of(3, partial(ours_count, nodes, es, args.length))
        theirs, reference = best_of(3, partial(networkx_count, graph, args.length))
        assert count == reference, (count, reference)
        print(f"{n:>8} {count:>8} {ours * 1000:>9.1f} {theirs * 1000:>12.1f} {ours / theirs:>6.2f}")
    print("bounded search as the bot runs it (8 links, 500 loops, 0.8 s):")
    for n in (20, 50, 100, 200):
        es = random_map(n, 3.0, seed=n)
        start = time.perf_counter()
        found, truncated, bound = find_loops(list(range(n)), es)
        took = (time.perf_counter() - start) * 1000
        print(f"{n:>8} {len(found):>8} {took:>9.1f} ms  truncated={truncated} {bound}")


if __name__ == "__main__":
    main()
