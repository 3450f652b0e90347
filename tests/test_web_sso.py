"""Teams single sign-on for the tab, end to end: tokens signed here with a local RSA key, the
key published by a fake OpenID metadata endpoint on loopback (as Entra ID publishes its own),
the server checking signature, tenant issuer, audience and times before it opens a session
for the Teams person the bot knows by their aadObjectId."""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.web import make_web_app
from bot.webapp import WebView
from bot.webapp.pages import COOKIE
from bot.webapp.sso import TabSignIn
from bot.wiring import App
from handlers import dashboard
from handlers.model import ConversationRef, Person, Platform, Workspace
from tests.fake_slack import free_port

TENANT, OID = "c0ffee00-0000-4000-8000-000000000001", "0b1ec700-0000-4000-8000-00000000000a"
AUDIENCE = "api://coulisse.gemeente.example/3f6d2a51-7c1e-4d0b-9a55-2f1e8c0b7a10"
ISSUER = "https://login.microsoftonline.com/{tenantid}/v2.0"
PUBLIC = "https://coulisse.gemeente.example"  # where the tab is (the view's links name it)
PUBLISHED = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(key: rsa.RSAPrivateKey = PUBLISHED, kid: str = "k1", **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER.replace("{tenantid}", TENANT),
        "aud": AUDIENCE,
        "tid": TENANT,
        "oid": OID,
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 600,
        **changes,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@dataclass
class Tab:
    base: str
    http: aiohttp.ClientSession
    metadata_hits: list[str]

    async def sign_in(self, bearer: str) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {bearer}"}
        async with self.http.post(f"{self.base}/web/tab/sso", headers=headers) as resp:
            return resp.status, resp.headers.get("Set-Cookie", "")


@asynccontextmanager
async def tab_server(app: App, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Tab]:
    """The web view with single sign-on, its keys behind a fake metadata endpoint, and a Teams
    person the bot met; over TLS with `ssl_context` (the browser test of the tab's script)."""
    hits: list[str] = []
    meta_port = free_port()
    meta = web.Application()

    async def metadata(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"issuer": ISSUER,
                                  "jwks_uri": f"http://127.0.0.1:{meta_port}/keys"})  # fmt: skip

    async def keys(request: web.Request) -> web.Response:
        hits.append(request.path)
        jwk = RSAAlgorithm.to_jwk(PUBLISHED.public_key(), as_dict=True)
        return web.json_response({"keys": [{**jwk, "kid": "k1", "use": "sig"}]})

    meta.router.add_get("/v2.0/.well-known/openid-configuration", metadata)
    meta.router.add_get("/keys", keys)
    meta_runner = web.AppRunner(meta)
    await meta_runner.setup()
    await web.TCPSite(meta_runner, "127.0.0.1", meta_port).start()
    url = f"http://127.0.0.1:{meta_port}/v2.0/.well-known/openid-configuration"
    async with app.uow() as uow:  # a Teams person the bot met in their 1:1 chat
        workspace_id = await uow.store(Workspace(Platform.TEAMS, TENANT))
        person_id = await uow.store(Person(workspace_id, "29:1abc", "Sanne"))
        uow.add(ConversationRef(Platform.TEAMS, "person", person_id,
                                {"user": {"id": "29:1abc", "aadObjectId": OID}}))  # fmt: skip
        await uow.commit()
    port = free_port()
    view = WebView("k" * 40, PUBLIC, sso=TabSignIn(url, AUDIENCE))
    runner = web.AppRunner(make_web_app(app, None, None, view))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context).start()
    scheme = "https" if ssl_context else "http"
    try:
        async with aiohttp.ClientSession() as http:
            yield Tab(f"{scheme}://127.0.0.1:{port}", http, hits)
    finally:
        await runner.cleanup()
        await meta_runner.cleanup()
        dashboard.configure(None)


@pytest.fixture
async def tab(app: App) -> AsyncIterator[Tab]:
    async with tab_server(app) as served:
        yield served


async def test_a_valid_tab_token_opens_a_session_for_that_teams_person(tab: Tab) -> None:
    status, cookie = await tab.sign_in(token())
    assert status == 200
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=None" in cookie
    assert "Partitioned" in cookie  # kept inside Teams when third-party cookies are blocked
    secret = cookie.split(";")[0].split("=", 1)[1]
    async with tab.http.get(f"{tab.base}/web/", headers={"Cookie": f"{COOKIE}={secret}"}) as r:
        assert r.status == 200 and "Sanne" in await r.text()
    assert tab.metadata_hits == ["/v2.0/.well-known/openid-configuration", "/keys"]
    assert (await tab.sign_in(token()))[0] == 200
    assert len(tab.metadata_hits) == 2  # the keys are kept, not fetched for every sign-in


@pytest.mark.parametrize(
    ("problem", "bearer"),
    [
        ("signed with another key", lambda: token(OTHER)),
        ("an unknown key id", lambda: token(kid="k2")),
        ("for another app", lambda: token(aud="api://other/app")),
        ("expired", lambda: token(exp=int(time.time()) - 3600)),
        ("issued by another tenant", lambda: token(iss="https://login.microsoftonline.com/x/v2.0")),
        ("without an object id", lambda: token(oid=None)),
        ("not a token", lambda: "not.a.jwt"),
    ],
)
async def test_a_bad_tab_token_is_refused_and_opens_nothing(
    tab: Tab, problem: str, bearer: Any
) -> None:
    status, cookie = await tab.sign_in(bearer())
    assert status == 401 and COOKIE not in cookie, problem


async def test_a_teams_person_the_bot_never_met_gets_no_session(tab: Tab) -> None:
    status, cookie = await tab.sign_in(token(oid="0b1ec700-0000-4000-8000-0000000000ff"))
    assert status == 403 and COOKIE not in cookie


def test_the_settings_turn_the_view_and_the_tab_sign_in_on() -> None:
    from bot.config import Settings
    from bot.webapp import web_view_of

    assert web_view_of(Settings(web_key="")) is None
    with pytest.raises(ValueError, match="32 characters"):
        web_view_of(Settings(web_key="short"))
    view = web_view_of(Settings(web_key="k" * 32, public_url="https://c.example"))
    assert view is not None and view.secure and view.sso is None
    view = web_view_of(Settings(web_key="k" * 32, web_sso_audience=AUDIENCE))
    assert view is not None and not view.secure and view.sso is not None
    assert view.sso.audience == AUDIENCE and "login.microsoftonline.com" in view.sso.metadata_url
