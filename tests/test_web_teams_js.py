"""The Teams tab's own script with Microsoft's real Teams JavaScript client library (the bundled
teams-js.min.js), in Debian's Chromium, inside a recorded fake of the Teams host: a page served
over TLS as https://teams.microsoft.com (Chromium maps that name to loopback and takes the
test's own certificate) frames the tab, plays the host's side of the library's postMessage
protocol and records what it is asked (tests/fixtures/teams_host/host.js). The library checks
the host's origin itself, as it would in Teams. The personal tab signs in with the token the
host hands over (signed locally, its key behind a fake OpenID endpoint: tests/test_web_sso.py)
and lands on My teams; a token the server refuses leaves the tab saying how to get a link; the
channel tab's configuration page tells the host its addresses when Save is pressed."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.wiring import App
from prompts.catalog import t
from tests.browser import launch_options, need_chromium
from tests.fake_slack import free_port
from tests.test_web_sso import OTHER, PUBLIC, Tab, tab_server, token

HOST = Path(__file__).parent / "fixtures" / "teams_host" / "host.js"
TEAMS = "teams.microsoft.com"  # an origin the library accepts as its host
SERVER = urlsplit(PUBLIC).hostname or ""  # the tab's server, as the manifest names it

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def certificate(folder: Path) -> ssl.SSLContext:
    """A throw-away certificate for both names (the browser is told to take it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TEAMS)])
    now = dt.datetime.now(dt.UTC)
    names = x509.SubjectAlternativeName([x509.DNSName(TEAMS), x509.DNSName(SERVER)])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(names, critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@dataclass
class InTeams:
    page: Any  # the fake Teams host's page
    tab: Tab


@pytest.fixture
async def teams(app: App, tmp_path: Path) -> AsyncIterator[InTeams]:
    """Chromium with the fake Teams host at https://teams.microsoft.com/?tab=…&context=…,
    framing the tab at its public https address; both names lead to loopback."""
    need_chromium("the Teams tab test")
    from playwright.async_api import async_playwright

    async def host_page(request: web.Request) -> web.Response:
        source = PUBLIC + request.query["tab"]
        bearer = request.query.get("token", "")
        html = (
            f'<!DOCTYPE html><html lang="en"><body data-context="{request.query["context"]}"'
            f' data-token="{bearer}"><iframe id="tab" src="{source}" title="tab"'
            ' width="900" height="700"></iframe><script src="/host.js"></script></body></html>'
        )
        return web.Response(text=html, content_type="text/html")

    async def host_script(_r: web.Request) -> web.FileResponse:
        return web.FileResponse(HOST)

    tls = certificate(tmp_path)
    host = web.Application()
    host.router.add_get("/", host_page)
    host.router.add_get("/host.js", host_script)
    runner = web.AppRunner(host)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls).start()
    try:
        async with tab_server(app, tls) as tab, async_playwright() as playwright:
            rules = f"MAP {TEAMS} 127.0.0.1:{port},MAP {SERVER} 127.0.0.1:{urlsplit(tab.base).port}"
            options = launch_options(tmp_path / "profile")
            options["args"] = [*options["args"], f"--host-resolver-rules={rules}"]
            context = await playwright.chromium.launch_persistent_context(
                **options, ignore_https_errors=True
            )
            try:
                yield InTeams(await context.new_page(), tab)
            finally:
                await context.close()
    finally:
        await runner.cleanup()


async def shown(page: Any, locator: Any) -> None:
    """Wait for it; if it never comes, say what the host was asked and where the tab is."""
    try:
        await locator.wait_for(timeout=15_000)
    except Exception as exc:
        frames = [f.url for f in page.frames]
        cookies = await page.context.cookies()
        raise AssertionError((await received(page), frames, cookies)) from exc


async def received(page: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await page.evaluate("window.received")
    return found


async def test_the_personal_tab_signs_in_with_teams_and_shows_my_teams(
    teams: InTeams,
) -> None:
    page = teams.page
    await page.goto(f"https://{TEAMS}/?tab=/web/tab&context=content&token={token()}")
    frame = page.frame_locator("#tab")
    await shown(page, frame.get_by_role("heading", name=t("nl", "web.teams_heading")))
    asked = [m["func"] for m in await received(page)]
    assert asked[:2] == ["initialize", "authentication.getAuthToken"], asked
    assert {m["origin"] for m in await received(page)} == {PUBLIC}
    assert teams.tab.metadata_hits == ["/v2.0/.well-known/openid-configuration", "/keys"]
    assert t("nl", "web.signed_in_as", name="Sanne") in await frame.locator("header").inner_text()


async def test_a_token_the_server_refuses_leaves_the_tab_saying_how_to_get_a_link(
    teams: InTeams,
) -> None:
    page = teams.page
    await page.goto(f"https://{TEAMS}/?tab=/web/tab&context=content&token={token(OTHER)}")
    frame = page.frame_locator("#tab")
    lang = await frame.locator("html").get_attribute("lang")  # the browser's: nobody signed in
    await shown(page, frame.locator("#tab-status").get_by_text(t(lang, "web.tab_failed")))
    assert [m["func"] for m in await received(page)][:2] == [
        "initialize",
        "authentication.getAuthToken",
    ]


async def test_the_channel_tab_configuration_tells_teams_its_addresses_on_save(
    teams: InTeams,
) -> None:
    page = teams.page
    await page.goto(f"https://{TEAMS}/?tab=/web/tab/config&context=settings")
    frame = page.frame_locator("#tab")
    lang = await frame.locator("html").get_attribute("lang")
    await shown(page, frame.get_by_text(t(lang, "web.tab_config_ready")))
    asked = {m["func"]: m["args"] for m in await received(page)}
    assert asked["registerHandler"] == ["save"] and asked["settings.setValidityState"] == [True]
    await page.evaluate("save()")  # the person presses Save in Teams' dialog
    await page.wait_for_function("window.received.some(m => m.func === 'settings.save.success')")
    asked = {m["func"]: m["args"] for m in await received(page)}
    (config,) = asked["settings.setSettings"]
    assert config["contentUrl"] == "https://coulisse.gemeente.example/web/tab"
    assert config["websiteUrl"] == "https://coulisse.gemeente.example/web/"
    assert config["entityId"] == "coulisse-web" and config["suggestedDisplayName"] == "Coulisse"
