"""The causal map as a picture: Graphviz SVG/PNG when `dot` is installed, a plain SVG drawn
here when it is not, and Mermaid text for Markdown."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

from handlers.messages import Diagram

MINUS = "−"
POSITIVE_COLOUR = "#1d4e89"
NEGATIVE_COLOUR = "#b3261e"


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def graphviz() -> str | None:
    return shutil.which("dot")


def _sign(polarity: str) -> str:
    return "+" if polarity == "+" else MINUS


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot_source(d: Diagram) -> str:
    """Graphviz DOT: + links solid and blue, − links dashed and red (not colour alone),
    delays marked ||, loops listed in a legend."""
    lines = [
        "digraph causal_map {",
        "  graph [rankdir=LR, fontname=Helvetica, pad=0.3, nodesep=0.5, ranksep=0.8];",
        '  node [shape=box, style="rounded,filled", fillcolor="#f4f6f8", color="#5f6b7a",'
        " fontname=Helvetica, fontsize=12];",
        "  edge [fontname=Helvetica, fontsize=14, arrowsize=0.8];",
    ]
    lines += [f'  n{i} [label="{_dot_text(name)}"];' for i, name in enumerate(d.nodes)]
    for link in d.links:
        label = _sign(link.polarity) + (" ||" if link.delay else "")
        colour = POSITIVE_COLOUR if link.polarity == "+" else NEGATIVE_COLOUR
        style = "solid" if link.polarity == "+" else "dashed"
        lines.append(
            f'  n{link.source} -> n{link.target} [label="{label}", color="{colour}",'
            f' fontcolor="{colour}", style={style}];'
        )
    if d.loops:
        legend = "".join(
            _dot_text(f"{loop.label}: " + " → ".join(d.nodes[i] for i in loop.nodes)) + "\\l"
            for loop in d.loops
        )
        lines.append(f'  legend [shape=plaintext, style="", label="{legend}", fontsize=11];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _run_dot(d: Diagram, fmt: str) -> bytes:
    dot = graphviz()
    assert dot is not None
    return subprocess.run(
        [dot, f"-T{fmt}"], input=dot_source(d).encode(), capture_output=True, check=True, timeout=30
    ).stdout


def svg(d: Diagram) -> str:
    if graphviz():
        return _run_dot(d, "svg").decode()
    return fallback_svg(d)


def png(d: Diagram) -> bytes | None:
    """PNG needs Graphviz; None without it (the SVG is always there)."""
    return _run_dot(d, "png") if graphviz() else None


def fallback_svg(d: Diagram) -> str:
    """A readable map without Graphviz: factors on a circle, signed arrows, a loop legend."""
    n = max(len(d.nodes), 1)
    radius = 90 + 28 * n
    cx = cy = radius + 110
    width, legend_top = 2 * cx, 2 * cy
    height = legend_top + 24 * len(d.loops) + 20
    pos = [
        (cx + radius * math.cos(2 * math.pi * i / n - math.pi / 2),
         cy + radius * math.sin(2 * math.pi * i / n - math.pi / 2))
        for i in range(n)
    ]  # fmt: skip
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}"'
        f' viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{_attr(d.alt)}">',
        f"<title>{escape(d.title)}</title><desc>{escape(d.alt)}</desc>",
        "<defs>",
    ]
    for name, colour in (("plus", POSITIVE_COLOUR), ("minus", NEGATIVE_COLOUR)):
        out.append(
            f'<marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8"'
            f' markerHeight="8" orient="auto">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
    out.append("</defs>")
    for link in d.links:
        (x1, y1), (x2, y2) = pos[link.source], pos[link.target]
        length = math.hypot(x2 - x1, y2 - y1) or 1
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        # Stop short of the boxes and bend a little, so A→B and B→A don't overlap.
        sx, sy, ex, ey = x1 + ux * 60, y1 + uy * 22, x2 - ux * 60, y2 - uy * 22
        mx, my = (sx + ex) / 2 - uy * 25, (sy + ey) / 2 + ux * 25
        plus = link.polarity == "+"
        colour = POSITIVE_COLOUR if plus else NEGATIVE_COLOUR
        dash = "" if plus else ' stroke-dasharray="6 4"'
        out.append(
            f'<path d="M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} {ex:.1f},{ey:.1f}" fill="none"'
            f' stroke="{colour}" stroke-width="1.6"{dash}'
            f' marker-end="url(#{"plus" if plus else "minus"})"/>'
        )
        label = _sign(link.polarity) + (" ||" if link.delay else "")
        out.append(
            f'<text x="{mx:.1f}" y="{my:.1f}" fill="{colour}" font-family="Helvetica,Arial"'
            f' font-size="15" font-weight="bold" text-anchor="middle">{escape(label)}</text>'
        )
    for (x, y), name in zip(pos, d.nodes, strict=False):
        shown = name if len(name) <= 22 else name[:21] + "…"
        out.append(
            f'<rect x="{x - 62:.1f}" y="{y - 18:.1f}" width="124" height="36" rx="10"'
            f' fill="#f4f6f8" stroke="#5f6b7a"/><text x="{x:.1f}" y="{y + 4:.1f}"'
            f' font-family="Helvetica,Arial" font-size="12" text-anchor="middle">'
            f"<title>{escape(name)}</title>{escape(shown)}</text>"
        )
    for row, loop in enumerate(d.loops):
        path = " → ".join(d.nodes[i] for i in loop.nodes)
        out.append(
            f'<text x="20" y="{legend_top + 24 * row:.0f}" font-family="Helvetica,Arial"'
            f' font-size="12">{escape(f"{loop.label}: {path}")}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _mermaid_text(text: str) -> str:
    """One line, no quote, backtick or angle bracket: a name can't close the label or the
    Markdown code fence around the diagram, nor become HTML."""
    text = " ".join(text.split())
    for char, entity in (('"', "#quot;"), ("`", "#96;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, entity)
    return text


def mermaid(d: Diagram) -> str:
    """Mermaid flowchart text, for Markdown."""
    lines = ["flowchart LR"]
    lines += [f'  n{i}["{_mermaid_text(name)}"]' for i, name in enumerate(d.nodes)]
    for link in d.links:
        label = _sign(link.polarity) + (" ||" if link.delay else "")
        arrow = "-->" if link.polarity == "+" else "-.->"
        lines.append(f'  n{link.source} {arrow}|"{label}"| n{link.target}')
    return "\n".join(lines) + "\n"


def write_files(d: Diagram, folder: Path, stem: str = "causal-map") -> list[Path]:
    """SVG always; PNG too when Graphviz is installed."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / f"{stem}.svg"]
    written[0].write_text(svg(d), encoding="utf-8")
    picture = png(d)
    if picture is not None:
        written.append(folder / f"{stem}.png")
        written[1].write_bytes(picture)
    return written
