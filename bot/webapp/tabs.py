"""The Teams channel tab's configuration page: what Teams shows when someone adds Coulisse to a
channel. Its script (static/tab-config.js, with the bundled Teams client library) tells Teams
the tab's addresses when they press Save; the tab itself is /web/tab, as the personal one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from handlers.ports import UnitOfWork

if TYPE_CHECKING:
    from bot.webapp.pages import Page, Pages, Viewer

ENTITY = "coulisse-web"  # the tab's id within the app, as in the manifest's staticTabs


def configuration(pages: Pages) -> Page:
    async def configure(
        request: web.Request, _u: UnitOfWork, viewer: Viewer | None
    ) -> web.StreamResponse:
        from bot.webapp.pages import _accepted

        lang = viewer.lang if viewer is not None else _accepted(request)
        base = pages.view.base_url.rstrip("/")
        return pages.render(
            "tab_config.html",
            lang,
            None,  # Teams' own frame: no navigation away from the dialog
            content_url=f"{base}/web/tab",
            website_url=f"{base}/web/",
            entity=ENTITY,
        )

    return configure
