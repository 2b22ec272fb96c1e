"""SQL for the clinic views: patients with their latest score, alerts, trends, readings.

Reads ``scores`` and ``alerts`` per the stored contract in ``docs/scoring.md`` and the
readings tables of migration 0001. The "current" score is the one with the latest
``window_end`` (then the latest ``computed_at``), whatever the algorithm version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.Connection[Any]
PatientFilter = Literal["all", "uncontrolled", "no_data_7d", "new_alerts"]

# Control status from the latest score's control block (scoring.control; docs/scoring.md),
# the one scoring wrote with its clinical rules (hypoglycaemia targets included):
#  uncontrolled: any of the member's own conditions not controlled;
#  controlled: at least one assessed and none uncontrolled;
#  insufficient: nothing assessable (no score, or no sufficient data for any condition).
# Rows scored before the block existed (algorithm < 0.2.0) fall back to the rule of their
# time: home BP not controlled, or sufficient CGM with time in range below 70 %.
_UNCONTROLLED = (
    "(CASE WHEN s.indicators ? 'control' THEN jsonb_path_exists(s.indicators->'control',"
    " '$.* ? (@.status == \"not_controlled\")') ELSE"
    " ((s.indicators->'bp'->>'controlled')::boolean IS FALSE"
    " OR ((s.indicators->'cgm'->>'sufficient')::boolean"
    "     AND (s.indicators->'cgm'->>'tir')::double precision < 70)) END)"
)
_ASSESSED = (
    "(CASE WHEN s.indicators ? 'control' THEN jsonb_path_exists(s.indicators->'control',"
    " '$.* ? (@.status != \"insufficient\")') ELSE"
    " ((s.indicators->'bp'->>'controlled') IS NOT NULL"
    " OR (s.indicators->'cgm'->>'sufficient')::boolean IS TRUE) END)"
)
# One condition's status from the block, with the same fallback for older rows.
_HT_STATUS = (
    "coalesce(l.indicators#>>'{control,hypertension,status}',"
    " CASE (l.indicators->'bp'->>'controlled')::boolean WHEN true THEN 'controlled'"
    " WHEN false THEN 'not_controlled' END)"
)
_DM_STATUS = (
    "coalesce(l.indicators#>>'{control,diabetes,status}',"
    " CASE WHEN (l.indicators->'cgm'->>'sufficient')::boolean THEN"
    " CASE WHEN (l.indicators->'cgm'->>'tir')::double precision >= 70 THEN 'controlled'"
    " ELSE 'not_controlled' END END)"
)
# Patients with no reading in the last 7 days, the window the clinic follows up on.
NO_DATA_DAYS = 7
# Every read of a readings table is bounded in time, so TimescaleDB plans only the chunks
# it can need (unbounded, it plans every chunk of up to three years). "Last reading" looks
# back a scoring window (NULL: none in that time); the clinic's recent glucose, two weeks.
# Written as now() - interval 'N days': TimescaleDB then excludes chunks while planning;
# now() - make_interval(days => $1) it excluded only at executor start, after planning
# every chunk (docs/timescaledb.md, "Time bounds").
LAST_DATA_DAYS = 90
RECENT_GLUCOSE_DAYS = 14
# OFFSET 0 keeps the consent span one value per member: inlined, consent_span() ran again
# for every reading the last-data lookups touched (~27 us each; bench/score_bench.py found
# the same in scoring's reads).
# PIPL consent (migration 0052; api.consent): a clinic is served only readings taken while
# the member's clinic-care consent was in force. The span is computed once per member (a
# LATERAL, or a scalar subquery that PostgreSQL runs once per statement), not per reading.
_CARE_SPAN = "consent_span(m.member_id, 'clinic_care')"
_CARE = "(SELECT consent_span(%(member_id)s, 'clinic_care'))"

# Each member's newest reading in the look-back, while clinic-care consent was in force:
# three index lookups and the consent span per member, the costly part of the list.
# A clinic's consent spans in one grouped scan (migration 0080), for the queries that read
# every patient of a clinic; one member's, for lookups by id.
_CLINIC_SPANS = "  LEFT JOIN clinic_care_spans(%(clinic_id)s) cs ON cs.member_id = m.member_id\n"
_MEMBER_SPAN = f"  CROSS JOIN LATERAL (SELECT {_CARE_SPAN} AS span OFFSET 0) cs\n"
_NEWEST = f"""  LEFT JOIN LATERAL (
       SELECT greatest(
         (SELECT max(measured_at) FROM bp_readings b WHERE b.member_id = m.member_id
           AND b.measured_at > now() - interval '{LAST_DATA_DAYS} days'
           AND b.measured_at <@ cs.span),
         (SELECT max(measured_at) FROM glucose_readings g WHERE g.member_id = m.member_id
           AND g.measured_at > now() - interval '{LAST_DATA_DAYS} days'
           AND g.measured_at <@ cs.span),
         (SELECT max(start_at) FROM activity_readings r WHERE r.member_id = m.member_id
           AND r.start_at > now() - interval '{LAST_DATA_DAYS} days'
           AND r.start_at <@ cs.span)
       ) AS last_data_at) d ON true
"""  # noqa: S608 (constants only)
_LAST_DATA = _CLINIC_SPANS + _NEWEST

# Built only from the constants above (no input); values are bound as parameters.
_PATIENTS = f"""
SELECT m.member_id, m.display_name, m.birth_date, m.sex, m.conditions,
       s.window_start, s.window_end, s.algorithm_version, s.composite, s.improvement,
       s.components,
       (s.indicators->'bp'->>'home_mean_sys')::float8 AS bp_sys,
       (s.indicators->'bp'->>'home_mean_dia')::float8 AS bp_dia,
       (s.indicators->'cgm'->>'tir')::float8 AS tir,
       (s.indicators->'cgm'->>'tbr70')::float8 AS tbr70,
       CASE WHEN s.member_id IS NULL OR NOT {_ASSESSED} THEN 'insufficient'
            WHEN {_UNCONTROLLED} THEN 'uncontrolled' ELSE 'controlled' END AS control_status,
       coalesce(a.open_alerts, 0) AS open_alerts, a.critical_alerts, a.newest_alert_at,
       d.last_data_at
  FROM members m
  LEFT JOIN LATERAL (
       SELECT * FROM scores sc WHERE sc.member_id = m.member_id
        ORDER BY sc.window_end DESC, sc.computed_at DESC LIMIT 1) s ON true
  LEFT JOIN LATERAL (
       SELECT count(*) AS open_alerts,
              count(*) FILTER (WHERE al.severity = 'critical') AS critical_alerts,
              max(al.created_at) AS newest_alert_at
         FROM alerts al WHERE al.member_id = m.member_id AND al.acknowledged_at IS NULL) a ON true
{_LAST_DATA} WHERE m.clinic_id = %(clinic_id)s AND m.member_id > %(after)s
"""  # noqa: S608

# The list without the last-reading lookups, for sorts and filters that do not need them:
# they then run only for the page's rows (:func:`last_data`), not for every patient (a
# 5,000-patient clinic: bench/dashboard_bench.py, docs/api.md).
_PATIENTS_LIGHT = _PATIENTS.replace(_LAST_DATA, "").replace(
    "d.last_data_at", "NULL::timestamptz AS last_data_at"
)
_LAST_DATA_OF = (
    "SELECT m.member_id, d.last_data_at FROM members m\n"  # noqa: S608 (constants only)
    + _MEMBER_SPAN
    + _NEWEST
    + " WHERE m.member_id = ANY(%(ids)s)"
)


def last_data(conn: Conn, member_ids: list[str]) -> dict[str, Any]:
    """The newest reading in the look-back per member (None: none)."""
    rows = conn.execute(_LAST_DATA_OF, {"ids": member_ids}).fetchall()
    return {r[0]: r[1] for r in rows}


# The light list with each member's consent span (computed once per member, OFFSET 0),
# for the lapsed filter below.
_PATIENTS_LIGHT_SPAN = _PATIENTS_LIGHT.replace(
    "\n WHERE m.clinic_id",
    "\n" + _CLINIC_SPANS + " WHERE m.clinic_id",
)
_NO_RECENT = "".join(
    f" AND NOT EXISTS (SELECT 1 FROM {table} x WHERE x.member_id = m.member_id"  # noqa: S608
    f"  AND x.{col} > now() - interval '{NO_DATA_DAYS} days'"
    f"  AND x.{col} <@ cs.span)"
    for table, col in (
        ("bp_readings", "measured_at"),
        ("glucose_readings", "measured_at"),
        ("activity_readings", "start_at"),
    )
)

_FILTERS: dict[str, str] = {
    "all": "",
    "uncontrolled": f" AND s.member_id IS NOT NULL AND {_UNCONTROLLED}",
    "no_data_7d": (
        f" AND (d.last_data_at IS NULL OR d.last_data_at < now() - interval '{NO_DATA_DAYS} days')"
    ),
    "new_alerts": " AND coalesce(a.open_alerts, 0) > 0",
}


def list_patients(
    conn: Conn, clinic_id: str, *, status: PatientFilter, after: str, limit: int
) -> list[dict[str, Any]]:
    """One page of a clinic's patients (keyset on member_id), with score and alerts."""
    sql = _PATIENTS + _FILTERS[status] + " ORDER BY m.member_id LIMIT %(limit)s"
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, {"clinic_id": clinic_id, "after": after, "limit": limit}).fetchall()


def patient(conn: Conn, member_id: str) -> dict[str, Any] | None:
    sql = _PATIENTS.replace(_CLINIC_SPANS, _MEMBER_SPAN).replace(
        "m.clinic_id = %(clinic_id)s AND m.member_id > %(after)s", "m.member_id = %(member_id)s"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, {"member_id": member_id}).fetchone()


def open_alerts(conn: Conn, member_id: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT alert_id, kind, severity, observed_at, detail, created_at FROM alerts"
            " WHERE member_id = %s AND acknowledged_at IS NULL ORDER BY observed_at DESC",
            (member_id,),
        ).fetchall()


def daily_trends(conn: Conn, member_id: str, since: datetime) -> list[dict[str, Any]]:
    """Per-day means from ``daily_readings`` (BP mean sys/dia, glucose mean mg/dL, steps)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            # A day counts only when all of it lies inside a consent period.
            "SELECT kind, day, n, mean_a, mean_b FROM daily_readings"  # noqa: S608 - constant
            " WHERE member_id = %(member_id)s AND day >= %(since)s"
            f" AND tstzrange(day, day + interval '1 day') <@ {_CARE} ORDER BY kind, day",
            {"member_id": member_id, "since": since},
        ).fetchall()


# Built only from the constant above; values are bound as parameters.
_RECENT_GLUCOSE = f"""
SELECT measured_at, value, unit, censored, method, meal_context FROM glucose_readings
 WHERE member_id = %(member_id)s AND measured_at > now() - interval '{RECENT_GLUCOSE_DAYS} days'
   AND measured_at <@ {_CARE}
 ORDER BY measured_at DESC LIMIT %(limit)s
"""  # noqa: S608


def recent_glucose(conn: Conn, member_id: str, limit: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _RECENT_GLUCOSE,
            {"member_id": member_id, "limit": limit},
        ).fetchall()


def alert_member(conn: Conn, alert_id: int) -> str | None:
    row = conn.execute("SELECT member_id FROM alerts WHERE alert_id = %s", (alert_id,)).fetchone()
    return str(row[0]) if row else None


def acknowledge_alert(conn: Conn, alert_id: int, by: str) -> dict[str, Any]:
    """Acknowledge once; a second acknowledgement keeps the first one's time and author."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "UPDATE alerts SET acknowledged_at = coalesce(acknowledged_at, now()),"
            " acknowledged_by = coalesce(acknowledged_by, %s) WHERE alert_id = %s"
            " RETURNING alert_id, member_id, kind, severity, observed_at, acknowledged_at,"
            " acknowledged_by",
            (by, alert_id),
        ).fetchone()
    assert row is not None
    return row


# Built only from the constants above; values are bound as parameters.
_READING_COLUMNS = {
    "bp": "device_id, measured_at, utc_offset_min, systolic, diastolic, pulse, validated, source",
    "glucose": "device_id, measured_at, utc_offset_min, value, unit, censored, method,"
    " meal_context, source",
    "activity": "device_id, start_at, duration_s, utc_offset_min, steps, active_minutes,"
    " vigorous_minutes, heart_rate, source",
}
_READINGS = {
    kind: "SELECT " + columns + f" FROM {kind}_readings WHERE member_id = %(member_id)s"  # noqa: S608
    f" AND {ts} >= %(start)s AND {ts} < %(end)s AND {ts} <@ {_CARE} ORDER BY {ts}"
    for kind, columns in _READING_COLUMNS.items()
    for ts in ("start_at" if kind == "activity" else "measured_at",)
}


def readings(
    conn: Conn, member_id: str, start: datetime, end: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Raw readings in [start, end) by kind, taken under clinic-care consent; clinics only
    (insurers never reach this). The CSV and FHIR exports both read here."""
    params = {"member_id": member_id, "start": start, "end": end}
    with conn.cursor(row_factory=dict_row) as cur:
        return {kind: cur.execute(sql, params).fetchall() for kind, sql in _READINGS.items()}


def devices(conn: Conn, device_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Registry rows (type, model, validation status) of the devices an export names."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT device_id, device_type, model, validated FROM devices"
            " WHERE device_id = ANY(%s)",
            (device_ids,),
        ).fetchall()
    return {r["device_id"]: r for r in rows}


# The CGM summary windows of an export: per score window overlapping [start, end) and lying
# inside clinic-care consent, the newest computation's CGM indicators and the days of wear
# (member-local days with a CGM reading in the window, the CGM IG's "days of wear").
_CGM_SUMMARIES = f"""
SELECT w.window_start, w.window_end, w.computed_at, w.cgm,
       (SELECT count(DISTINCT (g.measured_at AT TIME ZONE 'UTC'
                               + g.utc_offset_min * interval '1 minute')::date)
          FROM glucose_readings g
         WHERE g.member_id = %(member_id)s AND g.method = 'cgm'
           AND g.measured_at >= w.window_start - interval '1 day'
           AND g.measured_at < w.window_end + interval '1 day'
           AND (g.measured_at AT TIME ZONE 'UTC' + g.utc_offset_min * interval '1 minute')::date
               >= w.window_start
           AND (g.measured_at AT TIME ZONE 'UTC' + g.utc_offset_min * interval '1 minute')::date
               < w.window_end
           AND g.measured_at <@ {_CARE}) AS days_worn
  FROM (SELECT DISTINCT ON (window_start, window_end) window_start, window_end, computed_at,
               indicators->'cgm' AS cgm
          FROM scores
         WHERE member_id = %(member_id)s AND window_start < %(end)s AND window_end > %(start)s
         ORDER BY window_start, window_end, computed_at DESC) w
 WHERE (w.cgm->>'sufficient')::boolean IS TRUE
   AND tstzrange(w.window_start, w.window_end) <@ {_CARE}
 ORDER BY w.window_start, w.window_end
"""  # noqa: S608


def cgm_summaries(
    conn: Conn, member_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Sufficient CGM score windows overlapping [start, end), with their days of wear."""
    params = {"member_id": member_id, "start": start, "end": end}
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_CGM_SUMMARIES, params).fetchall()


# --- dashboard views (api/clinic/views.py) ------------------------------------------------

WorklistSort = Literal["alerts", "name", "last_reading", "composite", "status", "bp", "tir", "tbr"]
ConditionFilter = Literal["any", "hypertension", "diabetes", "ckd", "hyperlipidaemia", "none"]
# Fixed ORDER BY fragments per sort key (never built from input); member_id breaks ties so
# offset pages are stable.
_WORKLIST_ORDER: dict[str, str] = {
    "alerts": "coalesce(critical_alerts, 0) {d}, open_alerts {d}, newest_alert_at {d} NULLS LAST",
    "name": "coalesce(display_name, member_id) {d}",
    "last_reading": "last_data_at {d} NULLS FIRST",
    "composite": "composite {d} NULLS LAST",
    "status": (
        "CASE control_status WHEN 'uncontrolled' THEN 0 WHEN 'insufficient' THEN 1 ELSE 2 END {d}"
    ),
    "bp": "bp_sys {d} NULLS LAST",
    "tir": "tir {d} NULLS LAST",
    "tbr": "tbr70 {d} NULLS LAST",
}


def _worklist_parts(
    status: PatientFilter, sort: WorklistSort, descending: bool, search: str,
    condition: ConditionFilter,
) -> tuple[str, str, str]:  # fmt: skip
    """The list's query base, WHERE fragments and ORDER BY, all from fixed fragments.

    Without a sort on the last reading, the base leaves out the newest-reading lookups;
    the lapsed filter is then an anti-join that stops at a patient's first recent reading
    (one index probe a table), where the newest reading of 90 days reads them all.
    """
    light = sort != "last_reading"
    lapsed = light and status == "no_data_7d"
    where = _NO_RECENT if lapsed else _FILTERS[status]
    if condition == "none":
        where += " AND cardinality(m.conditions) = 0"
    elif condition != "any":
        where += " AND %(cond)s = ANY(m.conditions)"
    if search:
        where += " AND (m.member_id ILIKE %(q)s OR m.display_name ILIKE %(q)s)"
    order = _WORKLIST_ORDER[sort].format(d="DESC" if descending else "ASC")
    if status == "no_data_7d":
        # Members without a chronic condition come last: most never started, and a clinic
        # following up lapsed patients starts with those it manages.
        order = "(cardinality(conditions) = 0), " + order
    base = _PATIENTS_LIGHT_SPAN if lapsed else (_PATIENTS_LIGHT if light else _PATIENTS)
    return base, where, order


def worklist(
    conn: Conn,
    clinic_id: str,
    *,
    status: PatientFilter,
    sort: WorklistSort,
    descending: bool,
    search: str,
    offset: int,
    limit: int,
    condition: ConditionFilter = "any",
) -> tuple[list[dict[str, Any]], int]:
    """One offset page of a clinic's patients in the chosen order, and the filtered total.

    Same rows and control status as :func:`list_patients` (one query shape), sorted on
    the server so a clinic with thousands of patients never ships them all to the page.
    """
    light = sort != "last_reading"
    base, where, order = _worklist_parts(status, sort, descending, search, condition)
    sql = (
        "SELECT p.*, count(*) OVER () AS total FROM ("  # noqa: S608 - fixed fragments only
        + base
        + where
        + f") p ORDER BY {order}, member_id LIMIT %(limit)s OFFSET %(offset)s"
    )
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params = {
        "clinic_id": clinic_id,
        "after": "",
        "q": f"%{escaped}%",
        "cond": condition,
        "limit": limit,
        "offset": offset,
    }
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql, params).fetchall()
    if rows and light:
        found = last_data(conn, [r["member_id"] for r in rows])
        for r in rows:
            r["last_data_at"] = found.get(r["member_id"])
    if rows:
        return rows, int(rows[0].pop("total"))
    if offset == 0:  # nothing matched at all: running the list again to count it gives 0
        return rows, 0
    total_sql = "SELECT count(*) FROM (" + base + where + ") p"  # noqa: S608
    row = conn.execute(total_sql, params).fetchone()  # an offset past the end: count anyway
    return rows, int(row[0]) if row else 0


# Which data domain each device type feeds (migration 0001's device types). A cuffless
# monitor counts as a BP device: its readings are stored, never used for control (ESH
# 2022), and the doctor should see that this patient's BP is not assessed.
DEVICE_DOMAIN = {
    "bp_cuff": "bp", "bp_cuffless": "bp", "cgm": "cgm", "glucometer": "smbg",
    "activity_tracker": "activity",
}  # fmt: skip
# A device unbound within a scoring window (90 days) still explains that window's data.
DEVICE_LOOKBACK_DAYS = 90


def device_domains(conn: Conn, member_ids: list[str]) -> dict[str, set[str]]:
    """The data domains each member has (or had within the look-back) a device for."""
    rows = conn.execute(
        "SELECT DISTINCT b.member_id, d.device_type FROM device_bindings b"  # noqa: S608
        " JOIN devices d USING (device_id) WHERE b.member_id = ANY(%s)"
        f" AND (b.valid_to IS NULL OR b.valid_to > now() - interval '{DEVICE_LOOKBACK_DAYS} days')",
        (member_ids,),
    ).fetchall()
    found: dict[str, set[str]] = {}
    for member_id, device_type in rows:
        found.setdefault(member_id, set()).add(DEVICE_DOMAIN[device_type])
    return found


def latest_indicators(conn: Conn, member_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The newest score's indicators per member (same "newest" rule as the list)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT DISTINCT ON (member_id) member_id, indicators FROM scores"
            " WHERE member_id = ANY(%s) ORDER BY member_id, window_end DESC, computed_at DESC",
            (member_ids,),
        ).fetchall()
    return {r["member_id"]: r["indicators"] for r in rows}


def bp_readings(conn: Conn, member_id: str, since: datetime) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT measured_at, utc_offset_min, systolic, diastolic, validated, source"  # noqa: S608
            " FROM bp_readings WHERE member_id = %(member_id)s AND measured_at >= %(since)s"
            f" AND measured_at <@ {_CARE} ORDER BY measured_at",
            {"member_id": member_id, "since": since},
        ).fetchall()


def score_history(conn: Conn, member_id: str, since: datetime, limit: int) -> list[dict[str, Any]]:
    """Score windows ending on or after ``since``: newest computation per window, oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM (SELECT DISTINCT ON (window_start, window_end) window_start,"
            " window_end, algorithm_version, composite, indicators FROM scores"
            " WHERE member_id = %s AND window_end >= %s::date"
            " ORDER BY window_start, window_end, computed_at DESC) w"
            " ORDER BY window_end DESC, window_start DESC LIMIT %s",
            (member_id, since, limit),
        ).fetchall()[::-1]


def glucose_series(
    conn: Conn, member_id: str, method: str, start: datetime, end: datetime
) -> list[tuple[Any, ...]]:
    """(measured_at, utc_offset_min, value, unit, censored, meal_context) in [start, end)."""
    return conn.execute(
        "SELECT measured_at, utc_offset_min, value, unit, censored, meal_context"  # noqa: S608
        " FROM glucose_readings WHERE member_id = %(member_id)s AND method = %(method)s"
        " AND measured_at >= %(start)s AND measured_at < %(end)s"
        f" AND measured_at <@ {_CARE} ORDER BY measured_at",
        {"member_id": member_id, "method": method, "start": start, "end": end},
    ).fetchall()


def control_by_window(conn: Conn, clinic_id: str, windows: int) -> list[dict[str, Any]]:
    """Per score window (the newest ``windows``), how many of the clinic's patients with each
    condition were assessed and controlled, using each member's newest computation.

    Controlled: each condition's status in the score's control block (scoring.control),
    the same rules as the patient list's control status.
    """
    sql = f"""
WITH w AS (
    SELECT DISTINCT s.window_start, s.window_end FROM scores s
      JOIN members m ON m.member_id = s.member_id AND m.clinic_id = %(clinic_id)s
     ORDER BY s.window_end DESC, s.window_start DESC LIMIT %(windows)s),
latest AS (
    SELECT DISTINCT ON (s.member_id, s.window_start, s.window_end)
           s.member_id, s.window_start, s.window_end, s.indicators
      FROM scores s JOIN w USING (window_start, window_end)
      JOIN members m ON m.member_id = s.member_id AND m.clinic_id = %(clinic_id)s
     ORDER BY s.member_id, s.window_start, s.window_end, s.computed_at DESC)
SELECT w.window_start, w.window_end,
       count(l.member_id) FILTER (WHERE {_HT_STATUS} IN ('controlled', 'not_controlled')
                                   AND 'hypertension' = ANY(m.conditions)) AS ht_assessed,
       count(l.member_id) FILTER (WHERE {_HT_STATUS} = 'controlled'
                                   AND 'hypertension' = ANY(m.conditions)) AS ht_controlled,
       count(l.member_id) FILTER (WHERE {_DM_STATUS} IN ('controlled', 'not_controlled')
                                   AND 'diabetes' = ANY(m.conditions)) AS dm_assessed,
       count(l.member_id) FILTER (WHERE {_DM_STATUS} = 'controlled'
                                   AND 'diabetes' = ANY(m.conditions)) AS dm_controlled
  FROM w LEFT JOIN latest l USING (window_start, window_end)
  LEFT JOIN members m ON m.member_id = l.member_id
 GROUP BY w.window_start, w.window_end ORDER BY w.window_end, w.window_start
"""  # noqa: S608 - the interpolated parts are module constants
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, {"clinic_id": clinic_id, "windows": windows}).fetchall()


def condition_counts(conn: Conn, clinic_id: str) -> dict[str, int]:
    """Patients under management per condition (the denominator clinics report)."""
    rows = conn.execute(
        "SELECT c, count(*) FROM members, unnest(conditions) c WHERE clinic_id = %s GROUP BY c",
        (clinic_id,),
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


# No reading in the last 7 days under the consent span, as a column: probes that stop at a
# patient's first recent reading (the follow-up list needs it for every patient).
_SILENT = (
    "NOT ("  # noqa: S608 (constants only)
    + " OR ".join(
        f"EXISTS (SELECT 1 FROM {table} x WHERE x.member_id = m.member_id"  # noqa: S608
        f" AND x.{col} > now() - interval '{NO_DATA_DAYS} days' AND x.{col} <@ cs.span)"
        for table, col in (
            ("bp_readings", "measured_at"),
            ("glucose_readings", "measured_at"),
            ("activity_readings", "start_at"),
        )
    )
    + ")"
)
_FOLLOW_UP_BASE = _PATIENTS_LIGHT_SPAN.replace(
    "SELECT m.member_id,", f"SELECT {_SILENT} AS silent, m.member_id,", 1
)


def follow_up(conn: Conn, clinic_id: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Patients with an open critical alert, uncontrolled, or silent for 7 days (that order);
    the newest reading is looked up for the listed patients only."""
    need = (
        " AND (coalesce(a.critical_alerts, 0) > 0"
        f" OR (s.member_id IS NOT NULL AND {_UNCONTROLLED})"
        f" OR {_SILENT})"
    )
    sql = (
        "SELECT p.*, count(*) OVER () AS total FROM ("  # noqa: S608 - fixed fragments only
        + _FOLLOW_UP_BASE
        + need
        + ") p ORDER BY coalesce(critical_alerts, 0) DESC,"
        " (control_status = 'uncontrolled') DESC, silent DESC, member_id"
        " LIMIT %(limit)s"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql, {"clinic_id": clinic_id, "after": "", "limit": limit}).fetchall()
    total = int(rows[0]["total"]) if rows else 0
    found = last_data(conn, [r["member_id"] for r in rows]) if rows else {}
    for r in rows:
        r.pop("total")
        r["last_data_at"] = found.get(r["member_id"])
    return rows, total


# Open alerts as episodes across a clinic's patients: one per member, kind and local day
# (55 readings of one bad morning are one line), criticals first, newest first; each with
# its alert ids (one click acknowledges them all) and the newest readings' values. Only
# alerts observed while the member's clinic-care consent was in force (PIPL).
_EPISODES = """
SELECT a.member_id, m.display_name, a.kind, a.severity,
       (a.observed_at AT TIME ZONE %(tz)s)::date AS day, count(*) AS n,
       min(a.observed_at) AS first_at, max(a.observed_at) AS last_at,
       array_agg(a.alert_id ORDER BY a.observed_at) AS alert_ids,
       (array_agg(a.detail ORDER BY a.observed_at DESC))[1:5] AS details,
       count(*) OVER () AS total
  FROM members m
  JOIN clinic_care_spans(%(clinic_id)s) cs ON cs.member_id = m.member_id
  JOIN alerts a ON a.member_id = m.member_id AND a.acknowledged_at IS NULL
                AND a.observed_at <@ cs.span
 WHERE m.clinic_id = %(clinic_id)s AND (%(severity)s = 'all' OR a.severity = %(severity)s)
 GROUP BY a.member_id, m.display_name, a.kind, a.severity, 5
 ORDER BY (a.severity = 'critical') DESC, max(a.observed_at) DESC, a.member_id, a.kind
 LIMIT %(limit)s OFFSET %(offset)s
"""


def alert_episodes(
    conn: Conn, clinic_id: str, tz: str, severity: str, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    params = {"clinic_id": clinic_id, "tz": tz, "severity": severity, "offset": offset,
              "limit": limit}  # fmt: skip
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_EPISODES, params).fetchall()
    total = int(rows[0]["total"]) if rows else 0
    for r in rows:
        r.pop("total")
    return rows, total
