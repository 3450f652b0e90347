"""The web view as a Teams tab: `coulisse teams-package --public-url https://…` adds a personal
tab, a channel tab and the app registration for single sign-on, and the manifest still
validates against the vendored Teams schema (v1.19)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.teams.package import PackageError, manifest, problems

APP_ID = "3f6d2a51-7c1e-4d0b-9a55-2f1e8c0b7a10"
PUBLIC = "https://coulisse.gemeente.example"


def test_the_tabs_are_declared_and_the_manifest_validates() -> None:
    data = manifest(APP_ID, PUBLIC)
    assert problems(data) == []
    (personal,) = data["staticTabs"]
    assert personal["contentUrl"] == f"{PUBLIC}/web/tab" and personal["scopes"] == ["personal"]
    (channel,) = data["configurableTabs"]
    assert channel["configurationUrl"] == f"{PUBLIC}/web/tab/config" and "team" in channel["scopes"]
    assert data["validDomains"] == ["coulisse.gemeente.example"]
    assert data["webApplicationInfo"] == {
        "id": APP_ID,
        "resource": f"api://coulisse.gemeente.example/{APP_ID}",
    }


def test_without_an_address_there_are_no_tabs() -> None:
    data = manifest(APP_ID)
    assert "staticTabs" not in data and "webApplicationInfo" not in data
    assert problems(data) == []


@pytest.mark.parametrize("url", ["http://coulisse.example", "coulisse.example", "https://"])
def test_a_tab_needs_an_https_address(url: str) -> None:
    with pytest.raises(PackageError, match="https"):
        manifest(APP_ID, url)


def test_the_command_puts_the_tabs_in_the_zip(tmp_path: Path) -> None:
    out = tmp_path / "teams.zip"
    result = CliRunner().invoke(
        app, ["teams-package", "--app-id", APP_ID, "--out", str(out), "--public-url", PUBLIC]
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        data = json.loads(archive.read("manifest.json"))
    assert data["staticTabs"][0]["websiteUrl"] == f"{PUBLIC}/web/"
