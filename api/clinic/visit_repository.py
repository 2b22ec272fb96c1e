"""SQL for the visit report's "since the last visit": when the clinic last saw the patient
(the score that stood then is ``scoring.repository.latest_score(..., ended_by=day)``).

A visit is a day on which the clinic itself measured the patient: an office BP reading
(``bp_readings.source = 'clinic'``) or a laboratory result (migration 0061). Dispensings
are left out: a refill can be collected without a consultation.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

# How far back a previous visit is looked for: one scoring window. The national follow-up
# schedule sees hypertension and type 2 diabetes patients at least every three months; a
# visit longer ago is itself overdue, and the report then compares with the score of a
# month before, saying so. It also keeps the read within the readings tables' 90-day bound
# (TimescaleDB plans only the chunks it can reach; docs/timescaledb.md, "Time bounds").
VISIT_LOOKBACK_DAYS = 90


def last_visit(conn: Conn, member_id: str, before: date, tz: str) -> date | None:
    """The newest local day before ``before`` with a clinic measurement (None: none)."""
    row = conn.execute(
        "SELECT max(d) FROM ("  # noqa: S608 (constants only)
        " SELECT (measured_at AT TIME ZONE %(tz)s)::date AS d FROM bp_readings"
        "  WHERE member_id = %(m)s AND source = 'clinic'"
        f"   AND measured_at > now() - interval '{VISIT_LOOKBACK_DAYS} days'"
        " UNION ALL"
        " SELECT (taken_at AT TIME ZONE %(tz)s)::date FROM lab_results"
        f"  WHERE member_id = %(m)s AND taken_at > now() - interval '{VISIT_LOOKBACK_DAYS} days'"
        ") v WHERE d < %(before)s",
        {"m": member_id, "tz": tz, "before": before},
    ).fetchone()
    return row[0] if row else None
