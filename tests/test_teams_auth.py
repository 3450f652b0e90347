"""Authentication of /api/messages with an app id: real JWTs, signed with a key of our own that a
fake OpenID metadata endpoint on loopback publishes (botbuilder fetches it with `requests`,
synchronously, so the fake runs in its own thread). Every way a token can be wrong is a 401;
a good one gets the turn's answer. Without an app id the server will not start unless told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.clock import SystemClock
from bot.config import Settings
from bot.serve import running
from bot.teams.auth import UnsafeConfiguration
from bot.teams.wiring import build_teams, refuse_or_warn
from bot.web import TEAMS, make_web_app
from bot.wiring import build
from tests.fake_slack import free_port
from tests.teams_fixtures import TEAM, TeamsClient

APP_ID = "3f6d2a51-7c1e-4d0b-9a55-2f1e8c0b7a10"
ISSUER = "https://api.botframework.com"
SERVICE_URL = "http://127.0.0.1:9/"  # never called: these turns answer in the invoke response


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


PUBLISHED, UNKNOWN = _key(), _key()


@pytest.fixture(scope="module")
def openid() -> Iterator[str]:
    """OpenID metadata and the published signing key, endorsed for msteams."""
    jwk = json.loads(RSAAlgorithm.to_jwk(PUBLISHED.public_key()))
    port = free_port()
    documents = {
        "/.well-known/openidconfiguration": {
            "issuer": ISSUER,
            "jwks_uri": f"http://127.0.0.1:{port}/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
        },
        "/keys": {"keys": [{**jwk, "kid": "published", "use": "sig", "endorsements": ["msteams"]}]},
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(documents.get(self.path, {})).encode()
            self.send_response(200 if self.path in documents else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/.well-known/openidconfiguration"
    server.shutdown()
    server.server_close()


def token(
    *,
    key: rsa.RSAPrivateKey = PUBLISHED,
    kid: str = "published",
    audience: str = APP_ID,
    expires_in: float = 300,
    service_url: str = SERVICE_URL,
) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": audience,
        "nbf": now - 60,
        "iat": now - 60,
        "exp": now + int(expires_in),
        "serviceurl": service_url,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def secured(database_url: str, openid: str) -> AsyncIterator[TeamsClient]:
    """The bot with an app id and password: JWTs checked against the fake's key."""
    settings = Settings(
        database_url=database_url,
        microsoft_app_id=APP_ID,
        microsoft_app_password="not-used-by-these-turns",
        microsoft_openid_metadata_url=openid,  # the setting, as an operator would set it
    )
    app = await build(database_url, SystemClock(), migrate=False)
    teams = build_teams(settings, app)
    teams.adapter.invoke_wait = 10.0  # the answer in the response, however slow the machine
    runner = web.AppRunner(make_web_app(app, None, teams))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as session:
            yield TeamsClient(f"http://127.0.0.1:{port}/api/messages", SERVICE_URL, session)
    finally:
        await runner.cleanup()
        await teams.close()
        await app.close()


async def check_in(client: TeamsClient, authorization: str | None) -> tuple[int, Any]:
    """A card button in the channel: its answer comes back in the invoke response."""
    action = {"verb": "checkin", "data": {"action": "checkin", "value": "999:done"}}
    headers = {"Authorization": authorization} if authorization is not None else {}
    client.headers = headers
    return await client.execute("29:U1", client.channel(TEAM), "1000000000001", action)


# Each bad token differs from the good one (test_a_valid_token_…) in one thing. Made when the
# test runs, so that an expiry is never the reason by accident.
BAD: dict[str, Callable[[], str | None]] = {
    "missing": lambda: None,
    "empty": lambda: "",
    "bearer-without-token": lambda: "Bearer",
    "malformed": lambda: "Bearer not.a.jwt",
    "garbage": lambda: "Bearer ey",
    "basic": lambda: "Basic dXNlcjpwYXNz",
    "expired": lambda: f"Bearer {token(expires_in=-3600)}",
    "wrong-audience": lambda: f"Bearer {token(audience='another-app')}",
    "unknown-key": lambda: f"Bearer {token(key=UNKNOWN, kid='unknown')}",
    "forged-signature": lambda: f"Bearer {token(key=UNKNOWN)}",
    "other-service": lambda: f"Bearer {token(service_url='https://evil.example/')}",
}


@pytest.mark.parametrize("problem", list(BAD))
async def test_a_bad_or_missing_token_gets_401(secured: TeamsClient, problem: str) -> None:
    status, body = await check_in(secured, BAD[problem]())
    assert status == 401 and body is None


async def test_a_valid_token_gets_the_turns_answer(secured: TeamsClient) -> None:
    status, body = await check_in(secured, f"Bearer {token()}")
    assert status == 200
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "999" in body["value"]  # the polite no: that commitment is not theirs


async def test_without_an_app_id_nothing_is_checked_when_allowed(
    database_url: str,
) -> None:
    settings = Settings(database_url=database_url, allow_unauthenticated=True)
    async with (
        running(settings, "127.0.0.1", free_port()) as (_app, _slack, runner),
        aiohttp.ClientSession() as session,
    ):
        port = runner.addresses[0][1]
        runner.app[TEAMS].adapter.invoke_wait = 10.0
        client = TeamsClient(f"http://127.0.0.1:{port}/api/messages", SERVICE_URL, session)
        status, body = await check_in(client, None)
        assert status == 200 and "999" in body["value"]


def test_without_an_app_id_the_server_refuses_to_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///unused.db")
    with pytest.raises(SystemExit) as stopped:
        refuse_or_warn(settings, other_platforms=False)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "refusing to start" in err and "COULISSE_ALLOW_UNAUTHENTICATED=1" in err


async def test_running_refuses_before_it_opens_the_database(tmp_path: Any) -> None:
    path = tmp_path / "never.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}")
    with pytest.raises(UnsafeConfiguration):
        async with running(settings, "127.0.0.1", free_port()):
            pass
    assert not path.exists()


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"microsoft_app_id": APP_ID}, "MICROSOFT_APP_PASSWORD"),
        (
            {
                "microsoft_app_id": APP_ID,
                "microsoft_app_password": "x",
                "microsoft_app_type": "SingleTenant",
            },
            "MICROSOFT_APP_TENANT_ID",
        ),
        ({"microsoft_app_id": APP_ID, "microsoft_app_type": "Anonymous"}, "MICROSOFT_APP_TYPE"),
    ],
)
def test_an_incomplete_app_registration_refuses_to_start(
    capsys: pytest.CaptureFixture[str], extra: dict[str, str], problem: str
) -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///unused.db", **extra)
    with pytest.raises(SystemExit):
        refuse_or_warn(settings, other_platforms=True)
    assert problem in capsys.readouterr().err


def test_allowing_unauthenticated_says_so_loudly(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///unused.db", allow_unauthenticated=True)
    refuse_or_warn(settings, other_platforms=False)  # starts, but not quietly
    err = capsys.readouterr().err
    assert "accepts activities" in err and "from anyone" in err
