"""One HTTP core for every real provider client: timeouts, retries, error mapping, circuit breaker.

``ProviderHttp`` wraps an ``httpx.Client`` and returns parsed JSON or raises the typed errors of
``socialpulse.providers.base``:

* 401/403 → ``AuthError``, 404 → ``NotFoundError``, 429 and 5xx → ``TransientError`` (with
  ``retry_after`` from ``Retry-After``), other 4xx → ``PermanentError``, a 2xx body that is not
  JSON → ``PermanentError``, timeouts and connection errors → ``TransientError``.
* A provider refines this with ``error_mapper(response, endpoint) -> ProviderError | None``
  (YouTube's 403 ``quotaExceeded`` is a quota error, not an auth error); ``None`` falls back to
  the defaults above.
* ``TransientError`` is retried with tenacity: ``max_attempts`` attempts in all, exponential
  backoff with jitter, or the server's ``Retry-After`` when it gave one, capped at
  ``max_wait_seconds``. ``sleep`` is injectable so tests never wait.
* Each attempt passes through the ``CircuitBreaker`` of its platform and upstream origin
  (``get_breaker(platform, origin)``); the observer's ``before_call``
  runs once per logical call (before any request: a budget refusal sends nothing) and
  ``after_call`` once per attempt, failed attempts included.
* Every client it builds is an egress client (``socialpulse.kit.egress``): connections to
  private, loopback or link-local addresses are refused at connect time unless the operator
  allowed them, and the refusal is ``EgressDenied``, a ``PermanentError`` that is not retried
  and tells the breaker nothing about the platform.
* Messages never carry an upstream body: a JSON error's message field is kept (short, without
  markup), anything else is reduced to the status; every connection failure reads the same
  ("could not be reached"), so a message cannot tell an open port from a closed one.

Bodies: JSON (``json_body``), a form, ``multipart/form-data`` (``files``: media uploads) or raw
bytes (``content``: a blob or an upload chunk). ``request_raw`` returns a successful answer
undecoded, since resumable uploads answer ``308 Resume Incomplete`` or an empty ``201``.

Circuit breakers live in ``socialpulse.providers.breaker`` (re-exported here).
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from socialpulse.kit import egress
from socialpulse.providers.base import (
    ApiCall,
    AuthError,
    CallObserver,
    MalformedPayloadError,
    NotFoundError,
    NullObserver,
    PermanentError,
    ProviderError,
    TransientError,
    utcnow,
)
from socialpulse.providers.breaker import (
    MAX_IDLE_BREAKERS,
    CircuitBreaker,
    breaker_origin,
    get_breaker,
    reset_breakers,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_IDLE_BREAKERS",
    "USER_AGENT",
    "CircuitBreaker",
    "EgressDenied",
    "ErrorMapper",
    "JsonResponse",
    "ProviderHttp",
    "RawResponse",
    "breaker_origin",
    "clean_message",
    "default_error",
    "error_detail",
    "get_breaker",
    "parse_retry_after",
    "reset_breakers",
]

log = structlog.get_logger(__name__)

USER_AGENT = "socialpulse/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=10.0)

ErrorMapper = Callable[[httpx.Response, str], ProviderError | None]
"""``(response, endpoint_name) -> ProviderError | None``; called for every status >= 400."""


# --------------------------------------------------------------------------- error mapping


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or utcnow())).total_seconds())


class EgressDenied(PermanentError):
    """The egress policy refused to connect (a private, loopback or link-local address).

    Permanent: the same address will be refused again. No request left the server, so the
    breaker learns nothing from it and no quota is charged.
    """


_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
MESSAGE_LIMIT = 300  # long enough for the Graph API's own messages


def clean_message(value: object, limit: int = MESSAGE_LIMIT) -> str:
    """A platform's own error message, fit to show a user: markup and control characters
    removed, whitespace collapsed, cut at ``limit`` characters."""
    text = _TAG.sub(" ", str(value))
    text = "".join(c if c.isprintable() else " " for c in text)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def error_detail(response: httpx.Response, limit: int = MESSAGE_LIMIT) -> str:
    """The platform's message in a JSON error body (``error.message``, ``message``,
    ``error``, ``error_description``), cleaned; ``""`` for anything else.

    Never the raw body: an HTML page, a text body or an unknown JSON document may come from
    something that is not the platform at all, and is not the user's to read.
    """
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return ""
    if not isinstance(body, dict):
        return ""
    err = body.get("error")
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        return clean_message(err["message"], limit)  # Google style: {"error": {"message": ...}}
    parts = [
        str(body[key])
        for key in ("error", "message", "error_description")
        if isinstance(body.get(key), str)
    ]
    return clean_message(": ".join(dict.fromkeys(parts)), limit) if parts else ""


def default_error(
    platform: str, display_name: str, endpoint: str, response: httpx.Response
) -> ProviderError:
    """Map an HTTP error status to a typed error (used when no provider mapper decides)."""
    status = response.status_code
    detail = error_detail(response)
    message = f"{display_name} returned HTTP {status} for {endpoint}"
    if detail:
        message = f"{message}: {detail}"
    kwargs: dict[str, Any] = {"platform": platform, "endpoint": endpoint, "status_code": status}
    if status in (401, 403):
        return AuthError(message, **kwargs)
    if status == 404:
        return NotFoundError(message, **kwargs)
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return TransientError(message, retry_after=retry_after, **kwargs)
    return PermanentError(message, **kwargs)


# --------------------------------------------------------------------------- the client


@dataclass(frozen=True, slots=True)
class JsonResponse:
    """A decoded JSON body with the response headers (Mastodon paginates via ``Link``)."""

    data: Any
    status_code: int
    headers: httpx.Headers


@dataclass(frozen=True, slots=True)
class RawResponse:
    """A successful answer whose body is not decoded: an upload's ``308 Resume Incomplete``
    or an empty ``201``. Errors (status >= 400) are raised as for JSON calls."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


@dataclass(frozen=True, slots=True)
class _Answer:
    data: Any
    status_code: int
    headers: httpx.Headers
    content: bytes


# What a request sends besides its parameters: a JSON body, a form, raw bytes (an upload
# chunk) or multipart files (``{"file": (name, bytes, mime type)}``).
Files = Mapping[str, tuple[str, bytes, str]]


@dataclass(frozen=True, slots=True)
class _Body:
    json_body: Any = None
    form: dict[str, str] | None = None
    content: bytes | None = None
    files: Files | None = None


class ProviderHttp:
    """The HTTP core of one provider client. Thread-safe as ``httpx.Client`` is.

    ``platform`` names the breakers and the records; ``display_name`` appears in messages
    ("YouTube returned ..."). Pass ``client`` to reuse an ``httpx.Client`` (tests, connection
    pooling; build it with ``socialpulse.kit.egress.client`` outside tests); relative paths
    are joined to ``base_url`` (or, without one, to the client's own base URL); an absolute
    URL is used as is (Mastodon's ``Link`` pagination).
    """

    def __init__(
        self,
        platform: str,
        *,
        base_url: str | None = None,
        client: httpx.Client | None = None,
        observer: CallObserver | None = None,
        display_name: str | None = None,
        error_mapper: ErrorMapper | None = None,
        breaker: CircuitBreaker | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        max_attempts: int = 3,
        backoff_initial_seconds: float = 1.0,
        max_wait_seconds: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.platform = str(platform)
        self.display_name = display_name or self.platform
        self.observer: CallObserver = observer or NullObserver()
        self.error_mapper = error_mapper
        # A fixed breaker (tests, a caller that shares one) or, per request, the process-wide
        # breaker of the platform and the origin the request goes to (see ``breaker_for``).
        self.breaker = breaker
        self.max_attempts = max(1, max_attempts)
        self.backoff_initial_seconds = backoff_initial_seconds
        self.max_wait_seconds = max_wait_seconds
        self._sleep = sleep
        self._default_params = dict(params or {})
        self._extra_headers = {"User-Agent": USER_AGENT, **dict(headers or {})}
        # The base URL is ours, not the client's: a shared client serves several providers.
        self.base_url = base_url
        if client is None:
            self._client = egress.client(timeout=timeout)
            self._owns_client = True
        else:
            self._client = client
            self._owns_client = False

    # -- public API -----------------------------------------------------------------------

    def get_json(
        self,
        endpoint: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        quota_cost: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET ``path`` and return the decoded JSON body."""
        return self.request_json(
            "GET", endpoint, path, params=params, quota_cost=quota_cost, headers=headers
        ).data

    def post_json(
        self,
        endpoint: str,
        path: str,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        *,
        quota_cost: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """POST ``json_body`` to ``path`` and return the decoded JSON body."""
        return self.request_json(
            "POST",
            endpoint,
            path,
            params=params,
            json_body=json_body,
            quota_cost=quota_cost,
            headers=headers,
        ).data

    def request_json(
        self,
        method: str,
        endpoint: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        quota_cost: int = 1,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        files: Files | None = None,
        content: bytes | None = None,
    ) -> JsonResponse:
        """One logical call: budget check, then up to ``max_attempts`` attempts. ``form`` is
        sent form-encoded instead of ``json_body`` (OAuth token endpoints want it so); with
        ``files`` too, as ``multipart/form-data`` (media uploads); ``content`` is sent as the
        raw body (a blob upload; set its ``Content-Type`` in ``headers``)."""
        body = _Body(json_body, dict(form) if form is not None else None, content, files)
        response = self._call(method, endpoint, path, params, body, quota_cost, headers, True)
        return JsonResponse(
            data=response.data, status_code=response.status_code, headers=response.headers
        )

    def request_raw(
        self,
        method: str,
        endpoint: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        json_body: Any = None,
        quota_cost: int = 1,
        headers: Mapping[str, str] | None = None,
    ) -> RawResponse:
        """Like ``request_json``, but a successful body is returned undecoded (it may be empty
        or not JSON) and any status below 400 is an answer: resumable uploads speak in ``308``
        and ``206``. ``content`` is sent as the raw body (an upload chunk)."""
        body = _Body(json_body, None, content, None)
        response = self._call(method, endpoint, path, params, body, quota_cost, headers, False)
        return RawResponse(response.status_code, response.headers, response.content)

    def _call(
        self,
        method: str,
        endpoint: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: _Body,
        quota_cost: int,
        headers: Mapping[str, str] | None,
        decode: bool,
    ) -> _Answer:
        self.observer.before_call(self.platform, endpoint, quota_cost)
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        # None means "leave the parameter out" (e.g. no cursor on the first page).
        merged_params = {**self._default_params, **(params or {})}
        clean_params = {k: v for k, v in merged_params.items() if v is not None}
        result: _Answer = retrying(
            self._attempt,
            method,
            endpoint,
            path,
            clean_params,
            body,
            quota_cost,
            {**self._extra_headers, **dict(headers or {})},
            decode,
        )
        return result

    @contextmanager
    def parsing(self, endpoint: str) -> Iterator[None]:
        """Turn a parser's complaint about a payload into a ``PermanentError`` for ``endpoint``.

        ``MalformedPayloadError`` keeps its message; a ``KeyError``/``TypeError``/``ValueError``
        from an unexpected shape is reported as such rather than escaping as a bare bug.
        """
        try:
            yield
        except MalformedPayloadError as exc:
            log.warning(
                "provider.parse.failed", platform=self.platform, endpoint=endpoint, error=str(exc)
            )
            raise PermanentError(str(exc), platform=self.platform, endpoint=endpoint) from exc
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning(
                "provider.parse.failed", platform=self.platform, endpoint=endpoint, error=repr(exc)
            )
            # The exception's text may quote the payload: keep its type, and a missing key.
            detail = f": {clean_message(exc.args[0], 60)}" if isinstance(exc, KeyError) else ""
            raise PermanentError(
                f"{self.display_name} returned an unexpected {endpoint} response "
                f"({type(exc).__name__}{detail})",
                platform=self.platform,
                endpoint=endpoint,
            ) from exc

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> ProviderHttp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------

    def breaker_for(self, url: str) -> CircuitBreaker:
        """The breaker a request to ``url`` passes through."""
        return self.breaker or get_breaker(self.platform, url)

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")) or self.base_url is None:
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def _wait(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_wait_seconds)
        exponential = self.backoff_initial_seconds * 2 ** (retry_state.attempt_number - 1)
        jitter = random.uniform(0, self.backoff_initial_seconds)
        return min(exponential + jitter, self.max_wait_seconds)

    def _log_retry(self, retry_state: RetryCallState) -> None:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        next_action = retry_state.next_action
        log.info(
            "provider.call.retrying",
            platform=self.platform,
            endpoint=getattr(exc, "endpoint", None),
            attempt=retry_state.attempt_number,
            wait_seconds=next_action.sleep if next_action is not None else None,
            error=str(exc) if exc is not None else None,
        )

    def _attempt(
        self,
        method: str,
        endpoint: str,
        path: str,
        params: dict[str, Any],
        body: _Body,
        quota_cost: int,
        headers: dict[str, str],
        decode: bool = True,
    ) -> _Answer:
        url = self._url(path)
        breaker = self.breaker_for(url)
        breaker.before_call(endpoint)
        started = time.perf_counter()
        response: httpx.Response | None = None
        try:
            try:
                # httpx replaces a URL's own query with ``params``; an upload session URL
                # (``?upload_id=``) must keep it, so the two are merged.
                target = httpx.URL(url).copy_merge_params(params) if params else url
                response = self._client.request(
                    method,
                    target,
                    json=body.json_body,
                    data=body.form,
                    content=body.content,
                    files=body.files,
                    headers=headers,
                )
            except egress.EgressRefused as exc:
                raise EgressDenied(
                    f"{self.display_name}: {exc}", platform=self.platform, endpoint=endpoint
                ) from exc
            except httpx.TransportError as exc:
                # One message for refused, reset, timed out or not an HTTP server: the
                # difference would let a user map ports. The log keeps it for the operator.
                log.info(
                    "provider.call.unreachable",
                    platform=self.platform,
                    endpoint=endpoint,
                    cause=type(exc).__name__,
                )
                raise TransientError(
                    f"{self.display_name} could not be reached for {endpoint}",
                    platform=self.platform,
                    endpoint=endpoint,
                ) from exc
            if response.status_code >= 400:
                error = self.error_mapper(response, endpoint) if self.error_mapper else None
                raise error or default_error(self.platform, self.display_name, endpoint, response)
            data = self._decode(endpoint, response) if decode else None
        except ProviderError as exc:
            self._judge(breaker, response, exc)
            self._finish(endpoint, started, response, quota_cost, exc)
            raise
        except BaseException:
            # A bug or an interrupt, not a platform verdict: free a half-open trial slot.
            breaker.abort_trial()
            raise
        self._judge(breaker, response, None)
        self._finish(endpoint, started, response, quota_cost, None)
        return _Answer(data, response.status_code, response.headers, response.content)

    def _decode(self, endpoint: str, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            raise PermanentError(
                f"{self.display_name} returned an empty body for {endpoint}",
                platform=self.platform,
                endpoint=endpoint,
                status_code=response.status_code,
            )
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            content_type = response.headers.get("content-type", "no content type")
            raise PermanentError(
                f"{self.display_name} returned a body that is not JSON for {endpoint} "
                f"(HTTP {response.status_code}, {clean_message(content_type, 60)})",
                platform=self.platform,
                endpoint=endpoint,
                status_code=response.status_code,
            ) from exc

    @staticmethod
    def _judge(
        breaker: CircuitBreaker, response: httpx.Response | None, error: ProviderError | None
    ) -> None:
        """What one attempt says about the upstream.

        Transient (5xx, 429, timeout, unreachable): a failure. Any other answer, 4xx included
        (bad credentials, unknown account, a request the platform rejects, a body we cannot
        parse): the upstream is up. No answer for any other reason (a request refused before it
        left, e.g. by an egress policy): no verdict, so neither a failure nor a success.
        """
        if isinstance(error, TransientError):
            breaker.record_failure()
        elif response is not None:
            breaker.record_success()
        else:
            breaker.abort_trial()

    def _finish(
        self,
        endpoint: str,
        started: float,
        response: httpx.Response | None,
        quota_cost: int,
        error: ProviderError | None,
    ) -> None:
        latency_ms = (time.perf_counter() - started) * 1000.0
        status = response.status_code if response is not None else None
        # A request that got no response (timeout, refused) is not charged: the platform
        # never saw it, or we cannot know. Answered requests are charged, errors included,
        # as YouTube does.
        call = ApiCall(
            platform=self.platform,
            endpoint=endpoint,
            status_code=status,
            ok=error is None,
            latency_ms=latency_ms,
            quota_cost=quota_cost if response is not None else 0,
            error=None if error is None else f"{type(error).__name__}: {error}",
        )
        self.observer.after_call(call)
        if error is None:
            log.debug(
                "provider.call.succeeded",
                platform=self.platform,
                endpoint=endpoint,
                status_code=status,
                latency_ms=round(latency_ms, 1),
            )
        else:
            log.warning(
                "provider.call.failed",
                platform=self.platform,
                endpoint=endpoint,
                status_code=status,
                latency_ms=round(latency_ms, 1),
                error_type=type(error).__name__,
                error=str(error),
            )
