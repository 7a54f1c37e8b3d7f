"""ProviderHttp: status mapping, retries, observer records, budget hook, circuit breaker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx

from socialpulse.providers.base import (
    AuthError,
    BudgetDeferredError,
    CircuitOpenError,
    MalformedPayloadError,
    NotFoundError,
    PermanentError,
    ProviderError,
    QuotaExhaustedError,
    RecordingObserver,
    TransientError,
)
from socialpulse.providers.http import (
    MAX_IDLE_BREAKERS,
    USER_AGENT,
    CircuitBreaker,
    ProviderHttp,
    breaker_origin,
    get_breaker,
    parse_retry_after,
)

BASE = "https://api.example.test/v1/"


def make_http(
    sleeps: list[float],
    observer: RecordingObserver | None = None,
    breaker: CircuitBreaker | None = None,
    **kwargs: Any,
) -> ProviderHttp:
    return ProviderHttp(
        "example",
        base_url=BASE,
        display_name="Example",
        observer=observer,
        breaker=breaker or CircuitBreaker("example"),
        sleep=sleeps.append,
        **kwargs,
    )


@respx.mock
def test_get_json_returns_body_and_sends_user_agent_and_default_params(
    sleeps: list[float],
) -> None:
    route = respx.get(f"{BASE}items").mock(return_value=httpx.Response(200, json={"ok": True}))
    http = make_http(sleeps, params={"key": "k123"})

    assert http.get_json("example.items", "items", {"q": "x", "skip": None}) == {"ok": True}

    request = route.calls.last.request
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.url.params["key"] == "k123"
    assert request.url.params["q"] == "x"
    assert "skip" not in request.url.params


@respx.mock
def test_absolute_url_is_used_as_is(sleeps: list[float]) -> None:
    route = respx.get("https://other.example.test/x").mock(
        return_value=httpx.Response(200, json=[])
    )
    assert make_http(sleeps).get_json("example.x", "https://other.example.test/x") == []
    assert route.call_count == 1


def test_shared_client_base_url_is_left_alone(sleeps: list[float]) -> None:
    shared = httpx.Client(base_url="https://shared.example.test")
    ProviderHttp("example", base_url=BASE, client=shared, sleep=sleeps.append)
    assert str(shared.base_url) == "https://shared.example.test"


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (400, PermanentError),
        (422, PermanentError),
    ],
)
@respx.mock
def test_client_errors_map_to_typed_errors_without_retry(
    sleeps: list[float], status: int, error_type: type[ProviderError]
) -> None:
    route = respx.get(f"{BASE}items").mock(
        return_value=httpx.Response(status, json={"error": "nope"})
    )
    with pytest.raises(error_type) as excinfo:
        make_http(sleeps).get_json("example.items", "items")
    assert excinfo.value.status_code == status
    assert excinfo.value.platform == "example"
    assert excinfo.value.endpoint == "example.items"
    assert f"Example returned HTTP {status} for example.items: nope" == str(excinfo.value)
    assert route.call_count == 1
    assert sleeps == []


@respx.mock
def test_429_with_retry_after_is_retried_then_succeeds(sleeps: list[float]) -> None:
    observer = RecordingObserver()
    route = respx.get(f"{BASE}items").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "slow down"}),
            httpx.Response(200, json={"items": [1]}),
        ]
    )
    result = make_http(sleeps, observer).get_json("example.items", "items", quota_cost=2)

    assert result == {"items": [1]}
    assert route.call_count == 2
    assert sleeps == [7.0]
    assert [(c.status_code, c.ok, c.quota_cost) for c in observer.calls] == [
        (429, False, 2),
        (200, True, 2),
    ]
    assert observer.calls[0].error is not None
    assert "TransientError" in observer.calls[0].error


@respx.mock
def test_retry_after_is_capped(sleeps: list[float]) -> None:
    respx.get(f"{BASE}items").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "3600"}),
            httpx.Response(200, json={}),
        ]
    )
    make_http(sleeps, max_wait_seconds=30).get_json("example.items", "items")
    assert sleeps == [30.0]


@respx.mock
def test_persistent_500_surfaces_transient_error_after_bounded_attempts(
    sleeps: list[float],
) -> None:
    observer = RecordingObserver()
    route = respx.get(f"{BASE}items").mock(return_value=httpx.Response(500, text="boom"))

    with pytest.raises(TransientError, match="HTTP 500") as excinfo:
        make_http(sleeps, observer).get_json("example.items", "items")

    assert excinfo.value.status_code == 500
    assert route.call_count == 3
    assert len(sleeps) == 2
    # Exponential backoff with jitter: 1 s (+0..1) then 2 s (+0..1).
    assert 1.0 <= sleeps[0] <= 2.0
    assert 2.0 <= sleeps[1] <= 3.0
    assert [c.ok for c in observer.calls] == [False, False, False]


@respx.mock
def test_max_attempts_is_configurable(sleeps: list[float]) -> None:
    route = respx.get(f"{BASE}items").mock(return_value=httpx.Response(502))
    with pytest.raises(TransientError):
        make_http(sleeps, max_attempts=5).get_json("example.items", "items")
    assert route.call_count == 5


@respx.mock
def test_timeout_is_transient_and_not_charged(sleeps: list[float]) -> None:
    observer = RecordingObserver()
    respx.get(f"{BASE}items").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json={"ok": 1})]
    )
    assert make_http(sleeps, observer).get_json("example.items", "items") == {"ok": 1}
    first = observer.calls[0]
    assert (first.status_code, first.ok, first.quota_cost) == (None, False, 0)
    assert first.error is not None
    assert "could not be reached" in first.error


@respx.mock
def test_connection_error_is_transient(sleeps: list[float]) -> None:
    respx.get(f"{BASE}items").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransientError, match="could not be reached"):
        make_http(sleeps).get_json("example.items", "items")


@respx.mock
def test_invalid_json_is_permanent_with_clear_message(sleeps: list[float]) -> None:
    route = respx.get(f"{BASE}items").mock(
        return_value=httpx.Response(200, text="<html>maintenance</html>")
    )
    with pytest.raises(PermanentError, match="not JSON for example.items") as excinfo:
        make_http(sleeps).get_json("example.items", "items")
    assert "maintenance" not in str(excinfo.value)  # a body is never echoed to the user
    assert route.call_count == 1


@respx.mock
def test_empty_body_is_permanent(sleeps: list[float]) -> None:
    respx.get(f"{BASE}items").mock(return_value=httpx.Response(200, content=b""))
    with pytest.raises(PermanentError, match="empty body"):
        make_http(sleeps).get_json("example.items", "items")


@respx.mock
def test_post_json_sends_body(sleeps: list[float]) -> None:
    route = respx.post(f"{BASE}items").mock(return_value=httpx.Response(200, json={"id": 9}))
    assert make_http(sleeps).post_json("example.create", "items", {"name": "a"}) == {"id": 9}
    assert route.calls.last.request.content == b'{"name":"a"}'


@respx.mock
def test_error_mapper_overrides_default_and_none_falls_back(sleeps: list[float]) -> None:
    def mapper(response: httpx.Response, endpoint: str) -> ProviderError | None:
        if response.status_code == 403 and b"quota" in response.content:
            return QuotaExhaustedError(
                "quota", platform="example", endpoint=endpoint, retry_after=100.0
            )
        return None

    respx.get(f"{BASE}quota").mock(return_value=httpx.Response(403, json={"error": "quota"}))
    respx.get(f"{BASE}auth").mock(return_value=httpx.Response(403, json={"error": "denied"}))
    http = make_http(sleeps, error_mapper=mapper)

    with pytest.raises(QuotaExhaustedError) as excinfo:
        http.get_json("example.quota", "quota")
    assert excinfo.value.retry_after == 100.0
    with pytest.raises(AuthError):
        http.get_json("example.auth", "auth")


@respx.mock
def test_budget_deferral_prevents_the_http_call(sleeps: list[float]) -> None:
    observer = RecordingObserver(budget=3)
    route = respx.get(f"{BASE}items").mock(return_value=httpx.Response(200, json={}))
    http = make_http(sleeps, observer)

    http.get_json("example.items", "items", quota_cost=2)
    with pytest.raises(BudgetDeferredError, match="2 of the 3 unit daily budget") as excinfo:
        http.get_json("example.items", "items", quota_cost=2)

    assert excinfo.value.platform == "example"
    assert route.call_count == 1
    assert observer.deferred == [("example", "example.items", 2)]
    assert observer.spent("example") == 2


# --------------------------------------------------------------------------- circuit breaker


@respx.mock
def test_circuit_opens_after_five_failures_and_fails_fast_without_request(
    sleeps: list[float], breaker: CircuitBreaker
) -> None:
    route = respx.get(f"{BASE}items").mock(return_value=httpx.Response(503))
    http = make_http(sleeps, breaker=breaker, max_attempts=1)

    for _ in range(5):
        with pytest.raises(TransientError):
            http.get_json("example.items", "items")
    assert breaker.state == CircuitBreaker.OPEN

    with pytest.raises(CircuitOpenError) as excinfo:
        http.get_json("example.items", "items")
    assert route.call_count == 5
    assert excinfo.value.retry_after == pytest.approx(60.0)


@respx.mock
def test_open_circuit_stops_retries_mid_call(sleeps: list[float], breaker: CircuitBreaker) -> None:
    route = respx.get(f"{BASE}items").mock(return_value=httpx.Response(500))
    http = make_http(sleeps, breaker=breaker)  # 3 attempts per call

    with pytest.raises(TransientError):
        http.get_json("example.items", "items")  # attempts 1-3
    with pytest.raises(CircuitOpenError):
        http.get_json("example.items", "items")  # attempts 4-5 fail, the 6th is refused
    assert route.call_count == 5


@respx.mock
def test_circuit_half_opens_after_cooldown_and_closes_on_success(
    sleeps: list[float], breaker: CircuitBreaker, clock: Any
) -> None:
    route = respx.get(f"{BASE}items").mock(
        side_effect=[httpx.Response(500)] * 5 + [httpx.Response(200, json={"ok": 1})]
    )
    http = make_http(sleeps, breaker=breaker, max_attempts=1)
    for _ in range(5):
        with pytest.raises(TransientError):
            http.get_json("example.items", "items")

    clock.advance(59)
    with pytest.raises(CircuitOpenError):
        http.get_json("example.items", "items")
    clock.advance(1)
    assert breaker.state == CircuitBreaker.HALF_OPEN

    assert http.get_json("example.items", "items") == {"ok": 1}
    assert breaker.state == CircuitBreaker.CLOSED
    assert route.call_count == 6


@respx.mock
def test_failed_trial_reopens_circuit_for_another_cooldown(
    sleeps: list[float], breaker: CircuitBreaker, clock: Any
) -> None:
    route = respx.get(f"{BASE}items").mock(return_value=httpx.Response(500))
    http = make_http(sleeps, breaker=breaker, max_attempts=1)
    for _ in range(5):
        with pytest.raises(TransientError):
            http.get_json("example.items", "items")

    clock.advance(60)
    with pytest.raises(TransientError):
        http.get_json("example.items", "items")  # the one trial request
    assert breaker.state == CircuitBreaker.OPEN
    with pytest.raises(CircuitOpenError):
        http.get_json("example.items", "items")
    assert route.call_count == 6


@respx.mock
def test_non_transient_errors_do_not_count_towards_opening(
    sleeps: list[float], breaker: CircuitBreaker
) -> None:
    route = respx.get(f"{BASE}items").mock(
        side_effect=[httpx.Response(500)] * 4 + [httpx.Response(404)] + [httpx.Response(500)] * 4
    )
    http = make_http(sleeps, breaker=breaker, max_attempts=1)
    for _ in range(9):
        with pytest.raises((TransientError, NotFoundError)):
            http.get_json("example.items", "items")
    assert breaker.state == CircuitBreaker.CLOSED
    assert breaker.consecutive_failures == 4
    assert route.call_count == 9


def test_half_open_admits_a_single_trial(clock: Any) -> None:
    breaker = CircuitBreaker("x", failure_threshold=1, cooldown_seconds=10, clock=clock)
    breaker.record_failure()
    clock.advance(10)
    breaker.before_call("x.a")  # the trial
    with pytest.raises(CircuitOpenError):
        breaker.before_call("x.a")  # a concurrent caller
    breaker.abort_trial()
    breaker.before_call("x.a")  # a died trial gives its slot back


def test_breakers_are_shared_per_platform_and_origin() -> None:
    assert get_breaker("youtube") is get_breaker("youtube")
    assert get_breaker("youtube") is not get_breaker("bluesky")
    a = get_breaker("bluesky", "https://public.api.bsky.app/xrpc/app.bsky.actor.getProfile")
    assert a is get_breaker("bluesky", "https://PUBLIC.api.bsky.app:443/xrpc/other")
    assert a is not get_breaker("bluesky", "https://appview.example.test/xrpc/")
    assert a is not get_breaker("bluesky", "http://public.api.bsky.app/xrpc/")
    assert a is not get_breaker("bluesky", "https://public.api.bsky.app:8443/xrpc/")
    assert a is not get_breaker("mastodon", "https://public.api.bsky.app/xrpc/")


def test_breaker_origin_keeps_scheme_host_and_port() -> None:
    assert breaker_origin("https://Mastodon.Social/api/v1/x?y=1") == "https://mastodon.social:443"
    assert breaker_origin("http://localhost:3000/api") == "http://localhost:3000"
    assert breaker_origin("https://host.example./x") == "https://host.example:443"
    assert breaker_origin("https://host.example:99999/x") == ""  # unreadable port
    assert breaker_origin("relative/path") == ""


def test_idle_breakers_are_forgotten_when_there_are_too_many() -> None:
    failing = get_breaker("mastodon", "https://down.example.test/")
    failing.record_failure()
    for i in range(MAX_IDLE_BREAKERS + 10):
        get_breaker("mastodon", f"https://instance{i}.example.test/")
    # A breaker that counted a failure is kept; idle ones were dropped along the way.
    assert get_breaker("mastodon", "https://down.example.test/") is failing
    assert failing.consecutive_failures == 1


def _shared_http(platform: str, base_url: str, sleeps: list[float]) -> ProviderHttp:
    """A client as production builds it: no breaker given, so the process-wide ones apply."""
    return ProviderHttp(platform, base_url=base_url, sleep=sleeps.append, max_attempts=1)


@respx.mock
def test_failures_of_one_upstream_do_not_pause_another_of_the_same_platform(
    sleeps: list[float],
) -> None:
    dead = respx.get("https://dead-appview.example.test/xrpc/p").mock(
        return_value=httpx.Response(503)
    )
    public = respx.get("https://public.api.bsky.app/xrpc/p").mock(
        return_value=httpx.Response(200, json={"ok": True})
    )
    bad = _shared_http("bluesky", "https://dead-appview.example.test/xrpc/", sleeps)
    for _ in range(5):
        with pytest.raises(TransientError):
            bad.get_json("bluesky.p", "p")
    with pytest.raises(CircuitOpenError) as excinfo:
        bad.get_json("bluesky.p", "p")
    assert "dead-appview.example.test" in str(excinfo.value)
    assert dead.call_count == 5

    good = _shared_http("bluesky", "https://public.api.bsky.app/xrpc/", sleeps)
    assert good.get_json("bluesky.p", "p") == {"ok": True}
    assert public.call_count == 1


@respx.mock
def test_another_port_of_the_same_host_is_another_upstream(sleeps: list[float]) -> None:
    respx.get("http://public.api.bsky.app:81/xrpc/p").mock(side_effect=httpx.ConnectTimeout("x"))
    respx.get("https://public.api.bsky.app/xrpc/p").mock(
        return_value=httpx.Response(200, json={"ok": True})
    )
    bad = _shared_http("bluesky", "http://public.api.bsky.app:81/xrpc/", sleeps)
    for _ in range(6):
        with pytest.raises((TransientError, CircuitOpenError)):
            bad.get_json("bluesky.p", "p")
    good = _shared_http("bluesky", "https://public.api.bsky.app/xrpc/", sleeps)
    assert good.get_json("bluesky.p", "p") == {"ok": True}


@respx.mock
def test_absolute_urls_go_through_the_breaker_of_their_own_origin(sleeps: list[float]) -> None:
    respx.get("https://down.example.test/api/v1/x").mock(return_value=httpx.Response(502))
    respx.get("https://up.example.test/api/v1/x").mock(return_value=httpx.Response(200, json=[]))
    http = _shared_http("mastodon", "https://up.example.test/", sleeps)
    for _ in range(5):
        with pytest.raises(TransientError):
            http.get_json("mastodon.x", "https://down.example.test/api/v1/x")
    assert http.get_json("mastodon.x", "api/v1/x") == []
    assert get_breaker("mastodon", "https://down.example.test/").state == CircuitBreaker.OPEN
    assert get_breaker("mastodon", "https://up.example.test/").state == CircuitBreaker.CLOSED


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(401, json={"error": "AuthMissing"}),
        httpx.Response(403, json={"error": "forbidden"}),
        httpx.Response(404),
        httpx.Response(400, json={"error": "InvalidRequest"}),
        httpx.Response(422, json={"error": "validation"}),
        httpx.Response(200, text="<html>not json</html>"),
    ],
    ids=["401", "403", "404", "400", "422", "unparseable-200"],
)
@respx.mock
def test_credential_and_validation_failures_never_open_the_breaker(
    sleeps: list[float], response: httpx.Response
) -> None:
    route = respx.get("https://api.example.test/v1/items").mock(return_value=response)
    http = _shared_http("example", "https://api.example.test/v1/", sleeps)
    for _ in range(20):
        with pytest.raises((AuthError, NotFoundError, PermanentError)):
            http.get_json("example.items", "items")
    breaker = get_breaker("example", "https://api.example.test/")
    assert breaker.state == CircuitBreaker.CLOSED
    assert breaker.consecutive_failures == 0
    assert route.call_count == 20  # never failed fast


class _RefusingTransport(httpx.BaseTransport):
    """Refuses every request before it leaves, as an egress policy does."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise PermanentError(
            f"refused to connect to {request.url.host}", platform="example", endpoint="-"
        )


def test_a_request_refused_before_it_left_gives_no_verdict(sleeps: list[float], clock: Any) -> None:
    breaker = CircuitBreaker("example", failure_threshold=2, cooldown_seconds=10, clock=clock)
    http = ProviderHttp(
        "example",
        base_url=BASE,
        client=httpx.Client(transport=_RefusingTransport()),
        breaker=breaker,
        sleep=sleeps.append,
        max_attempts=1,
    )
    breaker.record_failure()
    for _ in range(5):
        with pytest.raises(PermanentError, match="refused"):
            http.get_json("example.items", "items")
    # Neither counted as a failure (it would have opened) nor as proof the upstream is up.
    assert breaker.state == CircuitBreaker.CLOSED
    assert breaker.consecutive_failures == 1


def test_breaker_rejects_nonsense_threshold() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CircuitBreaker("x", failure_threshold=0)


# --------------------------------------------------------------------------- helpers


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 10, 5, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_parsing_turns_malformed_payloads_into_permanent_errors(sleeps: list[float]) -> None:
    http = make_http(sleeps)
    with pytest.raises(PermanentError, match="^Example returned a thing without 'x'$") as excinfo:
        with http.parsing("example.items"):
            raise MalformedPayloadError("Example returned a thing without 'x'")
    assert excinfo.value.endpoint == "example.items"

    def parse_missing_key(payload: dict[str, int]) -> int:
        with http.parsing("example.items"):
            return payload["missing"]

    with pytest.raises(PermanentError, match="unexpected example.items response .KeyError"):
        parse_missing_key({})


# --- raw bodies and undecoded answers (uploads) ------------------------------------------------


@respx.mock
def test_a_url_s_own_query_is_kept_alongside_the_call_s_params(sleeps: list[float]) -> None:
    route = respx.put("https://upload.example.test/session").mock(return_value=httpx.Response(201))
    http = make_http(sleeps, params={"key": "k123"})
    http.request_raw("PUT", "example.upload", "https://upload.example.test/session?upload_id=u1")
    assert route.calls.last.request.url.params == httpx.QueryParams(upload_id="u1", key="k123")


@respx.mock
def test_request_raw_returns_a_308_undecoded_and_sends_the_raw_bytes(sleeps: list[float]) -> None:
    route = respx.put(f"{BASE}upload").mock(
        return_value=httpx.Response(308, headers={"Range": "bytes=0-3"})
    )
    answer = make_http(sleeps).request_raw(
        "PUT", "example.upload", "upload", content=b"0123", headers={"Content-Range": "bytes 0-3/9"}
    )
    assert answer.status_code == 308 and answer.headers["Range"] == "bytes=0-3"
    assert answer.content == b""
    assert route.calls.last.request.content == b"0123"


@respx.mock
def test_request_raw_maps_error_statuses_like_json_calls(sleeps: list[float]) -> None:
    respx.put(f"{BASE}upload").mock(
        return_value=httpx.Response(400, json={"error": {"message": "bad chunk"}})
    )
    with pytest.raises(PermanentError, match="bad chunk"):
        make_http(sleeps).request_raw("PUT", "example.upload", "upload", content=b"x")


@respx.mock
def test_files_are_sent_as_multipart_with_their_form_fields(sleeps: list[float]) -> None:
    route = respx.post(f"{BASE}media").mock(return_value=httpx.Response(200, json={"id": "m1"}))
    data = (
        make_http(sleeps)
        .request_json(
            "POST",
            "example.media",
            "media",
            form={"description": "alt text"},
            files={"file": ("a.jpg", b"jpeg-bytes", "image/jpeg")},
        )
        .data
    )
    request = route.calls.last.request
    assert data == {"id": "m1"}
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="description"\r\n\r\nalt text' in request.content
    assert b'filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\njpeg-bytes' in request.content
