"""The causal map as a picture: Graphviz SVG/PNG when `dot` is installed, a plain SVG drawn
here when it is not (or when Graphviz fails or takes too long), and Mermaid text for Markdown.

Pictures are bounded: Graphviz scales the drawing down to `MAX_INCHES` at `DPI` (at most 2,880
pixels a side), a map of more than `LARGE_MAP` factors is drawn as its loop groups only (the
factors on no loop are left out; the caller's alt text says so, in the reader's language),
and the loop legend lists at most
`LEGEND_LINES` loops ("… +60" for the rest: a picture holds no words of one language).
"""

from __future__ import annotations

import logging
import math
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import escape

from handlers.loops import PICTURE_FACTORS, strongly_connected
from handlers.messages import Diagram, DiagramLink, DiagramLoop

MINUS = "−"
POSITIVE_COLOUR = "#1d4e89"
NEGATIVE_COLOUR = "#b3261e"
UNKNOWN_COLOUR = "#5f4b00"
GRAPHVIZ_SECONDS = 20  # a drawing that takes longer is given up for the plain SVG
MAX_INCHES = 30
DPI = 96
LARGE_MAP = PICTURE_FACTORS
LEGEND_LINES = 40
FALLBACK_MAX_RADIUS = 900

log = logging.getLogger(__name__)


class DrawingFailed(RuntimeError):
    """Graphviz could not draw the map (it failed, or took longer than GRAPHVIZ_SECONDS)."""


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def graphviz() -> str | None:
    return shutil.which("dot")


def _sign(polarity: str) -> str:
    return "+" if polarity == "+" else "?" if polarity == "?" else MINUS


def _colour(polarity: str) -> str:
    return {"+": POSITIVE_COLOUR, "?": UNKNOWN_COLOUR}.get(polarity, NEGATIVE_COLOUR)


def _style(polarity: str) -> str:
    return {"+": "solid", "?": "dotted"}.get(polarity, "dashed")


def _loop_groups(d: Diagram) -> list[list[int]]:
    """The strongly connected parts of the drawing that hold a loop, in the order drawn."""
    succ: dict[int, list[int]] = {i: [] for i in range(len(d.nodes))}
    for link in d.links:
        succ[link.source].append(link.target)
    parts = strongly_connected(list(range(len(d.nodes))), succ)
    cyclic = [sorted(p) for p in parts if len(p) > 1 or p[0] in succ[p[0]]]
    return sorted(cyclic)


def bounded(d: Diagram) -> Diagram:
    """A large map as its loop groups only: the factors on some loop, and the links among
    them. Smaller maps are drawn whole."""
    if len(d.nodes) <= LARGE_MAP:
        return d
    keep = sorted(n for part in _loop_groups(d) for n in part)
    index = {old: new for new, old in enumerate(keep)}
    return replace(  # the alt text, in the reader's language, says what is left out
        d,
        nodes=tuple(d.nodes[i] for i in keep),
        links=tuple(
            DiagramLink(index[lk.source], index[lk.target], lk.polarity, lk.delay)
            for lk in d.links
            if lk.source in index and lk.target in index
        ),
        loops=tuple(
            DiagramLoop(lp.label, tuple(index[i] for i in lp.nodes))
            for lp in d.loops
            if all(i in index for i in lp.nodes)
        ),
    )


def _legend(d: Diagram) -> list[str]:
    lines = [f"{loop.label}: " + " → ".join(d.nodes[i] for i in loop.nodes)
             for loop in d.loops[:LEGEND_LINES]]  # fmt: skip
    if len(d.loops) > LEGEND_LINES:
        lines.append(f"… +{len(d.loops) - LEGEND_LINES}")
    return lines


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot_source(d: Diagram, dpi: int | None = DPI) -> str:
    """Graphviz DOT: + links solid and blue, − links dashed and red (not colour alone),
    delays marked ||, loops listed in a legend. `dpi` is for pictures in pixels (PNG): an SVG
    is drawn without it, because Graphviz 2.43 (Debian's) then draws dpi/72 times larger than
    the SVG's viewBox, and the map came out cut to its top-left three quarters."""
    d = bounded(d)
    resolution = f", dpi={dpi}" if dpi else ""
    lines = [
        "digraph causal_map {",
        "  graph [rankdir=LR, fontname=Helvetica, pad=0.3, nodesep=0.5, ranksep=0.8,"
        f' size="{MAX_INCHES},{MAX_INCHES}"{resolution}];',
        '  node [shape=box, style="rounded,filled", fillcolor="#f4f6f8", color="#5f6b7a",'
        " fontname=Helvetica, fontsize=12];",
        "  edge [fontname=Helvetica, fontsize=14, arrowsize=0.8];",
    ]
    groups = _loop_groups(d)
    grouped = {n for part in groups for n in part} if len(groups) > 1 else set()
    lines += [f'  n{i} [label="{_dot_text(name)}"];' for i, name in enumerate(d.nodes)
              if i not in grouped]  # fmt: skip
    if grouped:  # each part of the map its loops live in, framed on its own
        for k, part in enumerate(groups, start=1):
            lines.append(f'  subgraph cluster_{k} {{ style="rounded,dashed"; color="#9aa5b1";')
            lines += [f'    n{i} [label="{_dot_text(d.nodes[i])}"];' for i in part]
            lines.append("  }")
    for link in d.links:
        label = _sign(link.polarity) + (" ||" if link.delay else "")
        colour, style = _colour(link.polarity), _style(link.polarity)
        lines.append(
            f'  n{link.source} -> n{link.target} [label="{label}", color="{colour}",'
            f' fontcolor="{colour}", style={style}];'
        )
    if d.loops:
        legend = "".join(_dot_text(line) + "\\l" for line in _legend(d))
        lines.append(f'  legend [shape=plaintext, style="", label="{legend}", fontsize=11];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _run_dot(d: Diagram, fmt: str, seconds: float = GRAPHVIZ_SECONDS) -> bytes:
    dot = graphviz()
    assert dot is not None
    try:
        return subprocess.run(
            [dot, f"-T{fmt}"], input=dot_source(d, None if fmt == "svg" else DPI).encode(),
            capture_output=True, check=True, timeout=seconds,
        ).stdout  # fmt: skip
    except subprocess.TimeoutExpired:
        raise DrawingFailed(f"Graphviz took longer than {seconds:g} s") from None
    except (subprocess.CalledProcessError, OSError) as exc:
        raise DrawingFailed(f"Graphviz failed ({type(exc).__name__})") from None


def svg_with_note(d: Diagram, seconds: float = GRAPHVIZ_SECONDS) -> tuple[str, str]:
    """The SVG, and why it is the plain one when Graphviz was there but could not draw it."""
    if not graphviz():
        return fallback_svg(d), ""
    try:
        return _run_dot(d, "svg", seconds).decode(), ""
    except DrawingFailed as exc:
        log.warning("causal map drawn without Graphviz: %s", exc)
        return fallback_svg(d), str(exc)


def svg(d: Diagram) -> str:
    return svg_with_note(d)[0]


def png_or_reason(d: Diagram, seconds: float = GRAPHVIZ_SECONDS) -> tuple[bytes | None, str]:
    """The PNG, or None and why not (no Graphviz, or it failed or timed out)."""
    if not graphviz():
        return None, "PNG needs Graphviz (apt-get install graphviz); the SVG works without it"
    try:
        return _run_dot(d, "png", seconds), ""
    except DrawingFailed as exc:
        log.warning("causal map PNG not made: %s", exc)
        return None, str(exc)


def png(d: Diagram) -> bytes | None:
    """PNG needs Graphviz; None without it or when it fails (the SVG is always there)."""
    return png_or_reason(d)[0]


def fallback_svg(d: Diagram) -> str:
    """A readable map without Graphviz: factors on a circle, signed arrows, a loop legend."""
    d = bounded(d)
    n = max(len(d.nodes), 1)
    radius = min(90 + 28 * n, FALLBACK_MAX_RADIUS)
    legend_lines = _legend(d)
    cx = cy = radius + 110
    width, legend_top = 2 * cx, 2 * cy
    height = legend_top + 24 * len(legend_lines) + 20
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
        if link.source == link.target:  # a self-link: a small loop over the box
            sx, sy, ex, ey = x1 - 30, y1 - 18, x1 + 30, y1 - 18
            mx, my = x1, y1 - 70
        plus = link.polarity == "+"
        colour = _colour(link.polarity)
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
    for row, line in enumerate(legend_lines):
        out.append(
            f'<text x="20" y="{legend_top + 24 * row:.0f}" font-family="Helvetica,Arial"'
            f' font-size="12">{escape(line)}</text>'
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
