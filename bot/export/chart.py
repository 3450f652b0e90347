"""Follow-through over a series as a small stacked bar chart (inline SVG, no library).

Each session is one bar: its commitments split by what became of them. Colours are paired with
labels in a legend and the same figures are always given as a table beside the chart, so the
chart is never the only way to read them.
"""

from __future__ import annotations

from html import escape

from handlers.series_report import FOLLOW_THROUGH
from handlers.summary import FollowThrough

COLOURS = {
    "done": "#1a7f37",
    "on_track": "#6cc08b",
    "stuck": "#c2410c",
    "released": "#8b8b8b",
    "overdue": "#b91c1c",
    "open": "#cbd5e1",
}
LABEL_WIDTH, BAR_WIDTH, ROW, TOP = 190, 380, 28, 36
FONT = 'font-family="Helvetica,Arial,sans-serif" font-size="12"'


def follow_through_svg(rows: tuple[FollowThrough, ...], labels: dict[str, str], title: str) -> str:
    most = max((sum(r.count(k) for k in FOLLOW_THROUGH) for r in rows), default=0) or 1
    legend_top = TOP + ROW * len(rows) + 16
    width, height = LABEL_WIDTH + BAR_WIDTH + 60, legend_top + 22 * len(FOLLOW_THROUGH)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="18" {FONT} font-weight="bold">{escape(title)}</text>',
    ]
    for i, row in enumerate(rows):
        y = TOP + ROW * i
        name = f"{row.date} {row.title}"
        shown = name if len(name) <= 30 else name[:29] + "…"
        out.append(f'<text x="0" y="{y + 15}" {FONT}>{escape(shown)}</text>')
        x = float(LABEL_WIDTH)
        for key in FOLLOW_THROUGH:
            if not row.count(key):
                continue
            w = BAR_WIDTH * row.count(key) / most
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="20" fill="{COLOURS[key]}">'
                f"<title>{escape(labels[key])}: {row.count(key)}</title></rect>"
            )
            x += w
        total = sum(row.count(k) for k in FOLLOW_THROUGH)
        out.append(f'<text x="{x + 6:.1f}" y="{y + 15}" {FONT}>{total}</text>')
    for i, key in enumerate(FOLLOW_THROUGH):
        y = legend_top + 22 * i
        out.append(f'<rect x="0" y="{y}" width="14" height="14" fill="{COLOURS[key]}"/>')
        out.append(f'<text x="20" y="{y + 12}" {FONT}>{escape(labels[key])}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
