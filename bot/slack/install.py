""" "Add to Slack": the OAuth v2 install, one process serving every workspace that installed it.

- `/slack/install` starts an install (a one-time `state`, kept in the database) and sends the
  browser to Slack; `/slack/oauth_redirect` takes Slack's code, exchanges it at
  `oauth.v2.access` and stores the workspace's bot token, encrypted (storage/installations.py).
  Only the bot's token and ids are kept: never the installing person's id or a user token.
- Each request from Slack is authorized with its workspace's token (slack-bolt asks the store);
  the outbox sends with the token of the recipient's workspace (`PerWorkspaceSender`).
- Token rotation: a token that expires is refreshed at `oauth.v2.access` (grant
  `refresh_token`) shortly before it does, by whichever replica needs it first, and stored again.
- `app_uninstalled` and `tokens_revoked` remove the tokens and the workspace's messages still
  waiting in the outbox.

The single workspace of `SLACK_BOT_TOKEN` keeps working as before; this is for the app that is
distributed ("Manage distribution") to several workspaces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.delivery import PlatformSend, Target
from bot.slack.manifest import build_manifest
from handlers.messages import Message
from handlers.model import ConversationRef, OutboxMessage
from handlers.ports import Clock
from storage.db import session_factory
from storage.installations import SlackWorkspace, SqlInstallations, SqlOAuthStates, TokenCipher

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_LIFETIME = timedelta(minutes=10)
ROTATE_BEFORE_MINUTES = 120  # refresh a rotating token this long before it expires
# slack-bolt logs a failed code exchange with the code in it: ours stays at ERROR.
_BOLT_LOG = logging.getLogger("bot.slack.install.bolt")
_BOLT_LOG.setLevel(logging.ERROR)


def bot_scopes() -> list[str]:
    """What an install asks for: the manifest's bot scopes, and no user scopes."""
    return list(build_manifest()["oauth_config"]["scopes"]["bot"])


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _moment(epoch: float | int | None) -> datetime | None:
    return datetime.fromtimestamp(float(epoch), UTC) if epoch else None


def _scopes(scopes: Any) -> str:
    return scopes if isinstance(scopes, str) else ",".join(scopes or ())


class DatabaseInstallationStore(AsyncInstallationStore):
    """slack_sdk's installation store over storage.installations: bots only."""

    def __init__(self, installations: SqlInstallations, clock: Clock) -> None:
        self.installations = installations
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return _BOLT_LOG

    async def async_save(self, installation: Installation) -> None:
        await self.async_save_bot(installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        if not bot.team_id or not bot.bot_token:
            raise ValueError("an installation without a workspace or a bot token")
        await self.installations.save(
            SlackWorkspace(
                team_id=bot.team_id,
                enterprise_id=bot.enterprise_id or "",
                app_id=bot.app_id or "",
                bot_id=bot.bot_id or "",
                bot_user_id=bot.bot_user_id or "",
                scopes=_scopes(bot.bot_scopes),
                bot_token=bot.bot_token,
                refresh_token=bot.bot_refresh_token,
                expires_at=_moment(bot.bot_token_expires_at),
                installed_at=self.clock.now(),
            )
        )
        log.info("a Slack workspace was installed or its token renewed")

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self.installations.find(team_id or "", enterprise_id or "")
        if found is None:
            return None
        return Bot(
            app_id=found.app_id,
            enterprise_id=found.enterprise_id or None,
            team_id=found.team_id,
            bot_token=found.bot_token,
            bot_id=found.bot_id,
            bot_user_id=found.bot_user_id,
            bot_scopes=found.scopes,
            bot_refresh_token=found.refresh_token,
            bot_token_expires_at=_epoch(found.expires_at),
            installed_at=found.installed_at.timestamp(),
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        removed = await self.installations.remove(team_id or "", enterprise_id or "")
        log.info("a Slack workspace's tokens were removed, with %d waiting messages", removed)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # we keep no user tokens: only the whole workspace goes
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


class DatabaseStateStore(AsyncOAuthStateStore):
    def __init__(self, states: SqlOAuthStates, clock: Clock) -> None:
        self.states = states
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return _BOLT_LOG

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await self.states.issue(self.clock.now())

    async def async_consume(self, state: str) -> bool:
        return await self.states.consume(state, self.clock.now())


def oauth_flow(
    *,
    client_id: str,
    client_secret: str,
    store: DatabaseInstallationStore,
    states: DatabaseStateStore,
    client: AsyncWebClient,
    redirect_uri: str | None = None,
    authorization_url: str | None = None,
) -> AsyncOAuthFlow:
    """The install flow and the per-request authorization, both talking to Slack through
    `client` (its base_url: Slack, a proxy, or the tests' fake)."""
    settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=bot_scopes(),
        redirect_uri=redirect_uri,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False,  # straight to Slack
        authorization_url=authorization_url,
        installation_store=store,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
        state_store=states,
        state_expiration_seconds=int(STATE_LIFETIME.total_seconds()),
        logger=_BOLT_LOG,
    )
    # The rotation must reach Slack through the same client as everything else.
    settings.authorize = AsyncInstallationStoreAuthorize(
        logger=_BOLT_LOG,
        installation_store=store,
        client_id=client_id,
        client_secret=client_secret,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
        bot_only=True,
        client=client,
    )
    return AsyncOAuthFlow(client=client, logger=_BOLT_LOG, settings=settings)


def listen_for_uninstalls(app: AsyncApp, store: DatabaseInstallationStore) -> None:
    """app_uninstalled / tokens_revoked (bot tokens): the workspace's tokens and waiting
    messages go. Slack sends both when the app is removed; the second finds nothing."""

    async def uninstalled(body: dict[str, Any]) -> None:
        await store.async_delete_bot(
            enterprise_id=body.get("enterprise_id"), team_id=body.get("team_id")
        )

    async def revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        if (event.get("tokens") or {}).get("bot"):
            await uninstalled(body)

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(revoked)


def routes(flow: AsyncOAuthFlow) -> list[web.RouteDef]:
    """GET /slack/install and /slack/oauth_redirect, for the web app."""

    async def install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def redirect(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    return [web.get(INSTALL_PATH, install), web.get(REDIRECT_PATH, redirect)]


class WorkspaceClients:
    """A Web API client with the token of one workspace, refreshed before it expires."""

    def __init__(
        self,
        store: DatabaseInstallationStore,
        base_url: str,
        rotator: AsyncTokenRotator | None = None,
    ) -> None:
        self.store = store
        self.base_url = base_url
        self.rotator = rotator

    async def token(self, team_id: str, enterprise_id: str = "") -> str | None:
        bot = await self.store.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None:
            return None
        if bot.bot_refresh_token and self.rotator is not None:
            fresh = await self.rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=ROTATE_BEFORE_MINUTES
            )
            if fresh is not None:
                await self.store.async_save_bot(fresh)
                return str(fresh.bot_token)
        return str(bot.bot_token)


class NotInstalled(Exception):
    """A message for a workspace that no longer has the app (it is not tried again)."""


class PerWorkspaceSender:
    """The outbox's Slack sender for several workspaces: one SlackSender per workspace, with
    that workspace's token (a new one once the token was rotated)."""

    def __init__(
        self, clients: WorkspaceClients, make: Callable[[AsyncWebClient], PlatformSend]
    ) -> None:
        self.clients = clients
        self.make = make
        self._senders: dict[str, tuple[str, PlatformSend]] = {}

    async def __call__(
        self, item: OutboxMessage, target: Target, message: Message
    ) -> ConversationRef | None:
        return await (await self.sender_for(target.workspace))(item, target, message)

    async def sender_for(self, team_id: str) -> PlatformSend:
        token = await self.clients.token(team_id)
        if token is None:
            raise NotInstalled("the app is not installed in this workspace")
        known = self._senders.get(team_id)
        if known is None or known[0] != token:
            client = AsyncWebClient(token=token, base_url=self.clients.base_url)
            known = (token, self.make(client))
            self._senders[team_id] = known
        return known[1]


@dataclass
class Installs:
    """Everything "Add to Slack" adds to `coulisse serve`."""

    flow: AsyncOAuthFlow
    store: DatabaseInstallationStore
    sender: PerWorkspaceSender
    routes: list[web.RouteDef]
    client: AsyncWebClient  # without a token: the API URL, for bolt's per-request clients


def installs(
    settings: Settings,
    engine: Any,
    clock: Clock,
    make_sender: Callable[[AsyncWebClient], PlatformSend],
) -> Installs:
    """From the settings: the database's installations, the OAuth flow, the outbox's sender."""
    sessions = session_factory(engine)
    store = DatabaseInstallationStore(
        SqlInstallations(sessions, TokenCipher(settings.token_keys)), clock
    )
    states = DatabaseStateStore(SqlOAuthStates(sessions, STATE_LIFETIME), clock)
    client = AsyncWebClient(base_url=settings.slack_api_url)
    public = settings.public_url.rstrip("/")
    flow = oauth_flow(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        store=store,
        states=states,
        client=client,
        redirect_uri=f"{public}{REDIRECT_PATH}" if public else None,
        authorization_url=settings.slack_oauth_authorize_url,
    )
    rotator = AsyncTokenRotator(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
        client=client,
    )  # fmt: skip
    sender = PerWorkspaceSender(
        WorkspaceClients(store, settings.slack_api_url, rotator), make_sender
    )
    return Installs(flow, store, sender, routes(flow), client)
