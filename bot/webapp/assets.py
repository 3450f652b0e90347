"""The web view's static files and its look: our own script and style sheet, the vendored
NL Design System CSS and Teams client library (bot/webapp/vendor.py), and the theme — a design
tokens file, the bundled 'voorbeeld' one unless COULISSE_WEB_THEME names a municipality's own.
Only the names listed here are served (never a path someone typed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"
CSS, JS = "text/css", "text/javascript"
FILES = {
    "app.css": (STATIC / "app.css", CSS),
    "app.js": (STATIC / "app.js", JS),
    "tab.js": (STATIC / "tab.js", JS),
    "tab-config.js": (STATIC / "tab-config.js", JS),
    "utrecht-html.css": (VENDOR / "utrecht-html.css", CSS),
    "teams-js.min.js": (VENDOR / "teams-js.min.js", JS),
}
THEME = "theme.css"  # served from the theme's file
# A tokens file scopes its custom properties to one class, `.rotterdam-theme { --…: … }`.
_THEME_CLASS = re.compile(r"^\s*\.([A-Za-z][\w-]*-theme)\s*[{,]", re.MULTILINE)


@dataclass(frozen=True)
class Theme:
    path: Path
    css_class: str  # on <html>, so that the tokens apply to the whole page


def theme_of(setting: str = "") -> Theme:
    """The theme a COULISSE_WEB_THEME names (empty: the bundled one). A file that is missing
    or names no `.…-theme` class stops the start, saying so, rather than serving no look."""
    path = Path(setting).expanduser() if setting else VENDOR / "theme-voorbeeld.css"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"COULISSE_WEB_THEME: cannot read {path} ({exc.strerror})") from None
    found = _THEME_CLASS.search(text)
    if found is None:
        raise ValueError(f"COULISSE_WEB_THEME: {path} declares no .<name>-theme class")
    return Theme(path, found.group(1))


def serve(name: str, theme: Theme) -> web.Response:
    if name == THEME:
        path, kind = theme.path, CSS
    elif name in FILES:
        path, kind = FILES[name]
    else:
        raise web.HTTPNotFound()
    return web.Response(
        body=path.read_bytes(), content_type=kind, headers={"Cache-Control": "max-age=3600"}
    )
