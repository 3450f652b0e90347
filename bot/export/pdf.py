"""The HTML summary printed to PDF with WeasyPrint.

WeasyPrint needs Pango from the system (`make` installs it on Debian when it can); without it
the PDF is refused with a message that says what to install, and every other format still works.
"""

from __future__ import annotations

import logging

INSTALL_HINT = (
    "PDF export needs WeasyPrint's system libraries (Pango): "
    "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"
)


class PdfUnavailable(RuntimeError):
    pass


def html_to_pdf(html: str) -> bytes:
    try:
        import weasyprint  # slow to import and needs system libraries: only when asked
    except (ImportError, OSError) as error:
        raise PdfUnavailable(f"{INSTALL_HINT} ({error})") from error
    # WeasyPrint logs each CSS property it does not know at WARNING; they are not ours to fix.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    pdf = weasyprint.HTML(string=html).write_pdf()
    assert pdf is not None
    return bytes(pdf)
