""" "Add to Slack" against a fake of Slack's OAuth endpoints on loopback: the install, tokens
encrypted at rest, several workspaces each answered with its own token, token rotation, and an
uninstall that removes the tokens and the workspace's waiting messages."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import time as clock_time
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from cryptography.fernet import Fernet
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.delivery import Target
from bot.serve import running
from bot.slack import install
from bot.slack.sender import SlackSender
from bot.wiring import App
from handlers import intake
from handlers.messages import Actor, Destination, FormSubmitted, Message, Place, Text, outbox_row
from handlers.model import OutboxStatus, Platform
from storage import tables as t
from storage.db import session_factory
from storage.installations import NoTokenKey, SqlInstallations, SqlOAuthStates, TokenCipher
from tests.conftest import eventually
from tests.fake_slack import SIGNING_SECRET, free_port, sign

CLIENT_ID, CLIENT_SECRET = "1111.2222", "oauth-client-secret"
# slack_sdk sends the client's credentials with aiohttp's BasicAuth, which aiohttp 3.13 deprecates
# (a warning in production; the suite turns warnings into errors).
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@dataclass
class FakeSlackOAuth:
    """Slack's side: oauth.v2.access (a code, or a refresh token), auth.test, and the Web API
    methods the bot calls, each recorded with the token it came with."""

    url: str = ""
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # bot token -> team
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> team
    expires_in: dict[str, int] = field(default_factory=dict)  # team -> seconds
    revoked: set[str] = field(default_factory=set)
    members: dict[str, list[str]] = field(default_factory=dict)  # team -> its channels' people
    _n: Any = field(default_factory=lambda: itertools.count(1))

    def grant(self, team: str) -> dict[str, Any]:
        n = next(self._n)
        token, refresh = f"xoxe.xoxb-{team}-{n}", f"xoxe-1-{team}-{n}"
        self.tokens[token], self.refresh[refresh] = team, team
        return {
            "ok": True,
            "app_id": "A1",
            "access_token": token,
            "token_type": "bot",
            "scope": "chat:write,commands,im:history",
            "bot_user_id": f"UBOT{team}",
            "team": {"id": team, "name": f"Gemeente {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "UINSTALLER"},
            "refresh_token": refresh,
            "expires_in": self.expires_in.get(team, 43200),
        }

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update(dict(await request.post()))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        self.calls.append((method, token, params))
        if method == "oauth.v2.access":
            basic = (
                base64.b64decode(auth.removeprefix("Basic ")).decode() if "Basic" in auth else ""
            )
            if basic != f"{CLIENT_ID}:{CLIENT_SECRET}":
                return web.json_response({"ok": False, "error": "invalid_client"})
            if params.get("grant_type") == "refresh_token":
                team = self.refresh.pop(str(params.get("refresh_token")), None)
            else:
                code = str(params.get("code", ""))
                team = code.removeprefix("code-") if code.startswith("code-") else None
            if team is None:
                return web.json_response({"ok": False, "error": "invalid_code"})
            return web.json_response(self.grant(team))
        team = self.tokens.get(token)
        if team is None or token in self.revoked:
            return web.json_response({"ok": False, "error": "token_revoked"})
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "team_id": team, "user_id": f"UBOT{team}", "bot_id": f"B{team}"}
            )
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": f"D{team}"}})
        if method == "conversations.members":
            people = [*self.members.get(team, []), f"UBOT{team}"]
            return web.json_response({"ok": True, "members": people,
                                      "response_metadata": {"next_cursor": ""}})  # fmt: skip
        return web.json_response({"ok": True, "ts": f"{time.time():.6f}", "channel": "C"})

    def revoke(self, team: str) -> None:
        """The workspace's tokens no longer work (the app was removed there)."""
        self.revoked |= {token for token, owner in self.tokens.items() if owner == team}

    def of(self, method: str) -> list[tuple[str, dict[str, Any]]]:
        return [(token, params) for m, token, params in self.calls if m == method]


@dataclass
class Installing:
    slack: FakeSlackOAuth
    app: App
    installations: SqlInstallations
    store: install.DatabaseInstallationStore
    bolt: AsyncApp
    base: str
    session: aiohttp.ClientSession

    async def start(self) -> tuple[str, str]:
        """A person clicks "Add to Slack": the state Slack is sent and the browser's cookie."""
        async with self.session.get(self.base + install.INSTALL_PATH, allow_redirects=False) as r:
            assert r.status == 302
            location = urllib.parse.urlparse(r.headers["Location"])
            cookie = r.headers["Set-Cookie"].split(";")[0]  # Secure: a browser sends it on HTTPS
        query = urllib.parse.parse_qs(location.query)
        page = f"{location.scheme}://{location.netloc}{location.path}"
        assert page == self.slack.url + "/oauth/v2/authorize"
        assert query["client_id"] == [CLIENT_ID] and "chat:write" in query["scope"][0]
        return query["state"][0], cookie

    async def back(self, query: dict[str, str], cookie: str = "") -> int:
        """Slack sends the browser back to the bot."""
        url = self.base + install.REDIRECT_PATH + "?" + urllib.parse.urlencode(query)
        headers = {"Cookie": cookie} if cookie else {}
        async with self.session.get(url, headers=headers, allow_redirects=False) as r:
            return r.status

    async def install(self, team: str) -> int:
        """Approved at Slack: back with a code."""
        state, cookie = await self.start()
        return await self.back({"code": f"code-{team}", "state": state}, cookie)

    async def mention(self, team: str, text: str = "hallo") -> int:
        body = json.dumps(
            {
                "team_id": team,
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": f"Ev{time.monotonic_ns()}",
                "event_time": int(time.time()),
                "event": {
                    "type": "app_mention",
                    "user": "U1",
                    "text": text,
                    "channel": "C1",
                    "ts": f"{time.time():.6f}",
                },
            }
        ).encode()
        headers = {"Content-Type": "application/json", **sign(body)}
        async with self.session.post(self.base + "/slack/events", data=body, headers=headers) as r:
            return r.status

    async def event(self, team: str, event: dict[str, Any]) -> int:
        body = json.dumps(
            {
                "team_id": team,
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": f"Ev{time.monotonic_ns()}",
                "event_time": int(time.time()),
                "event": event,
            }
        ).encode()
        headers = {"Content-Type": "application/json", **sign(body)}
        async with self.session.post(self.base + "/slack/events", data=body, headers=headers) as r:
            return r.status


async def serve(web_app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(web_app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def installing(app: App) -> AsyncIterator[Installing]:
    slack = FakeSlackOAuth()
    fake = web.Application()
    fake.router.add_route("*", "/api/{method}", slack.handle)
    fake_runner, slack.url = await serve(fake)
    cipher = TokenCipher([Fernet.generate_key().decode()])
    sessions = session_factory(app.engine)
    installations = SqlInstallations(sessions, cipher)
    store = install.DatabaseInstallationStore(installations, app.coulisse.clock)
    states = install.DatabaseStateStore(
        SqlOAuthStates(sessions, install.STATE_LIFETIME), app.coulisse.clock
    )
    client = AsyncWebClient(base_url=f"{slack.url}/api/")
    flow = install.oauth_flow(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        store=store,
        states=states,
        client=client,
        authorization_url=f"{slack.url}/oauth/v2/authorize",
    )
    bolt = AsyncApp(signing_secret=SIGNING_SECRET, oauth_flow=flow, client=client)
    install.listen_for_uninstalls(bolt, store)

    @bolt.event("app_mention")
    async def answer(client: AsyncWebClient, event: dict[str, Any]) -> None:
        await client.chat_postMessage(channel=event["channel"], text="ok")

    web_app = web.Application()
    web_app.add_routes(install.routes(flow))

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    web_app.router.add_post("/slack/events", events)
    runner, base = await serve(web_app)
    try:
        # A browser: it keeps the state cookie /slack/install sets (also for 127.0.0.1).
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            yield Installing(slack, app, installations, store, bolt, base, session)
    finally:
        await runner.cleanup()
        await fake_runner.cleanup()


async def stored_row(app: App, team: str) -> dict[str, Any] | None:
    async with app.engine.connect() as conn:
        found = await conn.execute(
            sa.select(t.slack_installations).where(t.slack_installations.c.team_id == team)
        )
        row = found.mappings().first()
    return dict(row) if row else None


async def test_add_to_slack_stores_the_workspace_with_its_token_encrypted(
    installing: Installing,
) -> None:
    s = installing
    assert await s.install("T2") == 200
    exchanged = s.slack.of("oauth.v2.access")
    assert len(exchanged) == 1 and exchanged[0][1]["code"] == "code-T2"
    row = await stored_row(s.app, "T2")
    assert row is not None and row["bot_user_id"] == "UBOTT2" and row["bot_id"] == "BT2"
    # At rest: neither token readable, nor the installing person kept.
    assert "xoxb" not in row["bot_token"] and "xoxe" not in (row["refresh_token"] or "")
    assert "UINSTALLER" not in json.dumps(row, default=str)
    found = await s.installations.find("T2")
    assert found is not None and found.bot_token in s.slack.tokens
    assert found.refresh_token in s.slack.refresh and found.expires_at is not None


async def test_a_forged_replayed_or_refused_callback_stores_nothing(installing: Installing) -> None:
    s = installing
    state, cookie = await s.start()
    assert await s.back({"code": "code-T9", "state": state}) == 400  # another browser
    forged = "slack-app-oauth-state=made-up"  # a state and its cookie that we never issued
    assert await s.back({"code": "code-T9", "state": "made-up"}, forged) == 401
    assert s.slack.of("oauth.v2.access") == []  # the code is never even exchanged
    assert await s.back({"error": "access_denied", "state": state}, cookie) == 200
    assert s.slack.of("oauth.v2.access") == []  # the person said no at Slack
    assert await s.back({"code": "code-T9", "state": state}, cookie) == 200
    assert await s.back({"code": "code-T7", "state": state}, cookie) == 401  # once only
    assert await stored_row(s.app, "T7") is None and await stored_row(s.app, "T9") is not None
    assert len(s.slack.of("oauth.v2.access")) == 1


async def test_several_workspaces_are_answered_each_with_its_own_token(
    installing: Installing,
) -> None:
    s = installing
    assert await s.install("T2") == 200
    assert await s.install("T3") == 200
    assert await s.mention("T2") == 200
    assert await s.mention("T3") == 200
    await eventually(lambda: len(s.slack.of("chat.postMessage")) == 2)
    teams = sorted(s.slack.tokens[token] for token, _ in s.slack.of("chat.postMessage"))
    assert teams == ["T2", "T3"]
    # A workspace that never installed the app gets nothing.
    await s.mention("T8")
    assert all(s.slack.tokens.get(token) != "T8" for _, token, _ in s.slack.calls if token)


async def test_a_token_about_to_expire_is_rotated_and_stored_again(installing: Installing) -> None:
    s = installing
    s.slack.expires_in["T3"] = 600  # within the two hours before expiry: rotate first
    assert await s.install("T3") == 200
    first = await s.installations.find("T3")
    assert first is not None
    s.slack.expires_in["T3"] = 43200  # the refreshed one lasts
    assert await s.mention("T3") == 200
    await eventually(lambda: len(s.slack.of("chat.postMessage")) == 1)
    refreshes = [p for _, p in s.slack.of("oauth.v2.access") if p.get("grant_type")]
    assert [p["refresh_token"] for p in refreshes] == [first.refresh_token]
    second = await s.installations.find("T3")
    assert second is not None and second.bot_token != first.bot_token
    assert s.slack.of("chat.postMessage")[0][0] == second.bot_token
    row = await stored_row(s.app, "T3")
    assert row is not None and second.bot_token not in row["bot_token"]
    # The outbox's sender rotates the same way, and then reuses what it has.
    clients = install.WorkspaceClients(
        s.store,
        f"{s.slack.url}/api/",
        AsyncTokenRotator(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            client=AsyncWebClient(base_url=f"{s.slack.url}/api/"),
        ),
    )
    assert await clients.token("T3") == second.bot_token


async def seed_workspace(app: App, team: str) -> tuple[int, int]:
    """A workspace with a person and a team, as the bot keeps them: (person id, team id)."""
    async with app.engine.begin() as conn:
        workspace = (
            await conn.execute(
                sa.insert(t.workspaces)
                .values(
                    platform=Platform.SLACK.value,
                    external_id=team,
                    locale="nl",
                    timezone="Europe/Amsterdam",
                )
                .returning(t.workspaces.c.id)
            )
        ).scalar_one()
        person = (
            await conn.execute(
                sa.insert(t.people)
                .values(
                    workspace_id=workspace,
                    platform_id=f"U{team}",
                    display_name="",
                    organisation="",
                    discipline="",
                    locale="nl",
                    timezone="Europe/Amsterdam",
                    quiet_start=clock_time(18),
                    quiet_end=clock_time(8, 30),
                    nudges_paused=False,
                    erased=False,
                )
                .returning(t.people.c.id)
            )
        ).scalar_one()
        group = (
            await conn.execute(
                sa.insert(t.teams)
                .values(workspace_id=workspace, channel_id=f"C{team}", name="noord")
                .returning(t.teams.c.id)
            )
        ).scalar_one()
    return person, group


async def queue(app: App, to: Destination, key: str) -> None:
    async with app.uow() as uow:
        row = outbox_row(to, Message((Text("x"),)), kind="reply", dedupe_key=key,
                         due_at=app.coulisse.clock.now())  # fmt: skip
        await uow.outbox.enqueue(row)
        await uow.commit()


async def test_uninstalling_removes_the_tokens_and_the_workspaces_waiting_messages(
    installing: Installing,
) -> None:
    s = installing
    assert await s.install("T2") == 200
    assert await s.install("T3") == 200
    person2, team2 = await seed_workspace(s.app, "T2")
    person3, team3 = await seed_workspace(s.app, "T3")
    for to, key in [
        (Destination.dm(person2), "a"), (Destination.channel(team2), "b"),
        (Destination.dm(person3), "c"), (Destination.channel(team3), "d"),
    ]:  # fmt: skip
        await queue(s.app, to, key)
    async with s.app.uow() as uow:  # one of T2's already went: it stays, as history
        sent = next(m for m in await uow.outbox.pending() if m.dedupe_key == "b")
    assert sent.id is not None
    await s.app.outbox.mark_sent(sent.id, s.app.coulisse.clock.now())

    s.slack.revoke("T2")  # Slack revokes first, then tells the app
    assert await s.event("T2", {"type": "app_uninstalled"}) == 200
    await eventually(_gone(s.app, "T2"))
    async with s.app.uow() as uow:
        left = sorted(m.dedupe_key for m in await uow.outbox.pending())
    assert left == ["c", "d"]  # T3's wait; T2's pending one is gone
    async with s.app.engine.connect() as conn:
        statuses = dict(
            (await conn.execute(sa.select(t.outbox.c.dedupe_key, t.outbox.c.status))).all()
        )
    assert statuses.get("b") in (OutboxStatus.SENT, OutboxStatus.SENT.value)
    # T2 is no longer answered; T3 still is.
    await s.mention("T2")
    await s.mention("T3")
    await eventually(lambda: len(s.slack.of("chat.postMessage")) == 1)
    assert s.slack.tokens[s.slack.of("chat.postMessage")[0][0]] == "T3"


def _gone(app: App, team: str):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return await stored_row(app, team) is None

    return check


async def test_revoked_bot_tokens_remove_the_workspace(installing: Installing) -> None:
    s = installing
    assert await s.install("T2") == 200
    event = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOTT2"]}}
    assert await s.event("T2", event) == 200
    await eventually(_gone(s.app, "T2"))


async def test_the_outbox_sends_with_the_recipients_workspace_token(
    installing: Installing,
) -> None:
    s = installing
    assert await s.install("T2") == 200
    assert await s.install("T3") == 200
    clients = install.WorkspaceClients(s.store, f"{s.slack.url}/api/")
    sender = install.PerWorkspaceSender(clients, lambda client: SlackSender(client, interval=0))
    person3, team3 = await seed_workspace(s.app, "T3")
    row = outbox_row(Destination.channel(team3), Message((Text("x"),)), kind="reply",
                     dedupe_key="k", due_at=s.app.coulisse.clock.now())  # fmt: skip
    target = Target(Platform.SLACK, "T3", "channel", team3, "CT3", "nl")
    await sender(row, target, Message((Text("hallo"),)))
    posted = s.slack.of("chat.postMessage")
    assert [s.slack.tokens[token] for token, _ in posted] == ["T3"]
    with pytest.raises(install.NotInstalled):
        await sender(row, Target(Platform.SLACK, "T9", "channel", 1, "C9", "nl"), Message(()))
    assert person3


def test_tokens_need_a_key_and_a_wrong_key_opens_nothing() -> None:
    with pytest.raises(NoTokenKey, match="COULISSE_TOKEN_KEY"):
        TokenCipher([])
    with pytest.raises(NoTokenKey):
        TokenCipher(["not a key"])
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = TokenCipher([old]).encrypt("xoxb-1")
    assert "xoxb" not in sealed
    with pytest.raises(NoTokenKey):
        TokenCipher([new]).decrypt(sealed)
    both = TokenCipher([new, old])  # a new key in front: old tokens still open
    assert both.decrypt(sealed) == "xoxb-1"
    assert TokenCipher([new]).decrypt(both.rotate(sealed)) == "xoxb-1"


async def test_coulisse_serve_installs_and_answers_each_workspace_with_its_token(
    database_url: str,
) -> None:
    """The whole server (`running`): two workspaces install through its /slack/install; a DM in
    each is answered with that workspace's token, through the adapter and through the outbox;
    an uninstall stops it."""
    slack = FakeSlackOAuth()
    fake = web.Application()
    fake.router.add_route("*", "/api/{method}", slack.handle)
    fake_runner, slack.url = await serve(fake)
    settings = Settings(
        database_url=database_url,
        slack_signing_secret=SIGNING_SECRET,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_api_url=f"{slack.url}/api/",
        slack_oauth_authorize_url=f"{slack.url}/oauth/v2/authorize",
        token_key=Fernet.generate_key().decode(),
        outbox_interval=0.05,
        slack_channel_interval=0.01,
    )
    port = free_port()
    try:
        async with (
            running(settings, "127.0.0.1", port) as (app, adapter, _runner),
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session,
        ):
            assert adapter is not None
            store = install.DatabaseInstallationStore(
                SqlInstallations(session_factory(app.engine), TokenCipher(settings.token_keys)),
                app.coulisse.clock,
            )
            s = Installing(slack, app, store.installations, store, adapter.app,
                           f"http://127.0.0.1:{port}", session)  # fmt: skip
            assert await s.install("T2") == 200 and await s.install("T3") == 200
            for team in ("T2", "T3"):
                dm = {"type": "message", "channel": f"D{team}", "channel_type": "im",
                      "user": f"U{team}", "text": "help", "ts": f"{time.time():.6f}"}  # fmt: skip
                assert await s.event(team, dm) == 200
            await eventually(
                lambda: (
                    {s.slack.tokens[tok] for tok, _ in s.slack.of("chat.postMessage")}
                    == {"T2", "T3"}
                )
            )
            for token, params in s.slack.of("chat.postMessage"):
                assert params["channel"] == f"D{s.slack.tokens[token]}"  # each in its own
            # Through the outbox: a message queued for a person of T3 goes with T3's token.
            async with app.engine.connect() as conn:
                person = await conn.scalar(
                    sa.select(t.people.c.id).where(t.people.c.platform_id == "UT3")
                )
            before = len(s.slack.of("chat.postMessage"))
            await queue(app, Destination.dm(int(person)), "outbox-t3")
            await eventually(lambda: len(s.slack.of("chat.postMessage")) > before)
            token, _ = s.slack.of("chat.postMessage")[-1]
            assert s.slack.tokens[token] == "T3"
            # T2 removes the app: its tokens go, its DMs are no longer answered.
            s.slack.revoke("T2")  # Slack revokes first, then tells the app
            assert await s.event("T2", {"type": "app_uninstalled"}) == 200
            await eventually(_gone(app, "T2"))
            answered = len(s.slack.of("chat.postMessage"))
            dm = {"type": "message", "channel": "DT2", "channel_type": "im", "user": "UT2",
                  "text": "help", "ts": f"{time.time():.6f}"}  # fmt: skip
            await s.event("T2", dm)
            await asyncio.sleep(0.5)
            assert len(s.slack.of("chat.postMessage")) == answered
    finally:
        await fake_runner.cleanup()


def oauth_settings(database_url: str, slack: FakeSlackOAuth) -> Settings:
    return Settings(
        database_url=database_url,
        slack_signing_secret=SIGNING_SECRET,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_api_url=f"{slack.url}/api/",
        slack_oauth_authorize_url=f"{slack.url}/oauth/v2/authorize",
        token_key=Fernet.generate_key().decode(),
        outbox_interval=0.05,
        slack_channel_interval=0.01,
    )


async def members_of(app: App, team: str) -> set[str]:
    """Who is a member of the team in the channel C<team> of workspace <team>."""
    m, p, tm, ws = t.memberships.c, t.people.c, t.teams.c, t.workspaces.c
    async with app.engine.connect() as conn:
        found = await conn.execute(
            sa.select(p.platform_id)
            .join_from(t.memberships, t.people, m.person_id == p.id)
            .join(t.teams, m.team_id == tm.id)
            .join(t.workspaces, tm.workspace_id == ws.id)
            .where(ws.external_id == team, tm.channel_id == f"C{team}")
        )
        return set(found.scalars().all())


async def test_a_delivery_left_by_another_replica_asks_its_own_workspace_for_the_channel(
    database_url: str,
) -> None:
    """A new session's form with nobody chosen, kept by a replica that died before handling it:
    the replica that takes it over asks the channel's people of the form's workspace, with
    that workspace's token (no request of it is at hand), for two workspaces at once."""
    slack = FakeSlackOAuth()
    slack.members = {"T2": ["UT2", "UA2", "UB2"], "T3": ["UT3", "UA3"]}
    fake = web.Application()
    fake.router.add_route("*", "/api/{method}", slack.handle)
    fake_runner, slack.url = await serve(fake)
    settings = oauth_settings(database_url, slack)
    port = free_port()
    try:
        async with (
            running(settings, "127.0.0.1", port) as (app, _adapter, _runner),
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session,
        ):
            store = install.DatabaseInstallationStore(
                SqlInstallations(session_factory(app.engine), TokenCipher(settings.token_keys)),
                app.coulisse.clock,
            )
            s = Installing(slack, app, store.installations, store, app_of(_adapter),
                           f"http://127.0.0.1:{port}", session)  # fmt: skip
            assert await s.install("T2") == 200 and await s.install("T3") == 200
            now = app.coulisse.clock.now()
            async with app.uow() as uow:  # as the dead replica kept them: its lease ran out
                for team in ("T2", "T3"):
                    form = FormSubmitted(
                        "new_session",
                        {"title": "Noord", "question": "Wat werkte?", "format": "retro",
                         "language": "nl", "anonymous": "yes"},
                        Actor("slack", team, f"U{team}"),
                        Place("channel", f"C{team}", "noord"),
                        event_key=f"slack:view:V{team}",
                    )  # fmt: skip
                    await uow.intake.keep(intake.key_of(form), "slack", intake.encode(form),
                                          now, "gone:1", now)  # fmt: skip
                await uow.commit()
            await eventually(lambda: _no_intake(app))
            assert await members_of(app, "T2") == {"UT2", "UA2", "UB2"}
            assert await members_of(app, "T3") == {"UT3", "UA3"}
            asked = {slack.tokens[token] for token, _ in slack.of("conversations.members")}
            assert asked == {"T2", "T3"}
    finally:
        await fake_runner.cleanup()


def app_of(adapter: Any) -> AsyncApp:
    assert adapter is not None
    return adapter.app  # type: ignore[no-any-return]


async def _no_intake(app: App) -> bool:
    async with app.uow() as uow:
        return await uow.intake.waiting() == 0
