"""The Synthesizer port over any OpenAI-compatible chat completions server (openai.AsyncOpenAI).

One request per task, no tools, structured output with a JSON schema, a short timeout and few
retries. The answer is validated here against the full schema (with the limits the API's strict
mode does not enforce); anything else becomes a Completion without data, so the handlers use
their fallbacks. Errors are logged by kind only: never the prompt, never the answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

from bot.config import Settings, llm_deadline
from handlers.drafts import MAX_LINKS, MAX_THEMES, Completion, Task
from prompts.llm_prompts import LANGUAGE_NAMES, render

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.shared_params import ResponseFormatJSONSchema

log = logging.getLogger(__name__)

MAX_ANSWER_TOKENS = 1200  # sent as max_completion_tokens: reasoning models refuse max_tokens
# Keywords OpenAI's strict structured outputs may refuse; the validator below still checks them.
_NOT_ON_THE_WIRE = {"minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum"}


def wire_schema(schema: Any) -> Any:
    """The schema as sent: the same shape without the limits strict mode does not support."""
    if isinstance(schema, dict):
        return {k: wire_schema(v) for k, v in schema.items() if k not in _NOT_ON_THE_WIRE}
    if isinstance(schema, list):
        return [wire_schema(v) for v in schema]
    return schema


def task_data(task: Task) -> str:
    """What participants wrote, as JSON: data to read, between boundaries it cannot know."""
    data: dict[str, Any] = {"session_question": task.question}
    if task.items:
        data["contributions"] = [
            {"number": i.number, "category": i.category, "text": i.text} for i in task.items
        ]
    if task.facts:
        data.update(task.facts)
    return json.dumps(data, ensure_ascii=False, indent=1)


def messages_for(task: Task, boundary: str) -> list[ChatCompletionMessageParam]:
    language = LANGUAGE_NAMES.get(task.language, "Dutch")
    user = render(
        task.kind,
        title=task.title,
        boundary=boundary,
        data=task_data(task),
        max_links=MAX_LINKS,
        max_themes=MAX_THEMES,
    )
    return [
        {"role": "system", "content": render("system", boundary=boundary, language=language)},
        {"role": "user", "content": user},
    ]


def _count(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and value >= 0 else None


def tokens_spent(usage: object) -> tuple[int, int]:
    """Prompt and completion tokens as whole numbers. Servers leave fields out or null (some
    send only `total_tokens`): a missing part is what the total leaves, else 0."""
    prompt = _count(getattr(usage, "prompt_tokens", None))
    completion = _count(getattr(usage, "completion_tokens", None))
    total = _count(getattr(usage, "total_tokens", None))
    if prompt is None:
        prompt = max(total - (completion or 0), 0) if total is not None else 0
    if completion is None:
        completion = max(total - prompt, 0) if total is not None else 0
    return prompt, completion


class OpenAISynthesizer:
    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str = "",
        timeout: float = 30.0,
        max_retries: int = 1,
        temperature: float | None = None,
    ) -> None:
        self.model = model
        self.temperature = temperature  # None: not sent (some models accept only their own)
        self.deadline = llm_deadline(timeout, max_retries)
        # openai (with its thousand pydantic models) is imported only when an assistant is
        # configured: `coulisse serve` without one starts without it.
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url or None,
            timeout=timeout,  # the client's own default is ten minutes
            max_retries=max_retries,
        )

    async def complete(self, task: Task) -> Completion:
        import openai  # already loaded by __init__
        from jsonschema import Draft202012Validator

        boundary = secrets.token_hex(8)
        answer_format: ResponseFormatJSONSchema = {
            "type": "json_schema",
            "json_schema": {
                "name": f"coulisse_{task.kind}",
                "schema": wire_schema(task.schema),
                "strict": True,
            },
        }
        try:
            async with asyncio.timeout(self.deadline):  # retries and Retry-After included
                response = await self.client.chat.completions.create(
                    model=self.model,
                    messages=messages_for(task, boundary),
                    max_completion_tokens=MAX_ANSWER_TOKENS,
                    temperature=openai.omit if self.temperature is None else self.temperature,
                    response_format=answer_format,
                )
        except TimeoutError:
            return self._failed("deadline")
        except openai.APITimeoutError:
            return self._failed("timeout")
        except openai.RateLimitError:
            return self._failed("rate_limited")
        except openai.APIStatusError as exc:
            return self._failed(f"http_{exc.status_code}")
        except openai.APIConnectionError:
            return self._failed("connection")
        except (openai.OpenAIError, ValueError) as exc:  # an answer the client cannot read
            return self._failed(type(exc).__name__)
        spent = tokens_spent(response.usage)
        content = response.choices[0].message.content if response.choices else None
        try:
            data = json.loads(content or "")
        except ValueError:
            return self._failed("invalid_json", *spent)
        if not isinstance(data, dict) or any(
            True for _ in Draft202012Validator(task.schema).iter_errors(data)
        ):
            return self._failed("schema", *spent)
        return Completion(data, *spent)

    @staticmethod
    def _failed(reason: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> Completion:
        log.warning("the LLM assistant's answer was not used: %s", reason)
        return Completion(None, prompt_tokens, completion_tokens, failure=reason)

    async def close(self) -> None:
        await self.client.close()


def synthesizer_from(settings: Settings) -> OpenAISynthesizer | None:
    """The assistant when configured (a key and a model), else None: the plain fallbacks."""
    if not settings.llm_configured:
        return None
    return OpenAISynthesizer(
        model=settings.llm_model,
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        temperature=settings.llm_temperature,
    )


def describe(settings: Settings) -> str:
    """One line on whether and where the assistant runs (no key shown)."""
    if not (settings.openai_api_key and settings.llm_model):
        return "off"
    where = settings.openai_base_url or "api.openai.com"
    return f"{settings.llm_model} at {where}"
