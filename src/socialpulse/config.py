"""Settings from the environment (`SOCIALPULSE_*`) and `.env`.

The secret key is never a hard-coded default: when none is configured, one is generated on
first start and kept in `<data_dir>/secret_key` (mode 0600) so sessions and encrypted
credentials survive restarts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    media_root: Path = Field(default=Path("data/media"), description="Local media storage.")
    secret_key: SecretStr | None = Field(default=None, description="Signs sessions, keys creds.")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(default=False, description="One JSON object per log line.")
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="Public URL, used in printed links."
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
    ai_hf_languages: str = Field(
        default="en",
        description="Comma-separated ISO 639-1 codes of the languages the hf model reads, or * "
        "for any; text in another language gets no sentiment guess from it.",
    )
    # Simulated platform (issue #10 hardening): demo-only unless the operator opts in.
    simulated_platform: bool = Field(
        default=False,
        description="Allow the simulated platform in every workspace (load tests, CI); "
        "without it only the demo workspaces may add simulated accounts.",
    )

    @field_validator("data_dir", "media_root")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("ai_hf_model_dir")
    @classmethod
    def _expand_model_dir(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

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
    def _hf_backend_has_a_model(self) -> Settings:
        if self.ai_backend == "hf" and self.ai_hf_model_dir is None:
            raise ValueError(
                "SOCIALPULSE_AI_BACKEND=hf needs SOCIALPULSE_AI_HF_MODEL_DIR, a local Hugging "
                "Face model directory (config.json, model.safetensors, tokenizer.json)"
            )
        if self.ai_hf_model_dir is not None:
            # Imported here: the loader pulls numpy and the analysis modules, which settings
            # that configure no model do not need.
            from socialpulse.ai.hf import HFModelError, check_model_dir

            try:
                check_model_dir(self.ai_hf_model_dir)
            except HFModelError as exc:
                raise ValueError(f"SOCIALPULSE_AI_HF_MODEL_DIR: {exc}") from exc
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
        """The configured key, or the one generated and persisted on first use."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        key_file = self.data_dir / "secret_key"
        if key_file.exists():
            return key_file.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # O_EXCL: two processes starting at once must agree on one key.
        try:
            with key_file.open("x") as handle:
                handle.write(key)
            key_file.chmod(0o600)
        except FileExistsError:
            return key_file.read_text().strip()
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
