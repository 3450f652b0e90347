"""Loop finding against networkx.simple_cycles in the same run, and `coulisse map analyze`'s
start-up against a bare Python that imports only what the analysis needs.

1. Random maps of 20, 50, 100 and 200 factors, 3 links per factor on average.
2. World3-03 as a causal map (tests/fixtures/maps/world3-03.csv, 178 factors, 313 links), a
   World3-sized random map (250 factors, 400 links) and a 60-factor team map (150 links).
Both enumerate every elementary cycle up to the same length bound (no count or time bound, so
the work is the same) and the script asserts they find the same loops; the ratio is our time
over networkx's, best of three. Then the bounded search as the bot runs it (500 loops).
3. Start-up: `python -m bot map analyze` on a 4-factor map against `python -c` importing only
handlers.loops and bot.export.mapfiles and doing the same analysis; median of 5, interleaved.
Run: `.venv/bin/python bench/loops.py [--length 6] [--skip-startup]`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.export.mapfiles import read_map  # noqa: E402
from handlers.loops import Edge, search_loops  # noqa: E402

WORLD3 = ROOT / "tests" / "fixtures" / "maps" / "world3-03.csv"
PLATFORM = ("slack_bolt", "slack_sdk", "botbuilder", "openai", "bot.slack.", "bot.teams.")


def random_map(n: int, links: int, seed: int) -> list[Edge[int]]:
    rng = random.Random(seed)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < links:
        s, t = rng.randrange(n), rng.randrange(n)
        if s != t:
            pairs.add((s, t))
    return [Edge(s, t, rng.random() < 0.4) for s, t in sorted(pairs)]


def ours_count(es: list[Edge[Any]], length: int) -> int:
    return len(search_loops([], es, max_length=length, max_loops=10**8, time_budget=600)[0])


def networkx_count(graph: nx.DiGraph, length: int) -> int:
    return sum(1 for _ in nx.simple_cycles(graph, length_bound=length))


def best_of(runs: int, fn: Callable[[], int]) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def compare(name: str, es: list[Edge[Any]], length: int) -> None:
    graph = nx.DiGraph([(e.source, e.target) for e in es])
    ours, count = best_of(3, partial(ours_count, es, length))
    theirs, reference = best_of(3, partial(networkx_count, graph, length))
    assert count == reference, (name, count, reference)
    size = f"{graph.number_of_nodes():>7} {graph.number_of_edges():>6}"
    print(f"{name:<22} {size} {length:>4} {count:>8} {ours * 1000:>9.1f} "
          f"{theirs * 1000:>12.1f} {ours / theirs:>6.2f}")  # fmt: skip


def startup(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "small.csv"
        small.write_text("from,to,polarity\na,b,+\nb,c,+\nc,a,-\nc,d,+\n", encoding="utf-8")
        cli = [sys.executable, "-m", "bot", "map", "analyze", str(small)]
        bare = [sys.executable, "-c",
                "import json, sys; from pathlib import Path;"
                "from bot.export.mapfiles import analysis_json, read_map;"
                "from handlers.loops import analyse;"
                f"m = read_map(Path({str(small)!r}));"
                "print(json.dumps(analysis_json(m, analyse(m.factors, m.edges))))"]  # fmt: skip
        times: dict[str, list[float]] = {"cli": [], "bare": []}
        outputs = {}
        for _ in range(runs):
            for name, command in (("cli", cli), ("bare", bare)):
                start = time.perf_counter()
                done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                      check=True)  # fmt: skip
                times[name].append(time.perf_counter() - start)
                outputs[name] = done.stdout
        assert json.loads(outputs["cli"]) == json.loads(outputs["bare"])
        imported = subprocess.run([sys.executable, "-X", "importtime", *cli[1:]], cwd=ROOT,
                                  capture_output=True, text=True, check=True).stderr  # fmt: skip
    modules = [line.split("|")[-1].strip() for line in imported.splitlines() if "|" in line]
    platform = sorted({m for m in modules if m.startswith(PLATFORM)})
    cli_s, bare_s = statistics.median(times["cli"]), statistics.median(times["bare"])
    print(
        f"start-up, median of {runs}: map analyze {cli_s * 1000:.0f} ms, bare Python "
        f"{bare_s * 1000:.0f} ms, ratio {cli_s / bare_s:.2f}; {len(modules)} modules imported"
    )
    print(f"platform modules on the map path: {', '.join(platform) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--length", type=int, default=6)
    parser.add_argument("--skip-startup", action="store_true")
    args = parser.parse_args()
    header = (f"{'map':<22} {'factors':>7} {'links':>6} {'len':>4} {'loops':>8} {'ours ms':>9} "
              f"{'networkx ms':>12} {'ratio':>6}")  # fmt: skip
    print("every loop up to the length bound, best of 3")
    print(header)
    for n in (20, 50, 100, 200):
        compare(f"random {n}", random_map(n, 3 * n, seed=n), args.length)
    world3 = read_map(WORLD3).edges
    for length in (8, 12, 16):
        compare("World3-03", world3, length)
    for length in (8, 12):
        compare("random 250/400", random_map(250, 400, seed=3), length)
        compare("team map 60/150", random_map(60, 150, seed=4), length)
    print("bounded search as the bot runs it (500 loops, shortest first):")
    maps: dict[str, list[Edge[Any]]] = {
        "World3-03": world3,
        "random 250/400": random_map(250, 400, seed=3),
        "team map 60/150": random_map(60, 150, seed=4),
    }
    for name, es in maps.items():
        for length in (8, 20):
            start = time.perf_counter()
            loops, search = search_loops([], es, max_length=length)
            took = (time.perf_counter() - start) * 1000
            print(f"{name:<22} len {length:>2}: {len(loops):>4} loops in {took:>7.1f} ms, "
                  f"complete to {search.complete_to}, bound {search.bound or '-'}, "
                  f"hidden ≥ {search.hidden}")  # fmt: skip
    if not args.skip_startup:
        startup()


if __name__ == "__main__":
    main()
