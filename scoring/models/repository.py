"""All of the models' SQL: training rows, outcomes, and the model registry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class TrainingRow:
    member_id: str
    birth_date: date
    sex: str
    conditions: tuple[str, ...]
    indicators: dict[str, Any]
    admitted: bool  # any admission in the outcome year
    cost_yuan: float


def training_rows(conn: Conn, year: int) -> list[TrainingRow]:
    """Members with a score in ``year`` (their newest window ending in it) and next year's claims.

    Only members whose insurer-pricing consent (any product; migration 0052) was in force
    from the start of the year to the end of the outcome year are used (PIPL: the model
    prices discounts, and data without that consent is not used; a partial year would bias
    the label). When the
    insurer has uploaded enrollments for the outcome year, only members enrolled then are
    used: a member who left has no claims in the feed, and counting them as "not admitted"
    would bias the model toward low risk.
    """
    y0, y1, y2 = date(year, 1, 1), date(year + 1, 1, 1), date(year + 2, 1, 1)
    rows = conn.execute(
        """
        WITH latest AS (
            SELECT DISTINCT ON (s.member_id) s.member_id, s.indicators
              FROM scores s
             WHERE s.window_end > %(y0)s AND s.window_end <= %(y1)s
             ORDER BY s.member_id, s.window_end DESC, s.computed_at DESC
        ), claims AS (
            SELECT member_id, count(*) AS n, sum(amount_yuan)::float8 AS cost
              FROM hospitalisations
             WHERE admitted_on >= %(y1)s AND admitted_on < %(y2)s
             GROUP BY member_id
        )
        SELECT m.member_id, m.birth_date, m.sex, m.conditions, l.indicators,
               coalesce(c.n, 0) > 0, coalesce(c.cost, 0)
          FROM latest l
          JOIN members m USING (member_id)
          LEFT JOIN claims c USING (member_id)
         WHERE consent_span(m.member_id, 'insurer_pricing', NULL) @> tstzrange(
                   %(y0)s::timestamp AT TIME ZONE 'UTC', %(y2)s::timestamp AT TIME ZONE 'UTC')
           AND (NOT EXISTS (SELECT 1 FROM enrollments WHERE plan_year = %(out)s)
                OR EXISTS (SELECT 1 FROM enrollments e
                            WHERE e.member_id = m.member_id AND e.plan_year = %(out)s))
         ORDER BY m.member_id
        """,
        {"y0": y0, "y1": y1, "y2": y2, "out": year + 1},
    ).fetchall()
    return [TrainingRow(r[0], r[1], r[2], tuple(r[3]), r[4], bool(r[5]), float(r[6])) for r in rows]


def insert_model(
    conn: Conn,
    *,
    version: str,
    sha256: str,
    artifact: bytes,
    year: int,
    manifest: str,
    metrics: dict[str, Any],
) -> None:
    conn.execute(
        "INSERT INTO models (model_version, kind, sha256, artifact, trained_on_year, manifest,"
        " metrics) VALUES (%s, 'risk', %s, %s, %s, %s::jsonb, %s::jsonb)"
        " ON CONFLICT (model_version) DO NOTHING",
        (version, sha256, artifact, year, manifest, json.dumps(metrics)),
    )


def set_metrics(conn: Conn, version: str, metrics: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE models SET metrics = %s::jsonb WHERE model_version = %s",
        (json.dumps(metrics), version),
    )


def current(conn: Conn, version: str | None = None) -> tuple[str, str, bytes] | None:
    """(version, sha256, artifact) of the newest risk model, or of ``version``."""
    if version is None:
        row = conn.execute(
            "SELECT model_version, sha256, artifact FROM models WHERE kind = 'risk'"
            " ORDER BY created_at DESC, model_version LIMIT 1"
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT model_version, sha256, artifact FROM models WHERE model_version = %s",
            (version,),
        ).fetchone()
    return None if row is None else (row[0], row[1], bytes(row[2]))


# The risk model in force (the newest), as a scalar subquery: a quote reads it in the same
# statement as its rulebook (api.pricing.repository.send_rulebook_and_model).
CURRENT_VERSION_SQL = (
    "SELECT model_version FROM models WHERE kind = 'risk'"
    " ORDER BY created_at DESC, model_version LIMIT 1"
)
