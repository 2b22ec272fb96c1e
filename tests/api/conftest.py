"""A running app over the session test database, and a small world of tenants in it.

``world`` holds two clinics (c1, c2), their members (m1, m3 at c1; m2 at c2), readings and
a score and an open alert for m1 and m2, and one principal per role (two clinics, two
members) with their bearer tokens. Everything is created through the same public functions
other parts use (``api.devices.repository``, ``api.auth.service.create_principal``).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

with warnings.catch_warnings():
    # Starlette 1.x asks for the `httpx2` package instead of `httpx` in its test client; the
    # client works the same with httpx 0.28 (the dev extra), so this one import may warn.
    warnings.filterwarnings(
        "ignore", message="Using `httpx` with `starlette.testclient`", category=Warning
    )
    from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.service import create_principal, hash_password
from api.devices import repository as devices
from core.settings import Settings
from tests.factories import add_consent

CLINIC_A_PASSWORD = "correct horse battery staple"


@dataclass
class World:
    tokens: dict[str, str] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"api_max_body_bytes": 64 * 1024, "api_signin_lockout_s": 30, "db_pool_max": 4}
    )


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings), raise_server_exceptions=False) as c:
        yield c


def _score(conn: psycopg.Connection[Any], member_id: str, *, controlled: bool, tir: float) -> None:
    indicators = {
        "bp": {
            "sufficient": True,
            "controlled": controlled,
            "home_mean_sys": 128.0 if controlled else 151.0,
            "home_mean_dia": 80.0,
            "pct_in_target": 80.0 if controlled else 20.0,
        },
        "cgm": {"sufficient": True, "tir": tir, "tbr70": 1.0, "mean_mgdl": 150.0},
        "activity": {"sufficient": True, "median_steps": 7200},
    }
    components = {
        "bp": {
            "score": 80.0,
            "weight": 0.5,
            "sufficient": True,
            "reason_en": "home BP controlled",
            "reason_zh": "家庭血压达标",
        },
        "activity": {
            "score": 60.0,
            "weight": 0.5,
            "sufficient": True,
            "reason_en": "7,200 steps a day",
            "reason_zh": "每日7200步",
        },
    }
    conn.execute(
        "INSERT INTO scores (member_id, window_start, window_end, algorithm_version, composite,"
        " improvement, components, indicators) VALUES (%s, %s, %s, 'test-1', %s, %s, %s, %s)",
        (
            member_id,
            date(2026, 1, 1),
            date(2026, 4, 1),
            70.0,
            3.0,
            Jsonb(components),
            Jsonb(indicators),
        ),
    )


def _readings(conn: psycopg.Connection[Any], member_id: str, clinic_id: str, now: datetime) -> None:
    dev = f"cuff-{member_id}"
    cgm = f"cgm-{member_id}"
    steps = f"band-{member_id}"
    devices.register_device(conn, dev, "bp_cuff", clinic_id=clinic_id)
    devices.register_device(conn, cgm, "cgm", clinic_id=clinic_id)
    devices.register_device(conn, steps, "activity_tracker", clinic_id=clinic_id)
    start = now - timedelta(days=40)
    for d in (dev, cgm, steps):
        devices.bind_device(conn, d, member_id, start)
    for day in range(3):
        t = now - timedelta(days=day, hours=2)
        conn.execute(
            "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
            " systolic, diastolic, pulse, validated) VALUES (%s, %s, %s, 480, %s, %s, 70, true)",
            (dev, t, member_id, 130 + day, 82),
        )
        conn.execute(
            "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
            " value, unit, censored, method) VALUES (%s, %s, %s, 480, %s, 'mg/dL', NULL, 'cgm')",
            (cgm, t, member_id, 110.0 + day),
        )
        conn.execute(
            "INSERT INTO activity_readings (device_id, start_at, duration_s, member_id,"
            " utc_offset_min, steps, active_minutes) VALUES (%s, %s, 3600, %s, 480, %s, 20)",
            (steps, t, member_id, 3000 + day),
        )
    # A censored low glucose reading: exported without a value, flagged.
    conn.execute(
        "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
        " value, unit, censored, method) VALUES (%s, %s, %s, 480, NULL, 'mmol/L', 'LO', 'cgm')",
        (cgm, now - timedelta(hours=1), member_id),
    )


@functools.cache
def _clinic_a_hash() -> str:
    return hash_password(CLINIC_A_PASSWORD)


@pytest.fixture
def world(conn: psycopg.Connection[Any]) -> World:
    w = World()
    devices.upsert_clinic(conn, "c1", "Clinic A", "甲社区卫生服务中心")
    devices.upsert_clinic(conn, "c2", "Clinic B")
    for mid, clinic in (("m1", "c1"), ("m2", "c2"), ("m3", "c1")):
        devices.upsert_member(
            conn,
            mid,
            clinic_id=clinic,
            birth_date=date(1958, 5, 1),
            sex="F",
            conditions=["hypertension", "diabetes"],
            display_name=f"Patient {mid}",
        )
    for mid, clinic in (("m1", "c1"), ("m2", "c2")):
        _readings(conn, mid, clinic, w.now)
        row = conn.execute(
            "INSERT INTO alerts (member_id, kind, severity, observed_at) VALUES"
            " (%s, 'bp_grade3', 'critical', %s) RETURNING alert_id",
            (mid, w.now - timedelta(hours=3)),
        ).fetchone()
        assert row is not None
        w.alerts[mid] = int(row[0])
    _score(conn, "m1", controlled=False, tir=62.0)
    _score(conn, "m2", controlled=True, tir=80.0)
    w.tokens["admin"] = create_principal(conn, role="admin", tenant_id=None, name="root")
    w.tokens["insurer"] = create_principal(conn, role="insurer", tenant_id="ins1", name="ins1")
    # ins1 runs demo-city; its book is the members enrolled there (the insurer tenancy rule).
    conn.execute(
        "INSERT INTO insurer_products (product_id, insurer_id) VALUES ('demo-city', 'ins1')"
    )
    for mid in ("m1", "m2", "m3"):
        conn.execute(
            "INSERT INTO enrollments (member_id, product_id, plan_year, enrolled_on)"
            " VALUES (%s, 'demo-city', 2026, '2026-01-01')",
            (mid,),
        )
        # Each consented to clinic care and to pricing for demo-city (migration 0052).
        add_consent(conn, mid)
        add_consent(conn, mid, "insurer_pricing", "demo-city")
    w.tokens["clinic"] = create_principal(conn, role="clinic", tenant_id="c1", name="clinic-a")
    conn.execute(  # the password's argon2id hash, computed once per session (it costs ~0.2 s)
        "UPDATE api_principals SET password_hash = %s WHERE name = 'clinic-a'",
        (_clinic_a_hash(),),
    )
    w.tokens["clinic_b"] = create_principal(conn, role="clinic", tenant_id="c2", name="clinic-b")
    w.tokens["member"] = create_principal(conn, role="member", tenant_id="m1", name="member-m1")
    w.tokens["member_m2"] = create_principal(conn, role="member", tenant_id="m2", name="member-m2")
    return w


def audit_rows(conn: psycopg.Connection[Any], **where: Any) -> list[dict[str, Any]]:
    clauses = " AND ".join(f"{k} = %({k})s" for k in where) or "true"
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(
            f"SELECT * FROM audit_log WHERE {clauses} ORDER BY audit_id", where
        ).fetchall()
