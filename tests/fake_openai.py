"""A fake OpenAI-compatible server on loopback: real HTTP, `POST /v1/chat/completions`.

It records every request and answers like a small, obedient model: it reads the data block of
the prompt and fills in the schema the request asks for, or misbehaves on demand (a stall, 500,
429, content that is not JSON, JSON that breaks the schema, a body that is not JSON at all).
Token counts are words and punctuation marks, a stable stand-in for a tokenizer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fake_slack import free_port

MODES = ("ok", "timeout", "500", "429", "malformed", "schema", "garbage", "dribble", "retry_after")
_DATA = re.compile(r"^BEGIN DATA (\w+)\n(.*)\nEND DATA \1$", re.M | re.S)
_TOKEN = re.compile(r"\w+|[^\w\s]")

Answer = Callable[[str, dict[str, Any]], dict[str, Any]]


def tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def prompt_data(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON the prompt carries between its boundary lines."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    found = _DATA.search(user)
    assert found, "the prompt has no data block"
    return dict(json.loads(found.group(2)))


def task_kind(body: dict[str, Any]) -> str:
    return str(body["response_format"]["json_schema"]["name"]).removeprefix("coulisse_")


def language(body: dict[str, Any]) -> str:
    """The language the system prompt asks for ("nl" or "en")."""
    system = next(m["content"] for m in body["messages"] if m["role"] == "system")
    return "en" if "Write in English" in system else "nl"


def sensible(kind: str, data: dict[str, Any], lang: str = "nl") -> dict[str, Any]:
    """What a well-behaved model might answer, made from the data it was given, in the
    session's language: Dutch prose full of everyday words ("dan", "als", "met") that must
    reach the chat as they are."""
    items = data.get("contributions", [])
    dutch = lang == "nl"
    if kind == "round":
        links = []
        for item in items:
            for word in (" leads to ", " zorgt voor "):
                if word in item["text"]:
                    cause, effect = item["text"].split(word, 1)
                    links.append(
                        {
                            "cause": cause.strip()[:60],
                            "effect": effect.strip(" .")[:60],
                            "polarity": "+",
                            "contribution": item["number"],
                        }
                    )
        named = "; ".join(i["text"][:40] for i in items[:3])
        if dutch:
            synthesis = (
                f"Modelsynthese: het team noemt {named}. Meer dan de helft ziet dat het langer "
                "duurt dan verwacht, en dan blijven gezinnen wachten."
            )
            question = "Modelvraag: wie staat waar rond deze vraag, en wat gebeurt er dan?"
        else:
            synthesis = f"Model synthesis: the team names {named}."
            question = "Model question: who stands where around this question?"
        return {"synthesis": synthesis, "links": links[:5], "question": question}
    if kind == "grouping":
        by_category: dict[str, list[int]] = {}
        for item in items:
            by_category.setdefault(item["category"] or "other", []).append(item["number"])
        theme = "Modelthema" if dutch else "Model theme"
        return {
            "themes": [
                {"title": f"{theme} {category}", "contributions": numbers}
                for category, numbers in by_category.items()
            ]
        }
    themes, commitments = len(data.get("themes", [])), len(data.get("commitments", []))
    if dutch:
        paragraph = (
            f"Modelverhaal: het team werkte aan {themes} thema's en nam {commitments} afspraken "
            "op zich. Dan volgt de vraag wie wat oppakt."
        )
    else:
        paragraph = (
            f"Model narrative: the team worked on {themes} themes "
            f"and took on {commitments} commitments."
        )
    return {"paragraph": paragraph}


def broken(kind: str) -> dict[str, Any]:
    """Valid JSON that breaks the schema (a wrong type, a missing field)."""
    wrong: dict[str, dict[str, Any]] = {"round": {"synthesis": 42}, "grouping": {"themes": "a"}}
    return wrong.get(kind, {"para": "x"})


@dataclass
class FakeOpenAI:
    url: str = ""
    mode: str = "ok"
    script: list[str] = field(default_factory=list)  # modes for the next requests, in order
    stall: float = 5.0
    answer: Answer | None = None  # replaces `sensible`
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    only_total: bool = False  # usage as some servers send it: prompt/completion null
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.completions)
        return app

    @property
    def kinds(self) -> list[str]:
        return [task_kind(body) for body in self.requests]

    def sent_text(self) -> str:
        """Everything that reached the server, as one string (for privacy checks)."""
        return "\n".join(json.dumps(body, ensure_ascii=False) for body in self.requests)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        mode = self.script.pop(0) if self.script else self.mode
        if "max_tokens" in body:  # as reasoning models do: only max_completion_tokens
            error = {"message": "Unsupported parameter: 'max_tokens'. Use 'max_completion_tokens'.",
                     "type": "invalid_request_error", "param": "max_tokens"}  # fmt: skip
            return web.json_response({"error": error}, status=400)
        retry = {"retry-after-ms": "1"}
        if mode == "500":
            return web.json_response({"error": {"message": "boom"}}, status=500, headers=retry)
        if mode == "429":
            return web.json_response({"error": {"message": "slow down"}}, status=429, headers=retry)
        if mode == "retry_after":  # a server that asks for a full minute's patience
            return web.json_response(
                {"error": {"message": "slow down"}}, status=429, headers={"retry-after": "60"}
            )
        if mode == "dribble":  # one byte a second: no single read ever times out
            return await self._dribble(request)
        if mode == "garbage":
            return web.Response(text="<html>proxy error", content_type="application/json")
        if mode == "timeout":
            with contextlib.suppress(TimeoutError):  # released early when the test ends
                await asyncio.wait_for(self._released.wait(), self.stall)
        kind = task_kind(body)
        if mode == "malformed":
            content = '{"synthesis": "half an answer'
        elif mode == "schema":
            content = json.dumps(broken(kind))
        else:
            data = prompt_data(body)
            made = self.answer(kind, data) if self.answer else sensible(kind, data, language(body))
            content = json.dumps(made, ensure_ascii=False)
        prompt = tokens(" ".join(m["content"] for m in body["messages"]))
        completion = tokens(content)
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_800_000_000,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": None if self.only_total else prompt,
                    "completion_tokens": None if self.only_total else completion,
                    "total_tokens": prompt + completion,
                },
            }
        )

    async def _dribble(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "application/json"})
        await response.prepare(request)
        for byte in b'{"id": "chatcmpl-slow", "object": "chat.completion", "choices": []}':
            if self._released.is_set():
                break
            with contextlib.suppress(ConnectionError):
                await response.write(bytes([byte]))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), 1.0)
        return response

    async def stop(self, runner: web.AppRunner) -> None:
        """Let stalled requests go, then stop (a cleanup waits for handlers still running)."""
        self._released.set()
        await runner.cleanup()

    async def start(self) -> web.AppRunner:
        runner = web.AppRunner(self.app())
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}/v1"
        return runner
