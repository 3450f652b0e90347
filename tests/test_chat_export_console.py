"""`export` in the console: the file a chat would send is written to a folder, the DM says
where; the handler's polite refusals and the exports' formats stay in step with bot.export."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import docx

from bot.clock import ManualClock
from bot.console.adapter import Console
from bot.export.files import FORMATS
from bot.wiring import App
from handlers import exports


def test_the_chat_offers_exactly_the_formats_bot_export_renders() -> None:
    assert sorted(exports.FORMATS) == sorted(FORMATS)


async def test_the_console_writes_the_file_and_prints_its_path(
    sqlite_app: App, clock: ManualClock, tmp_path: Path
) -> None:
    printed: list[str] = []
    out = tmp_path / "out"
    console = Console(sqlite_app, clock, printed.append, team="noord", lang="nl", exports=out)
    await console.handle_line("/as Sanne gemeente")
    await console.handle_line("/nieuw Noord ; Hoe voorkomen we wachttijden? ; retro ; nl ; ja")
    await console.handle_line("/as Ahmed GGD")
    await console.handle_line("/as Fleur wijkteam")
    await console.handle_line("/as Sanne gemeente")
    await console.handle_line("/start")
    await console.handle_line("/as Ahmed GGD")
    await console.handle_line("/exporteer")
    assert "coördinator" in "\n".join(printed)  # a participant is refused
    assert not await asyncio.to_thread(out.exists)

    await console.handle_line("/as Sanne gemeente")
    printed.clear()
    await console.handle_line("/exporteer word")
    text = "".join(line.strip() for line in printed)  # the console wraps long lines
    path = out / "summary.docx"
    assert "rechtstreeks" in text and f"De samenvatting staat in {path}" in text
    words = "\n".join(p.text for p in docx.Document(io.BytesIO(path.read_bytes())).paragraphs)
    assert "Noord" in words
    assert not any(name in words for name in ("Sanne", "Ahmed", "Fleur"))

    printed.clear()
    await console.handle_line("/exporteer json reeks")  # no series: a polite no, no file
    assert "hoort niet bij een reeks" in "\n".join(printed)
    await console.handle_line("/exporteer csv")
    csv_text = (out / "commitments.csv").read_bytes().decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Nummer;Afspraak;")
    await console.handle_line("/exporteer json")
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["session"]
