"""The web view's vendored files (bot/webapp/static/vendor/) are exactly what the npm packages
package-lock.json pins hold, with their licences named, and every one is served; the theme
setting picks another municipality's tokens (the pages wear its class, theme.css is its file)
and refuses a file without a theme class."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.config import Settings
from bot.web import make_web_app
from bot.webapp import assets, vendor, web_view_of
from bot.wiring import App
from handlers import dashboard
from tests.browser import unavailable
from tests.fake_slack import free_port

MODULES = vendor.ROOT / "node_modules"


def test_the_vendored_files_are_the_pinned_packages_own() -> None:
    if not (MODULES / ".installed").exists():
        unavailable("node_modules is missing: run `npm ci` (make test does)", "the vendor check")
    lock = json.loads((vendor.ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for item in vendor.FILES:
        pinned = json.loads((vendor.ROOT / "package.json").read_text())["devDependencies"]
        assert lock["packages"][f"node_modules/{item.package}"]["version"] == pinned[item.package]
    for name, data in vendor.expected(MODULES).items():
        assert (vendor.VENDOR / name).read_bytes() == data, f"{name}: run `make vendor`"
    source = (vendor.VENDOR / "SOURCE.md").read_text(encoding="utf-8")
    assert "EUPL-1.2" in source and "MIT" in source


def test_every_vendored_file_the_pages_use_is_served() -> None:
    theme = assets.theme_of()
    for item in vendor.FILES:
        if item.name.startswith("theme-"):
            assert theme.path == vendor.VENDOR / item.name  # served as theme.css
        else:
            assert assets.FILES[item.name][0] == vendor.VENDOR / item.name
    assert theme.css_class == "voorbeeld-theme"


def test_a_municipality_theme_is_a_tokens_file_with_its_class(tmp_path: Path) -> None:
    tokens = tmp_path / "theme.css"
    tokens.write_text(".gemeente-noord-theme {\n  --basis-color-default-bg-document: #fff;\n}\n")
    assert assets.theme_of(str(tokens)) == assets.Theme(tokens, "gemeente-noord-theme")
    tokens.write_text(":root { --basis-color-default-bg-document: #fff; }\n")
    with pytest.raises(ValueError, match="COULISSE_WEB_THEME"):
        assets.theme_of(str(tokens))
    with pytest.raises(ValueError, match="COULISSE_WEB_THEME"):
        assets.theme_of(str(tmp_path / "missing.css"))


async def test_the_server_wears_the_theme_the_setting_names(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = tmp_path / "noord.css"
    tokens.write_text(".gemeente-noord-theme { --basis-color-default-bg-document: #fafafa; }\n")
    monkeypatch.setenv("COULISSE_WEB_THEME", str(tokens))
    view = web_view_of(Settings(_env_file=None, web_key="k" * 40))
    assert view is not None
    port = free_port()
    runner = web.AppRunner(make_web_app(app, None, None, view))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            async with http.get("/web/tab") as page:
                assert 'class="utrecht-html gemeente-noord-theme"' in await page.text()
            async with http.get("/web/static/theme.css") as css:
                assert css.content_type == "text/css" and await css.read() == tokens.read_bytes()
            for item in vendor.FILES:  # every vendored file the pages name is served
                name = "theme.css" if item.name.startswith("theme-") else item.name
                async with http.get(f"/web/static/{name}") as served:
                    assert served.status == 200, name
            async with http.get("/web/static/SOURCE.md") as other:
                assert other.status == 404  # only the listed names
    finally:
        await runner.cleanup()
        dashboard.configure(None)
