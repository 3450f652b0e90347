"""The database schema (SQLAlchemy Core). Migrations in `storage/migrations` must match it."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from handlers import model

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware datetimes in UTC on every backend (SQLite stores no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Json(sa.types.TypeDecorator[Any]):
    """JSON, kept as JSONB on PostgreSQL. SQLAlchemy's PostgreSQL dialect is imported only
    there: `with_variant(postgresql.JSONB())` made every process load it (18 ms, 2 MiB)."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())


JSON = _Json()


def enum(cls: type[StrEnum]) -> sa.Enum:
    return sa.Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda members: [m.value for m in members],
    )


def pk() -> sa.Column[Any]:
    return sa.Column("id", sa.Integer, primary_key=True)


def fk(name: str, target: str, nullable: bool = False, cascade: bool = True) -> sa.Column[Any]:
    return sa.Column(
        name,
        sa.Integer,
        sa.ForeignKey(f"{target}.id", ondelete="CASCADE" if cascade else "SET NULL"),
        nullable=nullable,
        index=True,
    )


workspaces = sa.Table(
    "workspaces",
    metadata,
    pk(),
    sa.Column("platform", enum(model.Platform), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.UniqueConstraint("platform", "external_id", name="uq_workspaces_platform_external"),
)

people = sa.Table(
    "people",
    metadata,
    pk(),
    fk("workspace_id", "workspaces"),
    sa.Column("platform_id", sa.String(255), nullable=False),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("organisation", sa.String(255), nullable=False),
    sa.Column("discipline", sa.String(255), nullable=False),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("quiet_start", sa.Time, nullable=False),
    sa.Column("quiet_end", sa.Time, nullable=False),
    sa.Column("nudges_paused", sa.Boolean, nullable=False),
    sa.Column("erased", sa.Boolean, nullable=False),
    # Whose public holidays keep nudges away (empty: read from the time zone).
    sa.Column("holiday_country", sa.String(8), nullable=False, server_default=""),
    sa.Column("holiday_region", sa.String(16), nullable=False, server_default=""),
    sa.UniqueConstraint("workspace_id", "platform_id", name="uq_people_workspace_platform_id"),
)

teams = sa.Table(
    "teams",
    metadata,
    pk(),
    fk("workspace_id", "workspaces"),
    sa.Column("channel_id", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("assistant", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.UniqueConstraint("workspace_id", "channel_id", name="uq_teams_workspace_channel"),
)

memberships = sa.Table(
    "memberships",
    metadata,
    pk(),
    fk("team_id", "teams"),
    fk("person_id", "people"),
    sa.Column("role", enum(model.Role), nullable=False),
    sa.UniqueConstraint("team_id", "person_id", name="uq_memberships_team_person"),
)

series = sa.Table(
    "series",
    metadata,
    pk(),
    fk("team_id", "teams"),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("format", sa.String(64), nullable=False),
    sa.Column("rrule", sa.String(512), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("on_holiday", sa.String(8), nullable=False, server_default="move"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    # An async series' round length in working days; None: a live series.
    sa.Column("round_days", sa.Integer),
)

sessions = sa.Table(
    "sessions",
    metadata,
    pk(),
    fk("team_id", "teams"),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("format", sa.String(64), nullable=False),
    fk("created_by", "people", nullable=True, cascade=False),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("anonymous", sa.Boolean, nullable=False),
    sa.Column("vote_budget", sa.Integer, nullable=False),
    sa.Column("status", enum(model.SessionStatus), nullable=False),
    sa.Column("starts_at", UTCDateTime),
    fk("series_id", "series", nullable=True, cascade=False),
    sa.Column("created_at", UTCDateTime),
    sa.Column("closed_at", UTCDateTime),
    sa.Column("mode", sa.String(8), nullable=False, server_default="live"),
    # The series' date this session is for (its start may have moved off a holiday): once.
    sa.Column("occurrence", UTCDateTime),
    # The team's causal map as it stood when the session closed (its summary and exports).
    sa.Column("map_snapshot", JSON),
    # One session per occurrence of a series (an index: SQLite adds it without a rebuild).
    sa.Index("uq_sessions_series_occurrence", "series_id", "occurrence", unique=True),
)

rounds = sa.Table(
    "rounds",
    metadata,
    pk(),
    fk("session_id", "sessions"),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", enum(model.RoundKind), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("categories", JSON, nullable=False),
    sa.Column("pillar", sa.String(32), nullable=False),
    sa.Column("status", enum(model.RoundStatus), nullable=False),
    sa.Column("opens_at", UTCDateTime),
    sa.Column("closes_at", UTCDateTime),
    sa.UniqueConstraint("session_id", "position", name="uq_rounds_session_position"),
)

themes = sa.Table(
    "themes",
    metadata,
    pk(),
    fk("round_id", "rounds"),
    sa.Column("title", sa.String(255), nullable=False),
    # Its answers' categories, comma-separated: a merged theme keeps each (handlers/themes.py).
    sa.Column("category", sa.String(255), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
)

contributions = sa.Table(
    "contributions",
    metadata,
    pk(),
    fk("round_id", "rounds"),
    fk("author_id", "people", nullable=True, cascade=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    fk("theme_id", "themes", nullable=True, cascade=False),
    sa.Column("created_at", UTCDateTime),
)

votes = sa.Table(
    "votes",
    metadata,
    pk(),
    fk("round_id", "rounds"),
    fk("person_id", "people", nullable=True, cascade=False),  # kept when the voter is forgotten
    fk("theme_id", "themes"),
    sa.Column("dots", sa.Integer, nullable=False),
    sa.UniqueConstraint("round_id", "person_id", "theme_id", name="uq_votes_round_person_theme"),
)

factors = sa.Table(
    "factors",
    metadata,
    pk(),
    fk("team_id", "teams"),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    # The team can influence it ("stuurbaar"): the map's questions go to these factors first.
    sa.Column("steerable", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("team_id", "key", name="uq_factors_team_key"),
)

links = sa.Table(
    "links",
    metadata,
    pk(),
    fk("team_id", "teams"),
    fk("source_id", "factors"),
    fk("target_id", "factors"),
    sa.Column("polarity", enum(model.Polarity), nullable=False),
    sa.Column("delay", sa.Boolean, nullable=False),
    fk("session_id", "sessions", nullable=True, cascade=False),
    fk("proposed_by", "people", nullable=True, cascade=False),
    sa.UniqueConstraint("team_id", "source_id", "target_id", name="uq_links_team_source_target"),
)

commitments = sa.Table(
    "commitments",
    metadata,
    pk(),
    fk("session_id", "sessions"),
    fk("team_id", "teams"),
    fk("owner_id", "people", nullable=True, cascade=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("mode", enum(model.CommitmentMode), nullable=False),
    sa.Column("status", enum(model.CommitmentStatus), nullable=False),
    sa.Column("co_owner_ids", JSON, nullable=False),
    fk("factor_id", "factors", nullable=True, cascade=False),
    sa.Column("loop_key", sa.String(255), nullable=False),
    sa.Column("iceberg_level", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime),
)

check_ins = sa.Table(
    "check_ins",
    metadata,
    pk(),
    fk("commitment_id", "commitments"),
    fk("person_id", "people", nullable=True, cascade=False),
    sa.Column("status", enum(model.CommitmentStatus), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime),
)

actors = sa.Table(
    "actors",
    metadata,
    pk(),
    fk("session_id", "sessions"),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("organisation", sa.String(255), nullable=False),
    sa.Column("interest", sa.Text, nullable=False),
    sa.Column("influence", sa.Integer, nullable=False),
    sa.Column("stance", sa.String(64), nullable=False),
)

forces = sa.Table(
    "forces",
    metadata,
    pk(),
    fk("session_id", "sessions"),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("direction", enum(model.ForceDirection), nullable=False),
    sa.Column("strength", sa.Integer, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    pk(),
    sa.Column("dedupe_key", sa.String(255), nullable=False, unique=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("destination", JSON, nullable=False),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    fk("person_id", "people", nullable=True, cascade=False),
    sa.Column("status", enum(model.OutboxStatus), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("lease_until", UTCDateTime),
    # Who holds the lease: a worker's stable name, and which start of that worker.
    sa.Column("leased_by", sa.String(255)),
    sa.Column("lease_run", sa.String(64)),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_outbox_status_due_at", "status", "due_at"),
)

inbox = sa.Table(
    "inbox",
    metadata,
    pk(),
    sa.Column("key", sa.String(255), nullable=False, unique=True),
    sa.Column("platform", enum(model.Platform), nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
)

# What a platform delivered, stored before it is acknowledged; removed in the transaction that
# handles it, so whatever is here was acknowledged and not yet handled (after a crash, a blip).
intake = sa.Table(
    "intake",
    metadata,
    pk(),
    sa.Column("key", sa.String(255), nullable=False, unique=True),
    sa.Column("platform", enum(model.Platform), nullable=False),
    sa.Column("event", JSON, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("worker", sa.String(120), nullable=False),
    sa.Column("lease_until", UTCDateTime, nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    # Handled, its replies not yet sent (None: not handled yet). See handlers/intake.py.
    sa.Column("replies", JSON, nullable=True),
)

conversation_refs = sa.Table(
    "conversation_refs",
    metadata,
    pk(),
    sa.Column("platform", enum(model.Platform), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("owner_id", sa.Integer, nullable=False),
    sa.Column("reference", JSON, nullable=False),
    sa.UniqueConstraint("platform", "scope", "owner_id", name="uq_conversation_refs_owner"),
)

audit = sa.Table(
    "audit",
    metadata,
    pk(),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    fk("actor_id", "people", nullable=True, cascade=False),
    sa.Column("subject", sa.String(255), nullable=False),
)

suggestions = sa.Table(
    "suggestions",
    metadata,
    pk(),
    fk("session_id", "sessions"),
    sa.Column("job", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("drafted_by", sa.String(16), nullable=False),
    sa.Column("status", enum(model.SuggestionStatus), nullable=False),
    sa.Column("created_at", UTCDateTime),
    sa.UniqueConstraint("session_id", "job", "kind", "position", name="uq_suggestions_job_item"),
)

assist_usage = sa.Table(
    "assist_usage",
    metadata,
    pk(),
    sa.Column(
        "session_id",
        sa.Integer,
        sa.ForeignKey("sessions.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("calls", sa.Integer, nullable=False),
    sa.Column("prompt_tokens", sa.Integer, nullable=False),
    sa.Column("completion_tokens", sa.Integer, nullable=False),
    sa.Column("fallbacks", sa.Integer, nullable=False),
)

# Pictures Teams fetches from the bot (bot/teams/media.py), under the SHA-256 of their URL's
# token, deleted once expired. Core only: no domain object.
media = sa.Table(
    "media",
    metadata,
    pk(),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# Slack workspaces installed through "Add to Slack" (storage/installations.py): one row per
# workspace (enterprise_id is "" outside Enterprise Grid), the tokens encrypted (Fernet).
# Core only: no domain object.
slack_installations = sa.Table(
    "slack_installations",
    metadata,
    pk(),
    sa.Column("enterprise_id", sa.String(32), nullable=False),
    sa.Column("team_id", sa.String(32), nullable=False),
    sa.Column("app_id", sa.String(32), nullable=False),
    sa.Column("bot_id", sa.String(32), nullable=False),
    sa.Column("bot_user_id", sa.String(32), nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("bot_token", sa.Text, nullable=False),  # encrypted
    sa.Column("refresh_token", sa.Text),  # encrypted; with token rotation only
    sa.Column("expires_at", UTCDateTime),  # when the bot token expires (token rotation)
    sa.Column("installed_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("enterprise_id", "team_id", name="uq_slack_installations_workspace"),
)

# The OAuth `state` of an install that has started (CSRF): any instance may get the callback.
oauth_states = sa.Table(
    "oauth_states",
    metadata,
    pk(),
    sa.Column("state", sa.String(64), nullable=False, unique=True),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# The web view (bot/webapp/): the links the bot sends by DM, each usable once (its nonce is
# kept here when it is used), the sessions they open (the cookie holds a secret whose SHA-256
# is kept, so a stolen database opens none), and who reads a team's trends for the
# municipality, granted per team by its coordinator.
web_links = sa.Table(
    "web_links",
    metadata,
    pk(),
    sa.Column("nonce", sa.String(64), nullable=False, unique=True),
    fk("person_id", "people"),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
    sa.Column("used_at", UTCDateTime),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    pk(),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    fk("person_id", "people"),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

web_readers = sa.Table(
    "web_readers",
    metadata,
    pk(),
    fk("team_id", "teams"),
    fk("person_id", "people"),
    fk("granted_by", "people", nullable=True, cascade=False),
    sa.Column("granted_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("team_id", "person_id", name="uq_web_readers_team_person"),
)

MAPPED: tuple[tuple[type, sa.Table], ...] = (
    (model.Workspace, workspaces),
    (model.Person, people),
    (model.Team, teams),
    (model.Membership, memberships),
    (model.Series, series),
    (model.Session, sessions),
    (model.Round, rounds),
    (model.Theme, themes),
    (model.Contribution, contributions),
    (model.Vote, votes),
    (model.Factor, factors),
    (model.Link, links),
    (model.Commitment, commitments),
    (model.CheckIn, check_ins),
    (model.Actor, actors),
    (model.Force, forces),
    (model.OutboxMessage, outbox),
    (model.InboundEvent, inbox),
    (model.ConversationRef, conversation_refs),
    (model.AuditEntry, audit),
    (model.Suggestion, suggestions),
    (model.AssistUsage, assist_usage),
)
