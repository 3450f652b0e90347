"""Settings, from the environment (or a .env file in the working directory). Every setting X
may also come from a file named by X_FILE (a mounted secret: Docker's, Kubernetes').

Read with the standard library, not pydantic-settings: `serve` holds these ~50 values for its
whole life, and pydantic alone was 9 MiB of its resident memory (issue 19's budget)."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prompts.catalog import language

if TYPE_CHECKING:  # imported where used: reading the settings needs none of the handlers
    from handlers.etiquette import NudgePolicy
    from handlers.loops import Bounds
    from handlers.people import WorkspaceDefaults


class SettingsError(ValueError):
    """One or more settings have a value Coulisse cannot use; the message names each."""


def llm_deadline(timeout: float, max_retries: int) -> float:
    """The most one assistant call may take, retries and Retry-After waits included: the
    client's timeout is per read, so a server that dribbles bytes would never hit it."""
    return timeout * (max_retries + 1)


def setting(
    *,
    default: Any,
    env: str,
    description: str = "",
    repr: bool = True,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """One setting: its default, the environment variable it is read from, and its bounds."""
    bounds = {"ge": ge, "gt": gt, "le": le, "choices": choices}
    meta = {"env": env, "description": description, **bounds}
    return dataclasses.field(default=default, repr=repr, metadata=meta)


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _dotenv(path: Path) -> dict[str, str]:
    """KEY=value lines; `#` comments, `export ` and matching quotes around the value allowed."""
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return values
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = re.sub(r"\s+#.*$", "", value)  # an unquoted value's trailing comment
        values[key.strip()] = value
    return values


def _from_file(env: str) -> str | None:
    """X_FILE=/run/secrets/x: X is the file's content, without its trailing newline."""
    path = os.environ.get(f"{env}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise SettingsError(f"{env}_FILE: {path} cannot be read ({exc.strerror})") from None


def _convert(kind: Any, raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw  # given in code (tests, the CLI): already typed
    if kind is bool:
        if raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ValueError("is not true or false")
    if kind in (int, float):
        try:
            return kind(raw.strip())
        except ValueError:
            raise ValueError(f"is not a{'n integer' if kind is int else ' number'}") from None
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return None if not raw.strip() else _convert(float, raw)  # `float | None`
    return raw


def _check(value: Any, meta: Mapping[str, Any]) -> None:
    if meta["choices"] and value not in meta["choices"]:
        raise ValueError(f"must be one of {', '.join(meta['choices'])}")
    if value is None or isinstance(value, str):
        return
    for bound, holds in (("ge", value.__ge__), ("gt", value.__gt__), ("le", value.__le__)):
        if meta[bound] is not None and not holds(meta[bound]):
            sign = {"ge": "≥", "gt": ">", "le": "≤"}[bound]
            raise ValueError(f"must be {sign} {meta[bound]:g}")


def _raw(
    spec: dataclasses.Field[Any], env: str, given: dict[str, Any], dotenv: dict[str, str]
) -> Any:
    """The first place that has the setting: given in code, the environment, X_FILE, .env."""
    for found in (given.pop(spec.name, given.pop(env, None)), os.environ.get(env)):
        if found is not None:
            return found
    if (found := _from_file(env)) is not None:
        return found
    return dotenv.get(env, spec.default)


class _Loaded:
    """Fills a settings dataclass: given in code > environment > X_FILE > .env > default."""

    def __init__(self, _env_file: str | Path | None = ".env", **given: Any) -> None:
        hints = typing.get_type_hints(type(self))
        dotenv = _dotenv(Path(_env_file)) if _env_file else {}
        errors: list[str] = []
        for spec in dataclasses.fields(self):  # type: ignore[arg-type]
            env = spec.metadata["env"]
            raw = _raw(spec, env, given, dotenv)
            try:
                value = _convert(hints[spec.name], raw)
                _check(value, spec.metadata)
            except ValueError as exc:
                errors.append(f"{env}: {exc}")
                continue
            setattr(self, spec.name, value)
        if given:
            raise TypeError(f"unknown settings: {', '.join(sorted(given))}")
        errors += self._problems() if not errors else []
        if errors:
            raise SettingsError("; ".join(errors))

    def _problems(self) -> list[str]:
        return []


@dataclasses.dataclass(init=False)
class Settings(_Loaded):
    database_url: str = setting(
        default="sqlite+aiosqlite:///coulisse.db",
        env="COULISSE_DATABASE_URL",
        repr=False,  # a PostgreSQL URL may hold its password
        description="SQLAlchemy URL; SQLite file in the working directory by default.",
    )
    default_language: str = setting(default="nl", env="COULISSE_LANGUAGE")
    timezone: str = setting(default="Europe/Amsterdam", env="COULISSE_TIMEZONE")
    log_level: str = setting(default="WARNING", env="COULISSE_LOG_LEVEL")
    log_format: str = setting(
        default="text",
        choices=("text", "json"),
        env="COULISSE_LOG_FORMAT",
        description="text, or json: one object a line with the event's id (bot/logs.py).",
    )
    slack_bot_token: str = setting(default="", env="SLACK_BOT_TOKEN", repr=False)
    slack_signing_secret: str = setting(default="", env="SLACK_SIGNING_SECRET", repr=False)
    slack_app_token: str = setting(default="", env="SLACK_APP_TOKEN", repr=False)
    slack_api_url: str = setting(default="https://slack.com/api/", env="COULISSE_SLACK_API_URL")
    slack_channel_interval: float = setting(
        default=1.0, ge=0, env="COULISSE_SLACK_CHANNEL_INTERVAL"
    )
    # "Add to Slack" (bot/slack/install.py): the app's OAuth credentials, and the key the
    # workspaces' tokens are encrypted with in the database.
    slack_client_id: str = setting(default="", env="SLACK_CLIENT_ID")
    slack_client_secret: str = setting(default="", env="SLACK_CLIENT_SECRET", repr=False)
    slack_oauth_authorize_url: str = setting(
        default="https://slack.com/oauth/v2/authorize",
        env="COULISSE_SLACK_AUTHORIZE_URL",
        description="Where /slack/install sends the browser (Slack's own page).",
    )
    token_key: str = setting(
        default="",
        env="COULISSE_TOKEN_KEY",
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

    microsoft_app_id: str = setting(default="", env="MICROSOFT_APP_ID")
    microsoft_app_password: str = setting(default="", env="MICROSOFT_APP_PASSWORD", repr=False)
    microsoft_app_tenant_id: str = setting(default="", env="MICROSOFT_APP_TENANT_ID")
    microsoft_app_type: str = setting(
        default="MultiTenant",
        env="MICROSOFT_APP_TYPE",
        description="MultiTenant, SingleTenant or UserAssignedMSI, as registered in Azure.",
    )
    microsoft_openid_metadata_url: str = setting(
        default="",
        env="MICROSOFT_OPENID_METADATA_URL",
        description="Where the Bot Framework's signing keys are published; empty: the public "
        "cloud's. For other clouds (e.g. government) and for tests with locally signed tokens.",
    )
    # A regional bot (EU data residency, docs/DEPLOY.md): the Bot Framework's endpoints as the
    # Azure Bot resource's region has them. Empty: botbuilder's public-cloud values.
    microsoft_oauth_url: str = setting(
        default="",
        env="MICROSOFT_OAUTH_URL",
        description="The Bot Framework token service: https://europe.token.botframework.com "
        "for a bot registered with European data residency.",
    )
    microsoft_channel_login_url: str = setting(
        default="",
        env="MICROSOFT_CHANNEL_LOGIN_URL",
        description="Where the bot gets its token for the channel connector "
        "(ToChannelFromBotLoginUrl).",
    )
    microsoft_channel_oauth_scope: str = setting(
        default="",
        env="MICROSOFT_CHANNEL_OAUTH_SCOPE",
        description="The scope of that token (ToChannelFromBotOAuthScope).",
    )
    microsoft_token_issuer: str = setting(
        default="",
        env="MICROSOFT_TOKEN_ISSUER",
        description="The issuer of the tokens the channels send (ToBotFromChannelTokenIssuer).",
    )
    allow_unauthenticated: bool = setting(
        default=False,
        env="COULISSE_ALLOW_UNAUTHENTICATED",
        description="Serve /api/messages without an app id (Bot Framework Emulator, tests).",
    )
    public_url: str = setting(
        default="",
        env="COULISSE_PUBLIC_URL",
        description="https://… where Teams reaches this server: it fetches causal maps from "
        "<url>/media/. Without it a map in Teams is shown as text.",
    )
    # The web view (bot/webapp/): served when a key is set; its links name COULISSE_PUBLIC_URL.
    web_key: str = setting(
        default="",
        env="COULISSE_WEB_KEY",
        repr=False,
        description="The secret the web view's sign-in links are signed with (HMAC-SHA256); "
        "at least 32 characters. Empty: no web view.",
    )
    web_frame_ancestors: str = setting(
        default="https://teams.microsoft.com https://*.teams.microsoft.com "
        "https://*.cloud.microsoft https://*.office.com",
        env="COULISSE_WEB_FRAME_ANCESTORS",
        description="Who may show the web view in a frame (the Teams tab): the CSP list.",
    )
    web_sso_metadata_url: str = setting(
        default="https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
        env="COULISSE_WEB_SSO_METADATA_URL",
        description="Where the keys of the Teams tab's Entra ID tokens are published.",
    )
    web_sso_audience: str = setting(
        default="",
        env="COULISSE_WEB_SSO_AUDIENCE",
        description="The tab's application ID URI (api://<host>/<app id>, as in the Teams "
        "package's webApplicationInfo); empty: the tab signs in by link only.",
    )
    # The web view's look (bot/webapp/assets.py): NL Design System tokens, one file per
    # municipality; the theme's class is read from the file.
    web_theme: str = setting(
        default="",
        env="COULISSE_WEB_THEME",
        description="A design tokens CSS file (an NL Design System theme, e.g. a municipality's "
        "*-design-tokens/dist/theme.css); empty: the bundled 'voorbeeld' theme.",
    )
    media_days: float = setting(
        default=7.0,
        gt=0,
        env="COULISSE_MEDIA_DAYS",
        description="Days a causal map's picture stays at its address for Teams.",
    )
    outbox_interval: float = setting(default=1.0, gt=0, env="COULISSE_OUTBOX_INTERVAL")
    outbox_lease: int = setting(
        default=10,
        ge=1,
        env="COULISSE_OUTBOX_LEASE",
        description="Seconds an outbox row stays with its worker; renewed while it works, so "
        "a dead worker's rows go out again within this.",
    )
    instance: str = setting(
        default="",
        env="COULISSE_INSTANCE",
        description="This process's name on its host (default: its port): a process started "
        "again under the same name sends what it held when it stopped at once.",
    )
    tick_interval: float = setting(default=30.0, gt=0, env="COULISSE_TICK_INTERVAL")
    nudge_daily_cap: int = setting(default=2, ge=1, env="COULISSE_NUDGE_DAILY_CAP")
    retention_days: int = setting(default=730, ge=0, env="COULISSE_RETENTION_DAYS")
    purge_hours: float = setting(
        default=24.0,
        ge=0,
        env="COULISSE_PURGE_HOURS",
        description="`coulisse serve` runs the retention purge at start and every this many "
        "hours (0: never; then run `coulisse purge` yourself).",
    )
    holidays_country: str = setting(default="NL", env="COULISSE_HOLIDAYS")
    # The LLM assistant: off unless both a key and a model are set.
    openai_api_key: str = setting(default="", env="OPENAI_API_KEY", repr=False)
    openai_base_url: str = setting(
        default="",
        env="OPENAI_BASE_URL",
        description="Any OpenAI-compatible server, e.g. one the municipality hosts itself.",
    )
    llm_model: str = setting(default="", env="COULISSE_LLM_MODEL")
    llm_timeout: float = setting(default=30.0, gt=0, env="COULISSE_LLM_TIMEOUT")
    llm_max_retries: int = setting(default=1, ge=0, le=5, env="COULISSE_LLM_MAX_RETRIES")
    llm_temperature: float | None = setting(
        default=None,
        ge=0,
        le=2,
        env="COULISSE_LLM_TEMPERATURE",
        description="Sent only when set: reasoning models refuse any but their own.",
    )
    llm_concurrency: int = setting(
        default=4,
        ge=1,
        le=32,
        env="COULISSE_LLM_CONCURRENCY",
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

    @property
    def workspace_defaults(self) -> WorkspaceDefaults:
        from handlers.people import WorkspaceDefaults

        return WorkspaceDefaults(language(self.default_language), self.timezone)

    @property
    def nudge_policy(self) -> NudgePolicy:
        from handlers.etiquette import NudgePolicy  # with the holiday calendars

        return NudgePolicy(daily_cap=self.nudge_daily_cap, country=self.holidays_country.upper())

    loop_max_length: int = setting(default=8, ge=2, le=20, env="COULISSE_LOOP_MAX_LENGTH")
    loop_max_count: int = setting(default=500, ge=1, env="COULISSE_LOOP_MAX_COUNT")

    @property
    def loop_bounds(self) -> Bounds:
        from handlers.loops import Bounds

        return Bounds(self.loop_max_length, self.loop_max_count)

    def _problems(self) -> list[str]:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return [f"COULISSE_TIMEZONE {self.timezone!r} is not an IANA time zone"]
        return []
