"""`coulisse serve` with COULISSE_WEB_KEY serves the web view: a coordinator types `dashboard`
to the bot in a Slack DM (a signed request to the running server), gets the link from Slack's
fake Web API, opens it on the same server and sees My teams."""

from __future__ import annotations

import re

import aiohttp
import pytest

from handlers import dashboard
from prompts.catalog import t
from tests.conftest import eventually, slack_stack_on


@pytest.fixture
def web_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # As an operator sets it; the stack's Settings() reads the environment for the rest.
    monkeypatch.setenv("COULISSE_WEB_KEY", "w" * 40)
    monkeypatch.setenv("COULISSE_PUBLIC_URL", "https://coulisse.gemeente.example")


@pytest.mark.usefixtures("web_key")
async def test_a_slack_dm_gets_a_link_that_opens_my_teams_on_the_running_server(
    database_url: str,
) -> None:
    try:
        async with slack_stack_on(database_url) as stack:
            await stack.slack.command("U1", "help")  # U1 joins the team in C1: its coordinator
            assert await stack.slack.dm("U1", "dashboard") == 200
            link = re.compile(r"https://coulisse\.gemeente\.example/web/in\?t=([\w.\-]+)")
            await eventually(lambda: link.search(stack.api.texts()) is not None)
            found = link.search(stack.api.texts())
            assert found is not None
            async with aiohttp.ClientSession() as http:
                url = f"{stack.base}/web/in?t={found.group(1)}"  # the public address is a proxy's
                async with http.get(url, allow_redirects=False) as resp:
                    assert resp.status == 303
                    cookie = resp.headers["Set-Cookie"]
                    assert "Secure" in cookie  # served behind https: the cookie says so
                    secret = resp.cookies["coulisse_web"].value
                async with http.get(
                    f"{stack.base}/web/", headers={"Cookie": f"coulisse_web={secret}"}
                ) as page:
                    assert page.status == 200
                    assert t("nl", "web.teams_heading") in await page.text()
    finally:
        dashboard.configure(None)
