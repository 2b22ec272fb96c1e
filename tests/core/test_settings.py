"""Production refuses weak or default secrets in every credential; development keeps its
defaults; the refusal never echoes the secret."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from pydantic import ValidationError

from core.settings import KNOWN_DEFAULT_SECRETS, Settings, url_password, weak_secret

ROOT = Path(__file__).resolve().parents[2]
STRONG = "9f2c4e61b0a7d35c8e1f6a2b4d9c0e73"  # what `openssl rand -hex 16` looks like


def _env_example() -> dict[str, str]:
    lines = (ROOT / "deploy" / "env.example").read_text().splitlines()
    return dict(ln.split("=", 1) for ln in lines if "=" in ln and not ln.startswith("#"))


def _production(**kw: str) -> Settings:
    return Settings(environment="production", **kw)  # type: ignore[arg-type]


WEAK = [
    "CHANGEME", "changeme", "changeme123", "Changeme123!", "changemechangeme", "secret",
    "password", "Password12345678", "postgres", "s3cr3t", "short-random",
    "aaaaaaaaaaaaaaaaaaaa", "abababababababababab", "dev-secret-not-for-production",
]  # fmt: skip


@pytest.mark.parametrize("value", WEAK)
@pytest.mark.parametrize(
    ("setting", "build"),
    [
        ("WELLRATE_DATABASE_URL", lambda pw: f"postgresql://wellrate_api:{pw}@db:5432/wellrate"),
        ("WELLRATE_DATABASE_URL", lambda pw: f"postgresql://wellrate_api@db/wellrate?password={pw}"),
        ("WELLRATE_MQTT_URL", lambda pw: f"mqtts://wellrate-ingest-1:{pw}@mosquitto:8883"),
        ("WELLRATE_API_METRICS_TOKEN", lambda pw: pw),
    ],
)  # fmt: skip
def test_production_refuses_weak_credentials(setting: str, build: object, value: str) -> None:
    """The attack: CHANGEME, changeme123, secret and a DB or MQTT password `changeme` all
    started in production. Now each is refused, naming the setting but not the value."""
    field = setting.removeprefix("WELLRATE_").lower()
    raw = build(quote(value, safe="")) if callable(build) else value
    with pytest.raises(ValidationError) as err:
        _production(**{field: raw})
    text = str(err.value)
    assert setting in text and "weak or default" in text
    assert "input_value" not in text and (raw == value or raw not in text)  # no URL either
    if value not in ("secret", "password"):  # (words the message itself uses)
        assert value not in text and quote(value, safe="") not in text
    assert Settings(environment="development", **{field: raw}).environment == "development"  # type: ignore[arg-type]


def test_every_secret_in_env_example_is_refused() -> None:
    secrets = [
        url_password(v) if "://" in v else v
        for k, v in _env_example().items()
        if k.endswith(("PASSWORD", "TOKEN", "_URL"))
    ]
    assert len(secrets) >= 3 and all(s is not None and weak_secret(s) for s in secrets)


def test_strong_credentials_start() -> None:
    ok = _production(
        database_url=f"postgresql://wellrate_api:{STRONG}@db:5432/wellrate",
        mqtt_url=f"mqtts://wellrate-ingest-1:{STRONG[::-1]}@mosquitto:8883",
        api_metrics_token=STRONG.upper(),
    )
    assert ok.api_metrics_token is not None
    # A credential that is not given is not checked: no password in the URL (a client
    # certificate or a .pgpass), and no metrics token (then /metrics is loopback-only).
    bare = _production(database_url="postgresql://wellrate_api@db/wellrate?sslmode=verify-full")
    assert bare.api_metrics_token is None


def test_each_weak_credential_is_named() -> None:
    with pytest.raises(ValidationError) as err:
        _production(
            database_url="postgresql://u:changeme@db/w",
            mqtt_url="mqtt://u:changeme@b",
            api_metrics_token="changeme",
        )
    text = str(err.value)
    for name in ("WELLRATE_DATABASE_URL", "WELLRATE_MQTT_URL", "WELLRATE_API_METRICS_TOKEN"):
        assert name in text


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql://u:p%40ss@h/db", "p@ss"),
        ("postgresql://u@h/db?password=x%20y", "x y"),
        ("postgresql://u@h/db", None),
        ("mqtt://h:1883", None),
        (None, None),
    ],
)
def test_url_password(url: str | None, password: str | None) -> None:
    assert url_password(url) == password


def test_known_defaults_are_letters_only() -> None:
    """The list is compared after stripping everything but letters, so it must hold only
    lower-case letters (an entry with a digit could never match)."""
    assert all(w.isalpha() and w.islower() for w in KNOWN_DEFAULT_SECRETS)


def test_settings_nothing_reads_are_gone() -> None:
    assert "secret_key" not in Settings.model_fields
    assert "rulebook_dir" not in Settings.model_fields
