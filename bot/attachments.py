"""The file behind a chat's `Export` block, made when it is sent (or, in Teams, when the person
accepts it) from the state then, for every platform alike.

Always pseudonymised. When this server cannot print PDF (the typesetter cannot be loaded),
the same summary goes as HTML with a note saying so, rather than an outbox row that fails until
it gives up.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.export.errors import NothingToExport
from handlers.messages import Export
from handlers.model import Person
from handlers.ports import Clock, UnitOfWorkFactory
from prompts.catalog import t

if TYPE_CHECKING:
    from bot.export.files import ExportFile

__all__ = ["Attachment", "Attachments", "NothingToExport"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    file: ExportFile
    fmt: str  # the format made: the one asked for, or html when PDF could not be
    title: str  # in the reader's language
    note: str = ""  # why the file is not in the format asked for; empty when it is


class Attachments:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    async def make(self, block: Export, person_id: int) -> Attachment:
        """The file for `block`, for this person (their language, their today); NothingToExport
        when the session or series is gone."""
        # The renderers (documents, charts, Typst) load with the first export, not at start.
        from bot.export.files import (
            MEDIA_TYPES,
            ExportFile,
            ExportTarget,
            filename,
            gather,
            is_series,
            language_of,
            render,
            title_of,
        )
        from bot.export.pdf import PdfUnavailable

        async with self.uow() as uow:
            person = await uow.get(Person, person_id)
            lang = person.locale if person else "nl"
            zone = ZoneInfo(person.timezone if person else "Europe/Amsterdam")
            today = self.clock.now().astimezone(zone).date()
            data = await gather(uow, ExportTarget(block.kind, block.id), block.lang or None, today)
        kind = "series" if is_series(data) else "session"
        shown_in = language_of(data)
        title = t(lang, f"exporting.file_title_{kind}", title=title_of(data))
        fmt, note = block.fmt, ""
        try:
            # PDF and Word take a while to render: off the event loop, which serves everyone.
            data_bytes = await asyncio.to_thread(render, data, fmt, shown_in)
        except PdfUnavailable:
            fmt, note = "html", t(lang, "exporting.pdf_unavailable")
            data_bytes = await asyncio.to_thread(render, data, fmt, shown_in)
        except Exception as error:  # a bug or odd data in one renderer: still hand over the work
            # The type only: an exception's message may quote what someone wrote.
            log.error("rendering a %s export failed: %s", fmt, type(error).__name__)
            fmt, note = "md", t(lang, "exporting.format_failed", fmt=fmt.upper())
            data_bytes = await asyncio.to_thread(render, data, fmt, shown_in)
        made = ExportFile(filename(data, fmt), MEDIA_TYPES[fmt], data_bytes)
        return Attachment(made, fmt, title, note)
