"""Slack workspaces installed with "Add to Slack": their bot tokens, encrypted at rest, and the
OAuth states of installs under way. In the database, so that every replica serves every
workspace and any of them may receive the OAuth callback.

Tokens are encrypted with Fernet (AES-128-CBC and HMAC-SHA256) under a key the operator keeps
outside the database (COULISSE_TOKEN_KEY or its _FILE): a copy of the database or a backup
holds no usable token. Several keys may be given, newest first: new tokens are encrypted with
the first, old ones still read with the others (rotate the key, then `reencrypt`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.model import OutboxStatus, Platform
from storage import tables as t


class NoTokenKey(Exception):
    """Installing in several workspaces needs a key to encrypt their tokens with."""


class TokenCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        keys = [k.strip() for k in keys if k.strip()]
        if not keys:
            raise NoTokenKey(
                "set COULISSE_TOKEN_KEY (or COULISSE_TOKEN_KEY_FILE) to a Fernet key, made "
                "with: python -c 'from cryptography.fernet import Fernet as F; "
                "print(F.generate_key().decode())'"
            )
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except ValueError:
            raise NoTokenKey(
                "COULISSE_TOKEN_KEY is not a Fernet key (32 url-safe base64 bytes)"
            ) from None

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise NoTokenKey(
                "a stored Slack token does not open with the configured keys"
            ) from None

    def rotate(self, sealed: str) -> str:
        """The same token under the newest key."""
        return self._fernet.rotate(sealed.encode()).decode()


@dataclass(frozen=True)
class SlackWorkspace:
    """One installation, its tokens decrypted (held in memory only)."""

    team_id: str
    enterprise_id: str
    app_id: str
    bot_id: str
    bot_user_id: str
    scopes: str
    bot_token: str
    refresh_token: str | None
    expires_at: datetime | None
    installed_at: datetime


class SqlInstallations:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], cipher: TokenCipher) -> None:
        self._sessions = sessions
        self.cipher = cipher

    async def save(self, w: SlackWorkspace) -> None:
        """Insert or replace the workspace's installation (a reinstall, a rotated token)."""
        c = t.slack_installations.c
        values = {
            "enterprise_id": w.enterprise_id,
            "team_id": w.team_id,
            "app_id": w.app_id,
            "bot_id": w.bot_id,
            "bot_user_id": w.bot_user_id,
            "scopes": w.scopes,
            "bot_token": self.cipher.encrypt(w.bot_token),
            "refresh_token": self.cipher.encrypt(w.refresh_token) if w.refresh_token else None,
            "expires_at": w.expires_at,
            "installed_at": w.installed_at,
        }
        where = (c.enterprise_id == w.enterprise_id, c.team_id == w.team_id)
        async with self._sessions() as s, s.begin():
            # Two replicas may store the same install at once: the unique key keeps one row,
            # and the loser updates it.
            updated = await s.execute(sa.update(t.slack_installations).where(*where).values(values))
            if not getattr(updated, "rowcount", 0):
                try:
                    async with s.begin_nested():
                        await s.execute(sa.insert(t.slack_installations).values(values))
                except sa.exc.IntegrityError:
                    await s.execute(sa.update(t.slack_installations).where(*where).values(values))

    async def find(self, team_id: str, enterprise_id: str = "") -> SlackWorkspace | None:
        c = t.slack_installations.c
        async with self._sessions() as s:
            found = await s.execute(
                sa.select(t.slack_installations).where(
                    c.team_id == team_id, c.enterprise_id == enterprise_id
                )
            )
            row = found.mappings().first()
        if row is None:
            return None
        return SlackWorkspace(
            team_id=row["team_id"],
            enterprise_id=row["enterprise_id"],
            app_id=row["app_id"],
            bot_id=row["bot_id"],
            bot_user_id=row["bot_user_id"],
            scopes=row["scopes"],
            bot_token=self.cipher.decrypt(row["bot_token"]),
            refresh_token=self.cipher.decrypt(row["refresh_token"])
            if row["refresh_token"]
            else None,
            expires_at=row["expires_at"],
            installed_at=row["installed_at"],
        )

    async def teams(self) -> list[str]:
        async with self._sessions() as s:
            return list((await s.scalars(sa.select(t.slack_installations.c.team_id))).all())

    async def remove(self, team_id: str, enterprise_id: str = "") -> int:
        """The app was uninstalled or its tokens revoked: the tokens go, and so do the
        workspace's messages still waiting in the outbox (nobody could send them). Returns
        how many messages were removed."""
        c = t.slack_installations.c
        o = t.outbox.c
        async with self._sessions() as s, s.begin():
            await s.execute(
                sa.delete(t.slack_installations).where(
                    c.team_id == team_id, c.enterprise_id == enterprise_id
                )
            )
            workspace = await s.scalar(
                sa.select(t.workspaces.c.id).where(
                    t.workspaces.c.platform == Platform.SLACK.value,
                    t.workspaces.c.external_id == team_id,
                )
            )
            if workspace is None:
                return 0
            people = set(
                await s.scalars(
                    sa.select(t.people.c.id).where(t.people.c.workspace_id == workspace)
                )
            )
            teams = set(
                await s.scalars(sa.select(t.teams.c.id).where(t.teams.c.workspace_id == workspace))
            )
            pending = await s.execute(
                sa.select(o.id, o.destination).where(o.status == OutboxStatus.PENDING.value)
            )
            doomed = [
                row_id
                for row_id, to in pending
                if (to.get("kind") == "dm" and int(to.get("id", 0)) in people)
                or (to.get("kind") == "channel" and int(to.get("id", 0)) in teams)
            ]
            if doomed:
                await s.execute(sa.delete(t.outbox).where(o.id.in_(doomed)))
            return len(doomed)

    async def reencrypt(self) -> int:
        """Every stored token under the newest key (after adding a key in front)."""
        c = t.slack_installations.c
        async with self._sessions() as s, s.begin():
            rows = (await s.execute(sa.select(c.id, c.bot_token, c.refresh_token))).all()
            for row_id, bot, refresh in rows:
                await s.execute(
                    sa.update(t.slack_installations)
                    .where(c.id == row_id)
                    .values(
                        bot_token=self.cipher.rotate(bot),
                        refresh_token=self.cipher.rotate(refresh) if refresh else None,
                    )
                )
        return len(rows)


class SqlOAuthStates:
    """One-time `state` values of installs under way (against cross-site request forgery)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], lifetime: timedelta) -> None:
        self._sessions = sessions
        self.lifetime = lifetime

    async def issue(self, now: datetime) -> str:
        state = secrets.token_urlsafe(32)
        o = t.oauth_states.c
        async with self._sessions() as s, s.begin():
            await s.execute(sa.delete(t.oauth_states).where(o.expires_at <= now))
            await s.execute(
                sa.insert(t.oauth_states).values(state=state, expires_at=now + self.lifetime)
            )
        return state

    async def consume(self, state: str, now: datetime) -> bool:
        """True once for a state issued here and not expired; never again."""
        o = t.oauth_states.c
        async with self._sessions() as s, s.begin():
            gone = await s.execute(
                sa.delete(t.oauth_states).where(o.state == state, o.expires_at > now)
            )
            return bool(getattr(gone, "rowcount", 0))
