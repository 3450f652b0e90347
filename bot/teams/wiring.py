"""The Teams parts of one process, built from the settings, or a refusal to start.

botbuilder (with msrest, msal and their dependencies) is imported only once Teams is
configured: `coulisse serve` for Slack alone starts without it, so the Teams modules are
imported inside the functions below, not at the top.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.wiring import App

if TYPE_CHECKING:
    from bot.teams.adapter import TeamsAdapter
    from bot.teams.auth import TeamsCredentials
    from bot.teams.connector import Connector
    from bot.teams.endpoint import TeamsEndpoint
    from bot.teams.media import Pictures
    from bot.teams.pacing import Pacer
    from bot.teams.sender import TeamsSender

log = logging.getLogger(__name__)
# botbuilder's schema predates the `trigger` field Teams puts in every Action.Execute invoke;
# msrest warns about it on every vote. Real serialization errors are still logged.
logging.getLogger("msrest.serialization").setLevel(logging.ERROR)

UNAUTHENTICATED_WARNING = """
!!! COULISSE_ALLOW_UNAUTHENTICATED=1 and no MICROSOFT_APP_ID: /api/messages accepts activities
!!! from anyone, without checking who sent them. Only for the Bot Framework Emulator and tests;
!!! never on a reachable address.
"""


@dataclass
class Teams:
    adapter: TeamsAdapter
    endpoint: TeamsEndpoint
    sender: TeamsSender
    connector: Connector
    pictures: Pictures

    async def close(self) -> None:
        await self.adapter.close()
        await self.connector.close()


def refuse_or_warn(settings: Settings, other_platforms: bool) -> None:
    """For `coulisse serve`: say loudly what is unsafe, and stop when it must not start."""
    if not configured(settings) and other_platforms:
        return  # Teams is off: nothing to say, and nothing of botbuilder to import
    from bot.teams.auth import UnsafeConfiguration

    try:
        on = check(settings, other_platforms)
    except UnsafeConfiguration as problem:
        print(f"coulisse: refusing to start: {problem}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    if on and not settings.microsoft_app_id:
        print(UNAUTHENTICATED_WARNING, file=sys.stderr, flush=True)


def credentials_of(settings: Settings, openid_metadata_url: str = "") -> TeamsCredentials:
    from bot.teams.auth import TeamsCredentials

    return TeamsCredentials(
        settings.microsoft_app_id,
        settings.microsoft_app_password,
        settings.microsoft_app_tenant_id,
        settings.microsoft_app_type,
        openid_metadata_url or settings.microsoft_openid_metadata_url,
        oauth_url=settings.microsoft_oauth_url,
        channel_login_url=settings.microsoft_channel_login_url,
        channel_oauth_scope=settings.microsoft_channel_oauth_scope,
        token_issuer=settings.microsoft_token_issuer,
    )


def configured(settings: Settings) -> bool:
    """Whether the settings ask for Teams at all (an app id, or the unauthenticated switch)."""
    return bool(settings.microsoft_app_id or settings.allow_unauthenticated)


def check(settings: Settings, other_platforms: bool) -> bool:
    """Whether Teams is on; UnsafeConfiguration when the server must not start."""
    if not configured(settings) and other_platforms:
        return False  # Teams is off: nothing of botbuilder is needed
    from bot.teams.auth import UnsafeConfiguration

    credentials = credentials_of(settings)
    if credentials.enabled:
        problem = credentials.problem()
        if problem:
            raise UnsafeConfiguration(problem)
        return True
    if settings.allow_unauthenticated:
        log.warning("Teams: /api/messages is served WITHOUT authentication")
        return True
    if not other_platforms:
        raise UnsafeConfiguration(
            "MICROSOFT_APP_ID is not set, so /api/messages cannot check who is calling, and no "
            "other platform is configured. Set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD "
            "(see 'Run on Microsoft Teams' in the README); for the Bot Framework Emulator or "
            "tests only, COULISSE_ALLOW_UNAUTHENTICATED=1 serves it without authentication."
        )
    return False


def build_teams(
    settings: Settings, app: App, *, openid_metadata_url: str = "", pacer: Pacer | None = None
) -> Teams:
    from bot.attachments import Attachments
    from bot.teams.adapter import TeamsAdapter
    from bot.teams.auth import Authenticator
    from bot.teams.connector import Connector
    from bot.teams.endpoint import TeamsEndpoint
    from bot.teams.files import Handover
    from bot.teams.pacing import Pacer
    from bot.teams.sender import TeamsSender

    authenticator = Authenticator(credentials_of(settings, openid_metadata_url))
    connector = Connector(authenticator.token_source())
    attachments = Attachments(app.uow, app.coulisse.clock)
    pictures = pictures_of(settings, app)
    adapter = TeamsAdapter(
        app.coulisse, app.uow, connector, pacer=pacer or Pacer(), timezone=settings.timezone,
        handover=Handover(connector, attachments), pictures=pictures,
    )  # fmt: skip
    sender = TeamsSender(connector, adapter.conversations, adapter.pacer, attachments=attachments,
                         pictures=pictures)  # fmt: skip
    return Teams(adapter, TeamsEndpoint(adapter, authenticator), sender, connector, pictures)


def pictures_of(settings: Settings, app: App) -> Pictures:
    """Causal maps served for Teams at COULISSE_PUBLIC_URL/media/; without it, maps as text."""
    from bot.teams.media import Pictures
    from storage.db import session_factory
    from storage.media import SqlMedia

    url = settings.public_url.strip()
    if not url:
        log.warning(
            "Teams: COULISSE_PUBLIC_URL is not set, so Teams cannot fetch pictures from this "
            "server: causal maps are shown as text"
        )
    elif not url.startswith("https://"):
        log.warning("Teams: COULISSE_PUBLIC_URL is not https://; Teams shows HTTPS pictures only")
    lifetime = timedelta(days=settings.media_days)
    return Pictures(SqlMedia(session_factory(app.engine)), url, app.coulisse.clock, lifetime)


def slack_configured(settings: Settings) -> bool:
    one_workspace = settings.slack_bot_token and (
        settings.slack_signing_secret or settings.slack_app_token
    )
    installed = settings.slack_oauth_configured and settings.slack_signing_secret  # Add to Slack
    return bool(one_workspace or installed)
