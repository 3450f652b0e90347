"""Who may talk to the bot, and how the bot proves who it is.

Incoming: botbuilder validates the Bot Framework JWT (signature from the OpenID metadata, issuer,
audience = our app id, expiry, the serviceUrl claim). Every way that can fail — no header, a
token that is not a JWT, an expired one, one for another app — is a 401 here; botbuilder itself
lets some of them escape as exceptions that become 500s.

Outgoing: botbuilder's credentials (MSAL) give the bearer token our connector sends.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from types import SimpleNamespace

from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult, AuthenticationConstants

from bot.teams.connector import TokenSource, no_token

log = logging.getLogger(__name__)

APP_TYPES = ("multitenant", "singletenant", "userassignedmsi")


class Unauthorized(Exception):
    """The request is not from the Bot Framework for this bot."""


class UnsafeConfiguration(Exception):
    """The Teams settings would serve /api/messages unsafely or not at all."""


@dataclass(frozen=True)
class TeamsCredentials:
    app_id: str = ""
    password: str = ""
    tenant_id: str = ""
    app_type: str = "MultiTenant"
    # Where the signing keys are published. Only tests change it (a fake on loopback).
    openid_metadata_url: str = ""
    # A regional bot's endpoints (EU data residency); empty: the public cloud's.
    oauth_url: str = ""
    channel_login_url: str = ""
    channel_oauth_scope: str = ""
    token_issuer: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.app_id)

    def problem(self) -> str | None:
        """What is missing for this app type, in words for the operator."""
        kind = self.app_type.lower()
        if kind not in APP_TYPES:
            return f"MICROSOFT_APP_TYPE must be MultiTenant, SingleTenant or UserAssignedMSI, not {self.app_type!r}"  # noqa: E501
        if kind != "userassignedmsi" and not self.password:
            return "MICROSOFT_APP_ID is set without MICROSOFT_APP_PASSWORD"
        if kind != "multitenant" and not self.tenant_id:
            return f"MICROSOFT_APP_TYPE={self.app_type} needs MICROSOFT_APP_TENANT_ID"
        return None

    def botbuilder_configuration(self) -> SimpleNamespace:
        config = SimpleNamespace(
            APP_ID=self.app_id,
            APP_PASSWORD=self.password,
            APP_TENANTID=self.tenant_id,
            APP_TYPE=self.app_type,
        )
        chosen = {
            "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": self.openid_metadata_url,
            "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": self.openid_metadata_url,
            "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": self.token_issuer,
            "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": self.channel_oauth_scope,
            "TO_CHANNEL_FROM_BOT_LOGIN_URL": self.channel_login_url,
            "OAUTH_URL": self.oauth_url,
        }
        if any(chosen.values()):
            # Any of these switches botbuilder to its parameterized cloud, which needs them all:
            # same checks, our URLs, the public cloud's where none is set.
            for name, value in chosen.items():
                setattr(config, name, value or getattr(AuthenticationConstants, name))
        return config


class Authenticator:
    def __init__(self, credentials: TeamsCredentials) -> None:
        self.credentials = credentials
        self.configuration = credentials.botbuilder_configuration()
        self.botbuilder = ConfigurationBotFrameworkAuthentication(self.configuration)

    async def authenticate(self, activity: Activity, header: str) -> AuthenticateRequestResult:
        if not self.credentials.enabled:
            header = ""  # nothing is checked without an app id (the Emulator, tests)
        elif not header:
            raise Unauthorized("no Authorization header")
        try:
            return await self.botbuilder.authenticate_request(activity, header)
        except Exception as exc:  # PermissionError, jwt errors, a key we do not know, …
            raise Unauthorized(type(exc).__name__) from None

    def token_source(self) -> TokenSource:
        """Bearer tokens for calls to the connector (none without an app id)."""
        if not self.credentials.enabled:
            return no_token
        factory = ConfigurationServiceClientCredentialFactory(self.configuration)
        cache: list[object] = []

        async def token() -> str:
            if not cache:
                cache.append(
                    await factory.create_credentials(
                        self.credentials.app_id,
                        self.credentials.channel_oauth_scope
                        or AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
                        self.credentials.channel_login_url
                        or AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL,
                        True,
                    )
                )
            # MSAL caches the token and is synchronous: keep it off the event loop.
            return str(await asyncio.to_thread(cache[0].get_access_token))  # type: ignore[attr-defined]

        return token
