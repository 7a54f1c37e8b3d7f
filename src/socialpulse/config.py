"""Settings from the environment (`SOCIALPULSE_*`) and `.env`.

The secret key is never a hard-coded default: when none is configured, one is generated on
first start and kept in `<data_dir>/secret_key` (mode 0600) so sessions and encrypted
credentials survive restarts. A key shorter than MIN_SECRET_KEY_BYTES, configured or on
disk, stops the start with a ConfigError.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# 256 bits: the key signs session cookies; a short one can be guessed offline from a cookie.
MIN_SECRET_KEY_BYTES = 32


class ConfigError(Exception):
    """A setting that cannot work; the CLI and the app print its message as one line.

    Not a ValueError: raised outside validation, it must not be mistaken for bad input."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOCIALPULSE_", env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(default=Path("data"), description="Where embedded state lives.")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; empty means SQLite at <data_dir>/socialpulse.db."
    )
    tasks_url: str = Field(
        default="",
        description="Empty: embedded Huey on SQLite (<data_dir>/tasks.db). redis://...: workers.",
    )
    media_root: Path = Field(
        default=Path("data/media"), description="Local media storage (default <data_dir>/media)."
    )
    secret_key: SecretStr | None = Field(default=None, description="Signs sessions, keys creds.")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(default=False, description="One JSON object per log line.")
    request_log_sample: int = Field(
        default=10,
        ge=1,
        description="At INFO, log 1 in N successful, fast GET requests (every error, slow "
        "request and write is logged; /metrics counts every request). 1 logs them all.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL, used in printed links. Unset: http://<host>:<port> of "
        "`socialpulse serve` (127.0.0.1 when it binds every address), so SOCIALPULSE_PORT "
        "alone moves the links too.",
    )
    host: str = Field(default="127.0.0.1", description="Bind address of `socialpulse serve`.")
    port: int = Field(default=8000, description="Port of `socialpulse serve`.")
    secure_cookies: bool = Field(
        default=False, description="Mark session cookies Secure (set true behind HTTPS)."
    )
    session_max_age_s: int = Field(
        default=14 * 24 * 3600, description="Dashboard login lifetime in seconds."
    )
    embedded_worker: bool | None = Field(
        default=None,
        description="Run the task consumer inside the web process. Default: yes for the "
        "embedded SQLite queue, no for Redis (run `socialpulse worker` instead).",
    )
    worker_threads: int = Field(default=2, description="Embedded consumer threads.")
    read_threads: int | None = Field(
        default=None,
        ge=1,
        description="Threads of a web process that run dashboard pages and API reads; unset: "
        "2 on SQLite (reads there are CPU work that more threads only slow down), anyio's "
        "default pool (40) on PostgreSQL.",
    )
    daily_fetch_time: dt.time = Field(
        default=dt.time(3, 0),
        description="When the daily fetch of every account starts, in each workspace's zone.",
    )
    job_lease_s: int = Field(default=300, description="How long a claimed job row is leased.")
    login_rate_limit: str = Field(
        default="5/minute;30/hour", description="Login attempts allowed per email and per IP."
    )
    ai_backend: Literal["default", "accurate", "hf"] = Field(
        default="default",
        description="Text analysis backend of ingestion (captions, comments) and of API and CLI "
        "calls that name none: default (numpy, shipped arrays), accurate (MiniLM, `make "
        "accurate`) or hf (the local Hugging Face model in ai_hf_model_dir).",
    )
    ai_hf_model_dir: Path | None = Field(
        default=None,
        description="A local Hugging Face sequence-classification model directory "
        "(config.json, model.safetensors, tokenizer.json) for the hf backend.",
    )
    ai_cache_dir: Path | None = Field(
        default=None,
        description="Where derived model files are written once and reused (the accurate "
        "backend's fine-tuned e5 model file, about 72 MB); empty: $XDG_CACHE_HOME/socialpulse "
        "or ~/.cache/socialpulse.",
    )
    ai_hf_languages: str = Field(
        default="en",
        description="Comma-separated ISO 639-1 codes of the languages the hf model reads, or * "
        "for any; text in another language gets no sentiment guess from it.",
    )
    # Outbound requests (SSRF): what private addresses may be reached, and the Bluesky AppView.
    egress_allow: str = Field(
        default="",
        description="Comma-separated CIDRs, addresses, host names or *.suffixes that outbound "
        "requests may reach although private (e.g. 10.0.0.0/8,mastodon.lan); empty: public "
        "addresses only.",
    )
    bluesky_appview_url: str = Field(
        default="https://public.api.bsky.app/xrpc/",
        description="The Bluesky AppView read by every workspace (an operator choice, never a "
        "user credential).",
    )

    # Retention (storage hardening): finished rows older than N days are pruned daily; 0 keeps.
    retention_time: dt.time = Field(
        default=dt.time(2, 0),
        description="When the daily retention pass runs, in each workspace's time zone.",
    )
    retention_jobs_days: int = Field(default=30, ge=0, description="Finished background jobs.")
    retention_fetch_runs_days: int = Field(default=90, ge=0, description="Finished fetch runs.")
    retention_workflow_matches_days: int = Field(
        default=180, ge=0, description="Workflow matches of interactions no longer waiting."
    )
    retention_reply_queue_days: int = Field(
        default=90, ge=0, description="Sent, cancelled and failed reply-queue items."
    )
    retention_batch_rows: int = Field(
        default=1000, ge=1, description="Rows deleted per transaction by the retention pass."
    )

    # Invitations and their e-mail (issue #10: no account takeover through membership).
    invitation_ttl_days: int = Field(
        default=7, ge=1, le=90, description="How long an invitation link stays valid, in days."
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:pass@host:25, smtp+starttls://... or smtps://...; unset: "
        "invitation links are only shown to the inviting admin.",
    )
    smtp_from: str = Field(
        default="socialpulse@localhost", description="Sender address of invitation e-mails."
    )
    smtp_timeout_s: float = Field(default=10.0, gt=0, description="SMTP connect/send timeout.")

    # Hardening: request size, rate limits, /metrics access.
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1, description="Largest request body accepted (413 above)."
    )
    api_rate_limit: str = Field(
        default="600/minute", description="Requests allowed per API key (moving window)."
    )
    web_rate_limit: str = Field(
        default="300/minute", description="Dashboard requests allowed per logged-in user."
    )
    ai_max_text_chars: int = Field(
        default=5_000, ge=1, description="Longest text the analysis API accepts (422 above)."
    )
    ai_max_batch_chars: int = Field(
        default=200_000, ge=1, description="Characters one analysis batch may hold (413 above)."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token /metrics requires; unset, /metrics answers loopback only.",
    )

    # Simulated platform (issue #10 hardening): demo-only unless the operator opts in.
    simulated_platform: bool = Field(
        default=False,
        description="Allow the simulated platform in every workspace (load tests, CI); "
        "without it only the demo workspaces may add simulated accounts.",
    )

    response_compression: bool = Field(
        default=True,
        description="gzip responses of 1 KiB and more for clients that accept it (pages, JSON, "
        "scripts); off when a proxy in front compresses instead.",
    )

    # Response cache (issue #12): report reads keyed by the workspace's data version.
    response_cache: bool = Field(
        default=True,
        description="Cache report and analytics responses (off: every read is computed, no "
        "ETag; for measuring cold reads).",
    )
    cache_url: str = Field(
        default="",
        description="Where cached responses are shared: redis://... for every web process; "
        "memory:// for each process alone; empty: SOCIALPULSE_TASKS_URL when it is Redis, "
        "else memory://.",
    )
    response_cache_mb: int = Field(
        default=64, ge=1, description="In-process cache size per web process, in MiB."
    )
    response_cache_clock_s: int = Field(
        default=60,
        ge=1,
        description='How far a cached report\'s "now" (windows ending now) may lag the clock; '
        "writes are never late, they change the data version.",
    )

    # Creator intelligence (#13): core (report pipeline, refresh age, platform keys).
    creator_posts: int = Field(
        default=50, ge=12, le=200, description="Recent posts a creator report reads (12 at least)."
    )
    creator_comments_per_post: int = Field(
        default=50, ge=0, le=500, description="Public comments sampled per post of a report."
    )
    creator_refresh_days: float = Field(
        default=7, gt=0, description="A report older than this is served and refreshed."
    )
    youtube_api_key: SecretStr | None = Field(
        default=None,
        description="YouTube Data API key for creator reports on any public channel (else the "
        "requesting workspace's connected YouTube account is used).",
    )

    # Credits and billing (#14): the plan a workspace's wallet starts on (free, standard,
    # premium, or any plan code the operator created); its seats cap invitations.
    default_plan: str = Field(
        default="free",
        min_length=1,
        max_length=32,
        description="Plan code of a new workspace's wallet (socialpulse plan list).",
    )

    # Creator intelligence (#13): the related-profiles crawl (admin). Builds the crawl queues
    # for profiles other reports pointed at; counted in the database, so the limits hold
    # whatever the number of workers.
    discovery_enabled: bool = Field(
        default=True, description="Queue related profiles for full reports in the background."
    )
    discovery_max_concurrent: int = Field(
        default=3, ge=0, description="Crawl builds queued or running at once."
    )
    discovery_per_hour: int = Field(
        default=100, ge=0, description="Crawl builds queued in any rolling hour."
    )
    discovery_per_day: int = Field(
        default=1000, ge=0, description="Crawl builds queued in any rolling 24 hours."
    )
    discovery_min_followers: int = Field(
        default=1000, ge=0, description="Related profiles with fewer followers are skipped."
    )
    discovery_max_retries: int = Field(
        default=3, ge=0, description="Retries of a failed crawl build before it is failed."
    )
    discovery_retry_backoff_s: int = Field(
        default=600, ge=1, description="Wait before the first retry; doubled for each next one."
    )

    # Creator intelligence (#13): media. Thumbnails and profile pictures, stored in two WebP sizes.
    media_storage: Literal["local", "s3"] = Field(
        default="local",
        description="Where stored images live: local (under SOCIALPULSE_MEDIA_ROOT, served by "
        "the app at /media/) or s3 (an S3-compatible bucket).",
    )
    media_public_url: str = Field(
        default="",
        description="Base URL images are shown from (a CDN in front of the storage), e.g. "
        "https://cdn.example.com/media; empty: the app's own /media/ route.",
    )
    media_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="Largest image download; larger ones fail."
    )
    media_max_pixels: int = Field(
        default=25_000_000,
        ge=1,
        description="Largest image (width x height) decoded; more is treated as a "
        "decompression bomb and fails.",
    )
    media_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest one image download may take, in seconds."
    )
    media_s3_bucket: str = Field(default="", description="Bucket of SOCIALPULSE_MEDIA_STORAGE=s3.")
    media_s3_endpoint_url: str = Field(
        default="", description="S3-compatible endpoint (MinIO, R2...); empty: AWS."
    )
    media_s3_region: str = Field(default="", description="Region of the bucket; empty: boto3's.")
    media_s3_access_key_id: SecretStr | None = Field(
        default=None, description="Access key id; unset: boto3's usual credential chain."
    )
    media_s3_secret_access_key: SecretStr | None = Field(
        default=None, description="Secret access key, with SOCIALPULSE_MEDIA_S3_ACCESS_KEY_ID."
    )

    # Payments (#14): top-ups and plan subscriptions through Stripe. Unset: checkout answers 503
    # and operators grant credits and set plans from the CLI.
    stripe_secret_key: SecretStr | None = Field(
        default=None, description="Stripe secret API key (sk_live_... / sk_test_...)."
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Signing secret of the Stripe webhook endpoint (whsec_...); webhooks "
        "without a valid signature are refused.",
    )
    stripe_api_base: str = Field(
        default="https://api.stripe.com",
        description="Stripe API base URL (tests point it at a local fake Stripe).",
    )
    stripe_timeout_s: float = Field(
        default=20.0, gt=0, le=120, description="Timeout of one Stripe API call, in seconds."
    )
    stripe_max_retries: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Retries of a Stripe call that failed on the network "
        "or with a 5xx/409 (the library sends an idempotency key, so a retry never pays twice).",
    )
    stripe_webhook_tolerance_s: int = Field(
        default=300,
        ge=1,
        le=3600,
        description="Oldest webhook signature timestamp accepted (replays of older deliveries "
        "are refused).",
    )

    # Publishing (#15): scheduled posts, their uploads and their delivery.
    publish_max_lateness_minutes: int = Field(
        default=60,
        ge=0,
        description="A post found due after downtime is still published when at most this many "
        "minutes late; later, it is marked missed with the reason.",
    )
    publish_horizon_days: int = Field(
        default=7,
        ge=1,
        le=366,
        description="How far ahead a recurring series' deliveries are created (the next one "
        "always exists).",
    )
    max_upload_mb: int = Field(
        default=512,
        ge=1,
        description="Largest media file uploaded for a post, in MB (413 above); each platform's "
        "own limit is checked when the file is attached.",
    )
    publish_import_max_rows: int = Field(
        default=5_000, ge=1, description="Most rows one CSV import of posts may hold."
    )
    # --- Publishing (#15), drafting help: an OpenAI-compatible chat model (Ollama, vLLM,
    # llama.cpp's server, a hosted API). Unset model: offline suggestions only.
    llm_base_url: str = Field(
        default="",
        description="Base URL of an OpenAI-compatible API, up to /v1 (POST {base}/chat/"
        "completions), e.g. http://127.0.0.1:11434/v1 for Ollama.",
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="Bearer key for the model API (local servers need none)."
    )
    llm_model: str = Field(
        default="", description="Model name, e.g. llama3.1:8b; empty: no model, offline mode."
    )
    llm_allow_private: bool = Field(
        default=False,
        description="Let the model API's own host be private or loopback (a local Ollama) "
        "without opening SOCIALPULSE_EGRESS_ALLOW to anything else.",
    )
    llm_timeout_s: float = Field(
        default=60.0, gt=0, le=600, description="Time one model request may take."
    )
    llm_max_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per request on 429, 5xx and timeouts."
    )
    llm_price_prompt_per_1k_cents: float = Field(
        default=0.0, ge=0, description="Cost of 1,000 prompt tokens in cents (ROI costs)."
    )
    llm_price_completion_per_1k_cents: float = Field(
        default=0.0, ge=0, description="Cost of 1,000 completion tokens in cents (ROI costs)."
    )

    @field_validator("media_public_url")
    @classmethod
    def _media_public_url(cls, value: str) -> str:
        # img-src allows 'self' and https: only (kit.asgi's policy); a plain http CDN would
        # show broken images on every page.
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "/")):
            raise ValueError(
                "SOCIALPULSE_MEDIA_PUBLIC_URL must start with https:// (or / for a path on this "
                f"site); got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _media_settings(self) -> Settings:
        # Images belong with the rest of the instance's state: a data directory set alone
        # must not leave them in ./data/media of whatever directory the process started in.
        if "media_root" not in self.model_fields_set:
            self.media_root = self.data_dir / "media"
        if self.media_storage == "s3" and not self.media_s3_bucket:
            raise ValueError("SOCIALPULSE_MEDIA_STORAGE=s3 needs SOCIALPULSE_MEDIA_S3_BUCKET")
        return self

    @field_validator("data_dir", "media_root")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("ai_hf_model_dir", "ai_cache_dir")
    @classmethod
    def _expand_model_dir(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("cache_url")
    @classmethod
    def _cache_url(cls, value: str) -> str:
        if value and not value.startswith(("memory://", "redis://", "rediss://", "unix://")):
            raise ValueError(
                f"SOCIALPULSE_CACHE_URL must be memory:// or redis://host:port/db; got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _stripe_settings(self) -> Settings:
        # A key without the signing secret would take payments whose webhooks are all refused:
        # money taken, nothing credited.
        key = self.stripe_secret_key.get_secret_value() if self.stripe_secret_key else ""
        signing = (
            self.stripe_webhook_secret.get_secret_value() if self.stripe_webhook_secret else ""
        )
        if key and not signing:
            raise ValueError(
                "SOCIALPULSE_STRIPE_SECRET_KEY needs SOCIALPULSE_STRIPE_WEBHOOK_SECRET (the "
                "webhook endpoint's signing secret): without it no payment would be credited"
            )
        return self

    @field_validator("stripe_api_base")
    @classmethod
    def _stripe_api_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError(
                f"SOCIALPULSE_STRIPE_API_BASE must be an http(s):// URL; got {value!r}"
            )
        return value

    @field_validator("ai_hf_languages")
    @classmethod
    def _language_codes(cls, value: str) -> str:
        """Normalised to sorted, de-duplicated lower-case codes (or "*"): the list is part of
        the hf analyser's model version, so "fr, en" and "en,fr" must not differ."""
        codes = sorted({code.strip().lower() for code in value.split(",") if code.strip()})
        if codes == ["*"]:
            return "*"
        bad = [code for code in codes if len(code) != 2 or not code.isalpha() or not code.isascii()]
        if not codes or bad:
            raise ValueError(
                "SOCIALPULSE_AI_HF_LANGUAGES must be * or comma-separated two-letter ISO 639-1 "
                f"codes such as en,fr; got {value!r}"
            )
        return ",".join(codes)

    @model_validator(mode="after")
    def _base_url_follows_the_server(self) -> Settings:
        # A link printed for port 8000 while the server listens on SOCIALPULSE_PORT leads
        # nowhere: without an explicit public URL, the links follow the bind address.
        if "base_url" not in self.model_fields_set:
            host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
            host = f"[{host}]" if ":" in host else host
            self.base_url = f"http://{host}:{self.port}"
            # Still "not set by the operator": callers that prefer the request's own address
            # to a derived one (the Stripe return URL) ask model_fields_set.
            self.__pydantic_fields_set__.discard("base_url")
        return self

    @model_validator(mode="after")
    def _hf_backend_has_a_model(self) -> Settings:
        if self.ai_backend == "hf" and self.ai_hf_model_dir is None:
            raise ValueError(
                "SOCIALPULSE_AI_BACKEND=hf needs SOCIALPULSE_AI_HF_MODEL_DIR, a local Hugging "
                "Face model directory (config.json, model.safetensors, tokenizer.json)"
            )
        # The directory's contents are checked at start-up (`socialpulse.ai.backends.
        # check_settings`), not here: settings stay free of the AI packages.
        return self

    @property
    def hf_languages(self) -> frozenset[str]:
        """The codes of `ai_hf_languages`; {"*"} means any language."""
        return frozenset(self.ai_hf_languages.split(","))

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'socialpulse.db').resolve()}"

    @property
    def tasks_backend(self) -> Literal["sqlite", "redis", "memory"]:
        if self.tasks_url.startswith(("redis://", "rediss://", "unix://")):
            return "redis"
        if self.tasks_url == "memory://":
            return "memory"
        return "sqlite"

    @property
    def effective_cache_url(self) -> str:
        if self.cache_url:
            return self.cache_url
        return self.tasks_url if self.tasks_backend == "redis" else "memory://"

    @property
    def runs_embedded_worker(self) -> bool:
        if self.embedded_worker is not None:
            return self.embedded_worker and self.tasks_backend != "memory"
        return self.tasks_backend == "sqlite"

    @property
    def tasks_sqlite_path(self) -> Path:
        if self.tasks_url.startswith("sqlite:///"):
            return Path(self.tasks_url.removeprefix("sqlite:///"))
        return self.data_dir / "tasks.db"

    def resolved_secret_key(self) -> str:
        """The configured key, or the one generated and persisted on first use.

        Raises ConfigError for a key shorter than MIN_SECRET_KEY_BYTES (an empty one
        included): with an empty key anyone could sign a session cookie."""
        if self.secret_key is not None:
            return _checked_key(self.secret_key.get_secret_value(), "SOCIALPULSE_SECRET_KEY")
        key_file = self.data_dir / "secret_key"
        key = _read_key_file(key_file)
        if key is None:
            key = _create_key_file(key_file)
        return _checked_key(key, str(key_file))


def _checked_key(key: str, source: str) -> str:
    size = len(key.encode())
    if size < MIN_SECRET_KEY_BYTES:
        fix = (
            "delete the file to have a new one generated (stored platform credentials then "
            "need to be entered again) or write a longer key into it"
            if source != "SOCIALPULSE_SECRET_KEY"
            else "unset it to have one generated into <data_dir>/secret_key, or set a longer one"
        )
        raise ConfigError(
            f"the secret key in {source} is {size} bytes long; it must be at least "
            f"{MIN_SECRET_KEY_BYTES} (python -c 'import secrets; print(secrets.token_urlsafe(48))' "
            f"makes one): {fix}"
        )
    return key


def _read_key_file(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def _create_key_file(path: Path) -> str:
    """Generate the key file so that no process ever reads it half-written.

    The key is written and synced to a private temporary file first, then hard-linked under
    its final name: link() fails if the name exists, so of processes starting at once exactly
    one key wins, and readers see either no file or the whole key. (Creating the final name
    with O_EXCL and writing after let readers see an empty file: 260 of 3,000 concurrent
    first starts did.)"""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(48)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(candidate)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            winner = _read_key_file(path)
            if winner is None:  # deleted meanwhile: a deliberate reset, not a race to settle
                raise ConfigError(
                    f"{path} vanished while it was being created; start again"
                ) from None
            return winner
    finally:
        os.unlink(temporary)
    return candidate


@lru_cache
def get_settings() -> Settings:
    return Settings()
