"""Settings, from the environment (or a .env file in the working directory). Every setting X
may also come from a file named by X_FILE (a mounted secret: Docker's, Kubernetes')."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from prompts.catalog import language

if TYPE_CHECKING:  # imported where used: reading the settings needs none of the handlers
    from handlers.etiquette import NudgePolicy
    from handlers.loops import Bounds
    from handlers.people import WorkspaceDefaults


def llm_deadline(timeout: float, max_retries: int) -> float:
    """The most one assistant call may take, retries and Retry-After waits included: the
    client's timeout is per read, so a server that dribbles bytes would never hit it."""
    return timeout * (max_retries + 1)


class FromFiles(PydanticBaseSettingsSource):
    """X_FILE=/run/secrets/x: X is the file's content, without its trailing newline. X itself,
    when set, wins; a file that cannot be read stops the start, with its name."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all the work is in __call__

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field in self.settings_cls.model_fields.values():
            alias = field.validation_alias
            if isinstance(alias, str) and (path := os.environ.get(f"{alias}_FILE")):
                try:
                    values[alias] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
                except OSError as exc:
                    raise ValueError(
                        f"{alias}_FILE: {path} cannot be read ({exc.strerror})"
                    ) from None
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = FromFiles(settings_cls)
        return init_settings, env_settings, files, dotenv_settings, file_secret_settings

    database_url: str = Field(
        default="sqlite+aiosqlite:///coulisse.db",
        validation_alias="COULISSE_DATABASE_URL",
        description="SQLAlchemy URL; SQLite file in the working directory by default.",
    )
    default_language: str = Field(default="nl", validation_alias="COULISSE_LANGUAGE")
    timezone: str = Field(default="Europe/Amsterdam", validation_alias="COULISSE_TIMEZONE")
    log_level: str = Field(default="WARNING", validation_alias="COULISSE_LOG_LEVEL")
    log_format: str = Field(
        default="text",
        pattern="^(text|json)$",
        validation_alias="COULISSE_LOG_FORMAT",
        description="text, or json: one object a line with the event's id (bot/logs.py).",
    )
    slack_bot_token: str = Field(default="", validation_alias="SLACK_BOT_TOKEN", repr=False)
    slack_signing_secret: str = Field(
        default="", validation_alias="SLACK_SIGNING_SECRET", repr=False
    )
    slack_app_token: str = Field(default="", validation_alias="SLACK_APP_TOKEN", repr=False)
    slack_api_url: str = Field(
        default="https://slack.com/api/", validation_alias="COULISSE_SLACK_API_URL"
    )
    slack_channel_interval: float = Field(
        default=1.0, ge=0, validation_alias="COULISSE_SLACK_CHANNEL_INTERVAL"
    )
    # "Add to Slack" (bot/slack/install.py): the app's OAuth credentials, and the key the
    # workspaces' tokens are encrypted with in the database.
    slack_client_id: str = Field(default="", validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: str = Field(default="", validation_alias="SLACK_CLIENT_SECRET", repr=False)
    slack_oauth_authorize_url: str = Field(
        default="https://slack.com/oauth/v2/authorize",
        validation_alias="COULISSE_SLACK_AUTHORIZE_URL",
        description="Where /slack/install sends the browser (Slack's own page).",
    )
    token_key: str = Field(
        default="",
        validation_alias="COULISSE_TOKEN_KEY",
        repr=False,
        description="Fernet key(s), comma-separated, newest first, for tokens at rest.",
    )

    @property
    def slack_oauth_configured(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def token_keys(self) -> list[str]:
        """The token keys (COULISSE_TOKEN_KEY or its _FILE: commas or lines), newest first."""
        return [key.strip() for key in self.token_key.replace("\n", ",").split(",") if key.strip()]

    microsoft_app_id: str = Field(default="", validation_alias="MICROSOFT_APP_ID")
    microsoft_app_password: str = Field(
        default="", validation_alias="MICROSOFT_APP_PASSWORD", repr=False
    )
    microsoft_app_tenant_id: str = Field(default="", validation_alias="MICROSOFT_APP_TENANT_ID")
    microsoft_app_type: str = Field(
        default="MultiTenant",
        validation_alias="MICROSOFT_APP_TYPE",
        description="MultiTenant, SingleTenant or UserAssignedMSI, as registered in Azure.",
    )
    microsoft_openid_metadata_url: str = Field(
        default="",
        validation_alias="MICROSOFT_OPENID_METADATA_URL",
        description="Where the Bot Framework's signing keys are published; empty: the public "
        "cloud's. For other clouds (e.g. government) and for tests with locally signed tokens.",
    )
    # A regional bot (EU data residency, docs/DEPLOY.md): the Bot Framework's endpoints as the
    # Azure Bot resource's region has them. Empty: botbuilder's public-cloud values.
    microsoft_oauth_url: str = Field(
        default="",
        validation_alias="MICROSOFT_OAUTH_URL",
        description="The Bot Framework token service: https://europe.token.botframework.com "
        "for a bot registered with European data residency.",
    )
    microsoft_channel_login_url: str = Field(
        default="",
        validation_alias="MICROSOFT_CHANNEL_LOGIN_URL",
        description="Where the bot gets its token for the channel connector "
        "(ToChannelFromBotLoginUrl).",
    )
    microsoft_channel_oauth_scope: str = Field(
        default="",
        validation_alias="MICROSOFT_CHANNEL_OAUTH_SCOPE",
        description="The scope of that token (ToChannelFromBotOAuthScope).",
    )
    microsoft_token_issuer: str = Field(
        default="",
        validation_alias="MICROSOFT_TOKEN_ISSUER",
        description="The issuer of the tokens the channels send (ToBotFromChannelTokenIssuer).",
    )
    allow_unauthenticated: bool = Field(
        default=False,
        validation_alias="COULISSE_ALLOW_UNAUTHENTICATED",
        description="Serve /api/messages without an app id (Bot Framework Emulator, tests).",
    )
    public_url: str = Field(
        default="",
        validation_alias="COULISSE_PUBLIC_URL",
        description="https://… where Teams reaches this server: it fetches causal maps from "
        "<url>/media/. Without it a map in Teams is shown as text.",
    )
    # The web view (bot/webapp/): served when a key is set; its links name COULISSE_PUBLIC_URL.
    web_key: str = Field(
        default="",
        validation_alias="COULISSE_WEB_KEY",
        repr=False,
        description="The secret the web view's sign-in links are signed with (HMAC-SHA256); "
        "at least 32 characters. Empty: no web view.",
    )
    web_frame_ancestors: str = Field(
        default="https://teams.microsoft.com https://*.teams.microsoft.com "
        "https://*.cloud.microsoft https://*.office.com",
        validation_alias="COULISSE_WEB_FRAME_ANCESTORS",
        description="Who may show the web view in a frame (the Teams tab): the CSP list.",
    )
    web_sso_metadata_url: str = Field(
        default="https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
        validation_alias="COULISSE_WEB_SSO_METADATA_URL",
        description="Where the keys of the Teams tab's Entra ID tokens are published.",
    )
    web_sso_audience: str = Field(
        default="",
        validation_alias="COULISSE_WEB_SSO_AUDIENCE",
        description="The tab's application ID URI (api://<host>/<app id>, as in the Teams "
        "package's webApplicationInfo); empty: the tab signs in by link only.",
    )
    # The web view's look (bot/webapp/assets.py): NL Design System tokens, one file per
    # municipality; the theme's class is read from the file.
    web_theme: str = Field(
        default="",
        validation_alias="COULISSE_WEB_THEME",
        description="A design tokens CSS file (an NL Design System theme, e.g. a municipality's "
        "*-design-tokens/dist/theme.css); empty: the bundled 'voorbeeld' theme.",
    )
    media_days: float = Field(
        default=7.0,
        gt=0,
        validation_alias="COULISSE_MEDIA_DAYS",
        description="Days a causal map's picture stays at its address for Teams.",
    )
    outbox_interval: float = Field(default=1.0, gt=0, validation_alias="COULISSE_OUTBOX_INTERVAL")
    outbox_lease: int = Field(
        default=10,
        ge=1,
        validation_alias="COULISSE_OUTBOX_LEASE",
        description="Seconds an outbox row stays with its worker; renewed while it works, so "
        "a dead worker's rows go out again within this.",
    )
    instance: str = Field(
        default="",
        validation_alias="COULISSE_INSTANCE",
        description="This process's name on its host (default: its port): a process started "
        "again under the same name sends what it held when it stopped at once.",
    )
    tick_interval: float = Field(default=30.0, gt=0, validation_alias="COULISSE_TICK_INTERVAL")
    nudge_daily_cap: int = Field(default=2, ge=1, validation_alias="COULISSE_NUDGE_DAILY_CAP")
    retention_days: int = Field(default=730, ge=0, validation_alias="COULISSE_RETENTION_DAYS")
    purge_hours: float = Field(
        default=24.0,
        ge=0,
        validation_alias="COULISSE_PURGE_HOURS",
        description="`coulisse serve` runs the retention purge at start and every this many "
        "hours (0: never; then run `coulisse purge` yourself).",
    )
    holidays_country: str = Field(default="NL", validation_alias="COULISSE_HOLIDAYS")
    # The LLM assistant: off unless both a key and a model are set.
    openai_api_key: str = Field(default="", validation_alias="OPENAI_API_KEY", repr=False)
    openai_base_url: str = Field(
        default="",
        validation_alias="OPENAI_BASE_URL",
        description="Any OpenAI-compatible server, e.g. one the municipality hosts itself.",
    )
    llm_model: str = Field(default="", validation_alias="COULISSE_LLM_MODEL")
    llm_timeout: float = Field(default=30.0, gt=0, validation_alias="COULISSE_LLM_TIMEOUT")
    llm_max_retries: int = Field(default=1, ge=0, le=5, validation_alias="COULISSE_LLM_MAX_RETRIES")
    llm_temperature: float | None = Field(
        default=None,
        ge=0,
        le=2,
        validation_alias="COULISSE_LLM_TEMPERATURE",
        description="Sent only when set: reasoning models refuse any but their own.",
    )
    llm_concurrency: int = Field(
        default=4,
        ge=1,
        le=32,
        validation_alias="COULISSE_LLM_CONCURRENCY",
        description="Assistant jobs run at once per process (their own outbox lane).",
    )

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key and self.llm_model)

    @property
    def llm_deadline(self) -> float:
        return llm_deadline(self.llm_timeout, self.llm_max_retries)

    @property
    def lease_seconds(self) -> int:
        """How long a worker holds the assistant's outbox rows. A job may take the whole
        deadline, and a batch may start it just before handing back at half the lease: the
        lease must outlast that, or a second worker calls the model again."""
        if not self.llm_configured:
            return self.outbox_lease
        return max(self.outbox_lease, math.ceil(2 * self.llm_deadline) + 10)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"COULISSE_TIMEZONE {name!r} is not an IANA time zone") from None
        return name

    @property
    def workspace_defaults(self) -> WorkspaceDefaults:
        from handlers.people import WorkspaceDefaults

        return WorkspaceDefaults(language(self.default_language), self.timezone)

    @property
    def nudge_policy(self) -> NudgePolicy:
        from handlers.etiquette import NudgePolicy  # with the holiday calendars

        return NudgePolicy(daily_cap=self.nudge_daily_cap, country=self.holidays_country.upper())

    loop_max_length: int = Field(
        default=8, ge=2, le=20, validation_alias="COULISSE_LOOP_MAX_LENGTH"
    )
    loop_max_count: int = Field(default=500, ge=1, validation_alias="COULISSE_LOOP_MAX_COUNT")

    @property
    def loop_bounds(self) -> Bounds:
        from handlers.loops import Bounds

        return Bounds(self.loop_max_length, self.loop_max_count)
