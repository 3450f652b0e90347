"""The web view: server-rendered pages for coordinators, participants and the municipality's
readers, in a browser and as a Teams tab. One more adapter of the core: every decision (who
sees what, what a plan looks like, saving a session) is made by handlers/, the pages only
translate requests into calls and results into HTML (docs/ARCHITECTURE.md, "The web view").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from bot.config import Settings
from bot.webapp.assets import Theme, theme_of
from bot.wiring import App
from handlers import dashboard

if TYPE_CHECKING:
    from bot.webapp.sso import TabSignIn

MIN_KEY = 32  # characters of COULISSE_WEB_KEY: an HMAC key shorter than this is guessable


@dataclass(frozen=True)
class WebView:
    key: str
    base_url: str  # where people reach this server (its links name it)
    frame_ancestors: str = "https://teams.microsoft.com https://*.teams.microsoft.com"
    sso: TabSignIn | None = None  # Teams single sign-on for the tab
    theme: Theme = field(default_factory=theme_of)  # the look (COULISSE_WEB_THEME)

    @property
    def secure(self) -> bool:
        """Cookies only over HTTPS when the server is reached over HTTPS."""
        return self.base_url.startswith("https://")


PAGES = web.AppKey("pages", object)  # the served Pages (tests walk their routes)


def web_view_of(settings: Settings) -> WebView | None:
    """The web view as the settings describe it; None when no key is set."""
    if not settings.web_key:
        return None
    if len(settings.web_key) < MIN_KEY:
        raise ValueError(f"COULISSE_WEB_KEY must be at least {MIN_KEY} characters")
    base = settings.public_url or "http://localhost:3000"
    sso = None
    if settings.web_sso_audience:
        from bot.webapp.sso import TabSignIn  # PyJWT only when the tab signs in with Teams

        sso = TabSignIn(settings.web_sso_metadata_url, settings.web_sso_audience)
    theme = theme_of(settings.web_theme)
    return WebView(settings.web_key, base, settings.web_frame_ancestors, sso, theme)


def mount(web_app: web.Application, app: App, view: WebView) -> None:
    """The pages under /web/, and the sign-in links the chat's `dashboard` sends."""
    from bot.webapp.pages import Pages  # jinja2's templates load only when the view is served

    dashboard.configure(dashboard.Links(view.key.encode(), view.base_url))
    pages = Pages(app, view)
    pages.register(web_app)
    web_app[PAGES] = pages
