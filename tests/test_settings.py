"""Settings read with the standard library: every source in its order, every bound checked, and
a wrong value named in one line when `coulisse` starts (bot/config.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]


def test_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# a comment\nexport COULISSE_LANGUAGE=en\nCOULISSE_TICK_INTERVAL = 5  # seconds\n"
        "COULISSE_INSTANCE='from dotenv'\nCOULISSE_NUDGE_DAILY_CAP=3\n",
        encoding="utf-8",
    )
    secret = tmp_path / "secret"
    secret.write_text("from a file\n", encoding="utf-8")
    monkeypatch.setenv("COULISSE_INSTANCE_FILE", str(secret))
    monkeypatch.setenv("COULISSE_NUDGE_DAILY_CAP", "4")
    settings = Settings(_env_file=dotenv, retention_days=9)
    assert settings.default_language == "en"  # .env
    assert settings.tick_interval == 5.0  # .env, its comment left out, typed
    assert settings.instance == "from a file"  # X_FILE before .env, newline dropped
    assert settings.nudge_daily_cap == 4  # the environment before .env
    assert settings.retention_days == 9  # given in code before everything
    assert settings.outbox_lease == 10  # nowhere: the default


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("COULISSE_OUTBOX_LEASE", "0", "COULISSE_OUTBOX_LEASE: must be ≥ 1"),
        ("COULISSE_MEDIA_DAYS", "0", "COULISSE_MEDIA_DAYS: must be > 0"),
        ("COULISSE_LLM_MAX_RETRIES", "6", "COULISSE_LLM_MAX_RETRIES: must be ≤ 5"),
        ("COULISSE_LOG_FORMAT", "xml", "COULISSE_LOG_FORMAT: must be one of text, json"),
        ("COULISSE_TICK_INTERVAL", "soon", "COULISSE_TICK_INTERVAL: is not a number"),
        ("COULISSE_RETENTION_DAYS", "1.5", "COULISSE_RETENTION_DAYS: is not an integer"),
        ("COULISSE_ALLOW_UNAUTHENTICATED", "maybe", "is not true or false"),
        ("COULISSE_TIMEZONE", "Europe/Atlantis", "is not an IANA time zone"),
    ],
)
def test_wrong_values_are_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        Settings(_env_file=None)
    assert says in str(raised.value)


def test_typed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COULISSE_ALLOW_UNAUTHENTICATED", "Yes")
    monkeypatch.setenv("COULISSE_LLM_TEMPERATURE", "0.2")
    settings = Settings(_env_file=None)
    assert settings.allow_unauthenticated is True
    assert settings.llm_temperature == 0.2
    monkeypatch.setenv("COULISSE_LLM_TEMPERATURE", "")
    assert Settings(_env_file=None).llm_temperature is None


def test_secrets_stay_out_of_the_repr() -> None:
    settings = Settings(_env_file=None, slack_bot_token="xoxb-secret", web_key="k" * 32)
    assert "xoxb-secret" not in repr(settings) and "k" * 32 not in repr(settings)
    with pytest.raises(TypeError, match="unknown settings: colour"):
        Settings(_env_file=None, colour="red")


def test_the_command_line_names_a_wrong_setting(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COULISSE_OUTBOX_LEASE": "0",
        "COULISSE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/c.db",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "nudges", "list"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "coulisse: COULISSE_OUTBOX_LEASE: must be ≥ 1"
