"""The causal map as a picture: Graphviz when installed, the plain SVG always, Mermaid text."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.export.diagram import dot_source, fallback_svg, graphviz, mermaid, write_files
from handlers.messages import Diagram, DiagramLink, DiagramLoop

SVG = "{http://www.w3.org/2000/svg}"
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
    assert written[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
