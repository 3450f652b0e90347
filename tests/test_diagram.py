"""The causal map as a picture: Graphviz when installed, the plain SVG always, Mermaid text."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.export.diagram import (
    bounded,
    dot_source,
    fallback_svg,
    graphviz,
    mermaid,
    png,
    png_or_reason,
    svg_with_note,
    write_files,
)
from handlers.messages import Diagram, DiagramLink, DiagramLoop

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[1]
MAP = Diagram(
    "Kaart",
    'Een kaart met "aanhalingstekens" & <tekens>',
    ("wachtlijst", 'druk "op" huisarts', "extra <hulp>"),
    (
        DiagramLink(0, 1, "+"),
        DiagramLink(1, 0, "+"),
        DiagramLink(0, 2, "+"),
        DiagramLink(2, 0, "-", delay=True),
    ),
    (DiagramLoop("B1", (0, 2)), DiagramLoop("R1", (0, 1))),
)


def test_the_plain_svg_is_well_formed_accessible_and_complete() -> None:
    root = ET.fromstring(fallback_svg(MAP))
    assert root.get("role") == "img" and root.get("aria-label") == MAP.alt
    texts = [el.text or "" for el in root.iter(f"{SVG}text")]
    assert sum(t in ("+", "−", "− ||") for t in texts) == 4  # one sign per link
    assert "− ||" in texts  # the delay mark
    assert any(t.startswith("B1: wachtlijst → extra <hulp>") for t in texts)
    assert len(list(root.iter(f"{SVG}rect"))) == 3
    dashed = [p for p in root.iter(f"{SVG}path") if p.get("stroke-dasharray")]
    assert len(dashed) == 1  # the − link, dashed as well as red


def test_dot_source_escapes_names_and_marks_signs() -> None:
    dot = dot_source(MAP)
    assert 'label="druk \\"op\\" huisarts"' in dot
    assert dot.count("style=dashed") == 1 and 'label="− ||"' in dot
    assert 'R1: wachtlijst → druk \\"op\\" huisarts\\l' in dot


def test_mermaid_text() -> None:
    text = mermaid(MAP)
    assert text.startswith("flowchart LR")
    assert 'n1["druk #quot;op#quot; huisarts"]' in text
    assert 'n2 -.->|"− ||"| n0' in text


@pytest.mark.skipif(
    graphviz() is None and os.environ.get("CI", "") != "true",
    reason="Graphviz is not installed here (make test installs it where it can)",
)
def test_graphviz_draws_svg_and_png(tmp_path: Path) -> None:
    assert graphviz() is not None, "make test installs Graphviz in CI"
    written = write_files(MAP, tmp_path)
    assert [p.name for p in written] == ["causal-map.svg", "causal-map.png"]
    root = ET.fromstring(written[0].read_text(encoding="utf-8"))
    assert "extra <hulp>" in [el.text for el in root.iter(f"{SVG}text")]
    # Drawn at its viewBox's scale: with a dpi, Graphviz 2.43 drew 4/3 larger and cut it off.
    viewbox_width = float(root.get("viewBox", "").split()[2])
    assert float(root.get("width", "").removesuffix("pt")) == pytest.approx(viewbox_width, abs=1)
    assert root.find(f"{SVG}g").get("transform", "").startswith("scale(1 1)")  # type: ignore[union-attr]
    assert written[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _fake_dot(folder: Path, script: str) -> None:
    """A `dot` on PATH that misbehaves the way a real one can (slow, or failing)."""
    dot = folder / "dot"
    dot.write_text("#!/bin/sh\n" + script + "\n", encoding="utf-8")
    dot.chmod(0o755)


def test_a_graphviz_that_times_out_gives_the_plain_svg_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_dot(tmp_path, "sleep 5")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    picture, note = svg_with_note(MAP, seconds=0.3)
    assert picture == fallback_svg(MAP) and "longer than 0.3 s" in note
    assert png_or_reason(MAP, seconds=0.3) == (None, "Graphviz took longer than 0.3 s")


def test_a_failing_graphviz_gives_the_plain_svg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_dot(tmp_path, "exit 1")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    picture, note = svg_with_note(MAP)
    assert picture == fallback_svg(MAP) and "failed" in note
    assert png(MAP) is None  # callers fall back to the SVG, as without Graphviz


def test_map_analyze_exit_codes_when_the_picture_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.csv"
    path.write_text("from,to,polarity\na,b,+\nb,a,-\n", encoding="utf-8")
    _fake_dot(tmp_path, "exit 1")
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    run = [sys.executable, "-m", "bot", "map", "analyze", str(path)]
    ok = subprocess.run([*run, "--svg", str(tmp_path / "m.svg")], capture_output=True,
                        text=True, env=env, cwd=ROOT, timeout=120)  # fmt: skip
    assert ok.returncode == 0 and json.loads(ok.stdout)["loops"]
    assert "drawn as a plain SVG instead" in ok.stderr
    assert (tmp_path / "m.svg").read_text(encoding="utf-8") == fallback_svg(file_map_diagram(path))
    bad = subprocess.run([*run, "--png", str(tmp_path / "m.png")], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=120)  # fmt: skip
    assert bad.returncode == 3 and json.loads(bad.stdout)["loops"]  # the JSON still came
    assert "not written" in bad.stderr and not (tmp_path / "m.png").exists()
    assert "Traceback" not in bad.stderr


def file_map_diagram(path: Path) -> Diagram:
    from bot.export.mapfiles import file_diagram, read_map
    from handlers.loops import analyse

    loaded = read_map(path)
    return file_diagram(loaded, analyse(loaded.factors, loaded.edges), path.stem)


def _big_map() -> Diagram:
    """250 factors, a chain through all of them and loops among the first 30 only."""
    links = [DiagramLink(i, i + 1, "+") for i in range(249)]
    links += [DiagramLink(i + 1, i, "-") for i in range(0, 30, 2)]
    loops = tuple(DiagramLoop(f"B{i}", (i, i + 1)) for i in range(0, 30, 2))
    return Diagram("Groot", "Een grote kaart", tuple(f"factor {i}" for i in range(250)),
                   tuple(links), loops)  # fmt: skip


def test_a_large_map_is_drawn_as_its_loop_groups_and_says_so() -> None:
    d = bounded(_big_map())
    assert len(d.nodes) == 30 and d.alt == _big_map().alt  # the caller says what is left out
    assert all(lk.source < 30 and lk.target < 30 for lk in d.links) and len(d.loops) == 15
    assert bounded(MAP) == MAP  # a small map is drawn whole
    root = ET.fromstring(fallback_svg(_big_map()))
    assert float(root.get("width") or 0) <= 2 * (900 + 110)
    assert 'size="30,30"' in dot_source(_big_map())
    world3 = file_map_diagram(ROOT / "tests" / "fixtures" / "maps" / "world3-03.csv")
    assert world3.alt.endswith(" (24 factors on no loop are not drawn)")


def test_the_legend_is_bounded() -> None:
    many = Diagram("K", "k", ("a", "b"), (DiagramLink(0, 1, "+"), DiagramLink(1, 0, "+")),
                   tuple(DiagramLoop(f"R{i}", (0, 1)) for i in range(100)))  # fmt: skip
    texts = [el.text or "" for el in ET.fromstring(fallback_svg(many)).iter(f"{SVG}text")]
    assert "… +60" in texts and sum(t.startswith("R") for t in texts) == 40
    assert not [t for t in texts if "more" in t]  # read by Dutch teams too: no English in it


@pytest.mark.skipif(graphviz() is None and os.environ.get("CI", "") != "true",
                    reason="Graphviz is not installed here")  # fmt: skip
def test_graphviz_keeps_a_world3_sized_picture_within_bounds() -> None:
    from bot.export.mapfiles import file_diagram, read_map
    from handlers.loops import analyse

    path = ROOT / "tests" / "fixtures" / "maps" / "world3-03.csv"
    loaded = read_map(path)
    picture = png(file_diagram(loaded, analyse(loaded.factors, loaded.edges), "world3"))
    assert picture is not None and picture[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", picture[16:24])
    assert max(width, height) <= 30 * 96


def test_a_self_link_is_drawn() -> None:
    d = Diagram("K", "k", ("voorraad",), (DiagramLink(0, 0, "-"),), (DiagramLoop("B1", (0,)),))
    root = ET.fromstring(fallback_svg(d))
    assert len([p for p in root.iter(f"{SVG}path") if p.get("stroke-dasharray")]) == 1
    assert "n0 -> n0" in dot_source(d)


def test_each_loop_group_is_framed_when_there_are_several() -> None:
    d = Diagram("K", "k", ("a", "b", "x", "y", "z"),
                (DiagramLink(0, 1, "+"), DiagramLink(1, 0, "-"), DiagramLink(1, 2, "+"),
                 DiagramLink(2, 3, "+"), DiagramLink(3, 2, "+")), ())  # fmt: skip
    dot = dot_source(d)
    assert dot.count("subgraph cluster_") == 2
    assert (
        dot.index("subgraph cluster_1")
        < dot.index('n0 [label="a"]')
        < dot.index("subgraph cluster_2")
    )
    assert 'n4 [label="z"]' in dot.split("subgraph")[0]  # on no loop: outside every frame
    assert "subgraph" not in dot_source(MAP)  # one group: no frame
