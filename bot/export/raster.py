"""A figure's SVG as a PNG, for formats that cannot show SVG (Word), drawn by Typst's SVG
renderer (resvg, in the `typst` wheel): the same picture the PDF shows, no Graphviz needed."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

WIDTH_CM = 16  # as wide as Word shows it on A4
PPI = 150  # 945 pixels across: what office documents print sharp at that width
_SOURCE = (
    "#set page(width: auto, height: auto, margin: 0pt)\n"
    f'#image(bytes(sys.inputs.svg), format: "svg", width: {WIDTH_CM}cm)\n'
)


def png_of(svg: str) -> bytes | None:
    """The PNG, or None when it cannot be drawn here (the caller shows the text alternative)."""
    try:
        import typst

        from bot.export.pdf import fonts
    except ImportError:
        return None
    try:
        picture = typst.compile(
            _SOURCE.encode(), format="png", ppi=PPI, font_paths=fonts(), sys_inputs={"svg": svg}
        )
    except typst.TypstError as error:  # an SVG its renderer cannot read
        log.warning("figure not drawn as PNG: %s", error.message)
        return None
    assert isinstance(picture, bytes)  # one page, so one picture
    return picture
