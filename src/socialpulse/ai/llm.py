"""A chat model behind one small interface, spoken to over the OpenAI-compatible API.

``POST {base_url}/chat/completions`` with ``{"model", "messages"}`` is what Ollama
(``http://127.0.0.1:11434/v1``), vLLM (``http://host:8000/v1``), llama.cpp's ``llama-server``
(``http://host:8080/v1``) and hosted APIs all answer, so one client serves them all. The
answer's ``choices[0].message.content`` is the text and ``usage`` the token counts (a server
that reports none is recorded as zero tokens).

Like every outbound call it goes through the egress policy (``socialpulse.kit.egress``). The
main use is a model on the same machine, which the policy refuses as loopback; rather than
opening ``SOCIALPULSE_EGRESS_ALLOW`` to the whole loopback range, ``SOCIALPULSE_LLM_ALLOW_PRIVATE``
allows the model API's own host and nothing else.

Failures are typed and carry their HTTP status for the API: 429, 5xx, timeouts and unreachable
servers are retried (``max_attempts`` in all, honouring ``Retry-After``, else exponential
backoff with jitter); then, or at once for the rest, the caller gets:

* ``LlmUnavailable`` (503): unreachable, too slow, still rate limiting, or refused by the
  egress policy: the model may answer later, or the operator must configure it;
* ``LlmAuthFailed`` (502): 401/403, the key is wrong;
* ``LlmBadResponse`` (502): 5xx on every attempt, another 4xx, a body that is not JSON, or JSON
  without ``choices[0].message.content``.

Messages name the host, the status and the server's own short error message, never the body.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from socialpulse.config import Settings
from socialpulse.errors import AppError
from socialpulse.kit import egress
from socialpulse.providers.http import error_detail, parse_retry_after

__all__ = [
    "ChatMessage",
    "ChatModel",
    "Completion",
    "LlmAuthFailed",
    "LlmBadResponse",
    "LlmConfig",
    "LlmError",
    "LlmUnavailable",
    "OpenAICompatibleChat",
    "chat_model",
]

log = structlog.get_logger(__name__)

MAX_WAIT_SECONDS = 30.0  # a Retry-After longer than this is not waited out inside a request
BACKOFF_INITIAL_SECONDS = 1.0


class LlmError(AppError):
    """The model could not produce an answer (502 unless a subclass says otherwise)."""

    status_code = 502
    code = "llm_failed"


class LlmBadResponse(LlmError):
    code = "llm_bad_response"


class LlmAuthFailed(LlmError):
    code = "llm_auth_failed"


class LlmUnavailable(LlmError):
    status_code = 503
    code = "llm_unavailable"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # system, user or assistant
    content: str


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None = None


class ChatModel(Protocol):
    """What drafting needs from a model."""

    @property
    def model(self) -> str: ...

    def cost_cents(self, prompt_tokens: int, completion_tokens: int) -> int: ...

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion: ...


@dataclass(frozen=True, slots=True)
class LlmConfig:
    base_url: str
    model: str
    api_key: SecretStr | None = None
    allow_private: bool = False
    timeout_s: float = 60.0
    max_attempts: int = 3
    price_prompt_per_1k_cents: float = 0.0
    price_completion_per_1k_cents: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmConfig | None:
        """The configured model, or None when no model is set (offline suggestions)."""
        if not settings.llm_model.strip() or not settings.llm_base_url.strip():
            return None
        return cls(
            base_url=settings.llm_base_url.strip(),
            model=settings.llm_model.strip(),
            api_key=settings.llm_api_key,
            allow_private=settings.llm_allow_private,
            timeout_s=settings.llm_timeout_s,
            max_attempts=settings.llm_max_attempts,
            price_prompt_per_1k_cents=settings.llm_price_prompt_per_1k_cents,
            price_completion_per_1k_cents=settings.llm_price_completion_per_1k_cents,
        )

    @property
    def host(self) -> str:
        return (urlsplit(self.base_url).hostname or "").lower()


class _Retry(Exception):
    """One failed attempt worth another; ``final`` is what the caller gets if none is left."""

    def __init__(self, final: LlmError, retry_after: float | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after


class OpenAICompatibleChat:
    """``ChatModel`` over ``POST {base_url}/chat/completions``. ``client`` and ``sleep`` are
    for tests; without a client one egress client is built per call."""

    def __init__(
        self,
        config: LlmConfig,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        scheme = urlsplit(config.base_url).scheme
        if scheme not in ("http", "https") or not config.host:
            raise LlmUnavailable(
                f"SOCIALPULSE_LLM_BASE_URL must be an http(s) URL, e.g. "
                f"http://127.0.0.1:11434/v1; got {config.base_url!r}"
            )
        self.config = config
        self._client = client
        self._sleep = sleep

    @property
    def model(self) -> str:
        return self.config.model

    def cost_cents(self, prompt_tokens: int, completion_tokens: int) -> int:
        """Whole cents, rounded half up: ROI sums costs at cent resolution."""
        cost = (
            Decimal(prompt_tokens) * Decimal(str(self.config.price_prompt_per_1k_cents))
            + Decimal(completion_tokens) * Decimal(str(self.config.price_completion_per_1k_cents))
        ) / 1000
        return int(cost.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    # -- the call -----------------------------------------------------------------------------

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": False,
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.config.max_attempts)),
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            result: Completion = retrying(self._attempt, body)
        except _Retry as exc:
            log.warning("ai.llm.failed", host=self.config.host, error=str(exc.final))
            raise exc.final from exc
        return result

    def _policy(self) -> egress.EgressPolicy:
        base = egress.current_policy()
        if not self.config.allow_private:
            return base
        # The operator allowed the model server's own host, and only it.
        return dataclasses.replace(base, hosts=base.hosts | {self.config.host.strip("[]")})

    def _url(self) -> str:
        return self.config.base_url.rstrip("/") + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "socialpulse/0.1"}
        if self.config.api_key is not None and self.config.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self.config.api_key.get_secret_value()}"
        return headers

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        timeout = httpx.Timeout(self.config.timeout_s, connect=min(10.0, self.config.timeout_s))
        if self._client is not None:
            return self._client.post(self._url(), json=body, headers=self._headers())
        with egress.client(policy=self._policy, timeout=timeout) as client:
            return client.post(self._url(), json=body, headers=self._headers())

    def _attempt(self, body: dict[str, Any]) -> Completion:
        host = self.config.host
        try:
            response = self._post(body)
        except egress.EgressRefused as exc:
            raise LlmUnavailable(
                f"the model server {host} is a private or loopback address, which outbound "
                "requests may not reach; for a model on this machine or network set "
                "SOCIALPULSE_LLM_ALLOW_PRIVATE=true"
            ) from exc
        except httpx.TimeoutException as exc:
            raise _Retry(
                LlmUnavailable(
                    f"the model server {host} did not answer within "
                    f"{self.config.timeout_s:g} s ({self.config.max_attempts} attempts)"
                )
            ) from exc
        except httpx.TransportError as exc:
            log.info("ai.llm.unreachable", host=host, cause=type(exc).__name__)
            raise _Retry(
                LlmUnavailable(
                    f"the model server {host} could not be reached "
                    f"({self.config.max_attempts} attempts)"
                )
            ) from exc
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> Completion:
        host = self.config.host
        status = response.status_code
        if status >= 400:
            detail = error_detail(response)
            suffix = f": {detail}" if detail else ""
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if status in (401, 403):
                raise LlmAuthFailed(
                    f"the model server {host} refused the API key (HTTP {status}{suffix}); "
                    "check SOCIALPULSE_LLM_API_KEY"
                )
            if status == 429:
                raise _Retry(
                    LlmUnavailable(
                        f"the model server {host} is still rate limiting after "
                        f"{self.config.max_attempts} attempts (HTTP 429{suffix}); try later"
                    ),
                    retry_after,
                )
            if status >= 500:
                raise _Retry(
                    LlmBadResponse(
                        f"the model server {host} failed on all {self.config.max_attempts} "
                        f"attempts (HTTP {status}{suffix})"
                    ),
                    retry_after,
                )
            raise LlmBadResponse(
                f"the model server {host} refused the request (HTTP {status}{suffix}); "
                f"check SOCIALPULSE_LLM_MODEL ({self.config.model!r})"
            )
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise LlmBadResponse(
                f"the model server {host} answered HTTP {status} with a body that is not JSON"
            ) from None
        return self._completion(data)

    def _completion(self, data: Any) -> Completion:
        host = self.config.host
        choices = data.get("choices") if isinstance(data, dict) else None
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise LlmBadResponse(
                f"the model server {host} answered without choices[0].message.content "
                "(is SOCIALPULSE_LLM_BASE_URL an OpenAI-compatible /v1 URL?)"
            )
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return Completion(
            text=content,
            model=str(data.get("model") or self.config.model),
            prompt_tokens=_tokens(usage.get("prompt_tokens")),
            completion_tokens=_tokens(usage.get("completion_tokens")),
            finish_reason=first.get("finish_reason") if isinstance(first, dict) else None,
        )

    def _wait(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_WAIT_SECONDS)
        exponential = BACKOFF_INITIAL_SECONDS * 2 ** (retry_state.attempt_number - 1)
        return min(exponential + random.uniform(0, BACKOFF_INITIAL_SECONDS), MAX_WAIT_SECONDS)

    def _log_retry(self, retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        next_action = retry_state.next_action
        log.info(
            "ai.llm.retrying",
            host=self.config.host,
            attempt=retry_state.attempt_number,
            wait_seconds=next_action.sleep if next_action is not None else None,
            error=str(exc) if exc is not None else None,
        )


def _tokens(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def chat_model(settings: Settings) -> ChatModel | None:
    """The configured model, or None (offline suggestions)."""
    config = LlmConfig.from_settings(settings)
    return OpenAICompatibleChat(config) if config is not None else None
