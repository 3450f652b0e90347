"""The Teams app icons, drawn here in pure Python: a stage with its curtains drawn back (the
wings, "de coulissen", where the director stands). The colour icon is 192×192 on the accent
colour; the outline icon is 32×32, white on transparent, as Teams asks.

`python -m bot.teams.icons deploy/teams` writes color.png and outline.png; the committed files
are its output, and a test checks that they still are.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

ACCENT = (0x1D, 0x4E, 0x89)  # the accent colour of the manifest, #1D4E89
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per axis: 16 samples a pixel smooth the edges

Shape = Callable[[float, float], bool]


def png(width: int, height: int, rgba: bytes) -> bytes:
    """A PNG file: 8-bit RGBA, no filtering, one zlib stream."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    stride = width * 4
    rows = b"".join(b"\x00" + rgba[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _curtain_reach(depth: float) -> float:
    """How far a curtain reaches into the stage at a depth (0 top, 1 bottom): gathered back
    in a curve to its tie, flaring a little below it."""
    tie = 0.6
    if depth < tie:
        return 0.34 - 0.26 * math.sin(depth / tie * math.pi / 2)
    return 0.08 + 0.10 * ((depth - tie) / (1 - tie)) ** 1.5


def stage(x: float, y: float) -> bool:
    """The picture in unit coordinates: a scalloped pelmet, two curtains, the stage floor."""
    if 0.06 <= x <= 0.94 and 0.86 <= y <= 0.9:
        return True
    if not 0.1 <= x <= 0.9:
        return False
    pelmet = 0.22 + 0.035 * abs(math.sin((x - 0.1) * math.pi * 5))
    if 0.12 <= y <= pelmet:
        return True
    if not 0.12 <= y <= 0.82:
        return False
    reach = _curtain_reach((y - 0.12) / 0.7)
    return x <= 0.1 + reach or x >= 0.9 - reach


def draw(size: int, shape: Shape, ink: tuple[int, int, int], paper: tuple[int, ...]) -> bytes:
    """RGBA pixels: `ink` where the shape is, `paper` (RGBA) elsewhere, edges blended."""
    out = bytearray()
    step = 1 / (size * SAMPLES)
    for py in range(size):
        for px in range(size):
            hits = sum(
                shape((px * SAMPLES + sx + 0.5) * step, (py * SAMPLES + sy + 0.5) * step)
                for sy in range(SAMPLES)
                for sx in range(SAMPLES)
            )
            cover = hits / (SAMPLES * SAMPLES)
            if len(paper) == 4 and paper[3] == 0:  # transparent paper: coverage is alpha
                out += bytes((*ink, round(255 * cover)))
            else:
                out += bytes(
                    round(p + (i - p) * cover) for p, i in zip(paper[:3], ink, strict=True)
                )
                out.append(255)
    return bytes(out)


def color_icon() -> bytes:
    return png(192, 192, draw(192, stage, WHITE, ACCENT))


def outline_icon() -> bytes:
    return png(32, 32, draw(32, stage, WHITE, (0, 0, 0, 0)))


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in (("color.png", color_icon()), ("outline.png", outline_icon())):
        path = folder / name
        path.write_bytes(data)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/teams")):
        print(path)
