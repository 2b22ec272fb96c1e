"""Clinic use cases; every one goes through the tenancy gate and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from api.audit import service as audit
from api.auth.service import Principal
from api.clinic import fhir
from api.clinic import repository as repo
from api.clinic import upload_repository as uploads
from api.clinic import visit_repository as visits
from api.deps import Tx
from api.tenancy import access_member
from core.errors import InvalidInput, NotFound
from scoring import repository as scores

# The longest export window: a quarter of CGM data is ~26,000 readings per member.
MAX_EXPORT_DAYS = 92
RECENT_GLUCOSE = 96  # one day of 15-minute CGM readings
# Without a recorded visit, the visit report compares with the score of a month before:
# the national follow-up schedule sees these patients about monthly to quarterly.
NO_VISIT_COMPARE_DAYS = 30
NO_ALERT = "no such alert"


def list_patients(
    tx: Tx, clinic: Principal, *, status: repo.PatientFilter, after: str, limit: int
) -> dict[str, Any]:
    assert clinic.tenant_id is not None
    rows = repo.list_patients(tx.conn, clinic.tenant_id, status=status, after=after, limit=limit)
    # A list shows each patient's data: one audit row per patient on the page.
    audit.record_many(
        tx.conn,
        clinic,
        "clinic.patients.list",
        [r["member_id"] for r in rows],
        detail={"filter": status},
    )
    next_cursor = rows[-1]["member_id"] if len(rows) == limit else None
    return {"items": rows, "next_cursor": next_cursor}


def since_last_visit(
    tx: Tx, member_id: str, score: dict[str, Any] | None, tz: str
) -> dict[str, Any] | None:
    """The score to set beside the current one on the visit report ("what changed").

    The basis is the last visit (the newest day before today with an office BP or a lab
    result): the doctor asks what changed since they last saw the patient. Without one,
    the score of a month before the current window's end, and the report says which.
    """
    if score is None:
        return None
    today = datetime.now(ZoneInfo(tz)).date()
    visit = visits.last_visit(tx.conn, member_id, today, tz)
    basis, day = ("visit", visit) if visit else (
        "month", score["window_end"] - timedelta(days=NO_VISIT_COMPARE_DAYS)
    )  # fmt: skip
    before = scores.latest_score(tx.conn, member_id, ended_by=day)
    return {"basis": basis, "day": day, "score": before}


def patient_detail(tx: Tx, who: Principal, member_id: str, days: int, tz: str) -> dict[str, Any]:
    access_member(tx, who, member_id, "clinic.patient.read", {"days": days})
    summary = repo.patient(tx.conn, member_id)
    assert summary is not None
    score = scores.latest_score(tx.conn, member_id)
    since = datetime.now(UTC) - timedelta(days=days)
    trends: dict[str, list[dict[str, Any]]] = {"bp": [], "glucose": [], "steps": []}
    for r in repo.daily_trends(tx.conn, member_id, since):
        if r["kind"] == "bp":
            trends["bp"].append(
                {"day": r["day"], "n": r["n"], "mean_sys": r["mean_a"], "mean_dia": r["mean_b"]}
            )
        elif r["kind"] == "glucose":
            trends["glucose"].append({"day": r["day"], "n": r["n"], "mean_mgdl": r["mean_a"]})
        else:
            trends["steps"].append(
                {"day": r["day"], "steps": r["mean_a"], "active_minutes": r["mean_b"]}
            )
    return {
        "patient": summary,
        "score": score,
        "alerts": repo.open_alerts(tx.conn, member_id),
        "trends": trends,
        "recent_glucose": repo.recent_glucose(tx.conn, member_id, RECENT_GLUCOSE),
        "previous": since_last_visit(tx, member_id, score, tz),
    }


def acknowledge(tx: Tx, who: Principal, alert_id: int) -> dict[str, Any]:
    member_id = repo.alert_member(tx.conn, alert_id)
    if member_id is None:
        raise NotFound(NO_ALERT)
    # Another clinic's alert answers exactly as an alert that does not exist (finding 11).
    access_member(
        tx, who, member_id, "clinic.alert.acknowledge", {"alert_id": alert_id},
        not_found=NotFound(NO_ALERT),
    )  # fmt: skip
    return repo.acknowledge_alert(tx.conn, alert_id, who.name)


def acknowledge_episode(tx: Tx, who: Principal, alert_ids: list[int]) -> dict[str, Any]:
    """Acknowledge every alert of an episode at once; each is checked and audited as a
    single acknowledgement is (another clinic's id answers as one that does not exist)."""
    done = [acknowledge(tx, who, i) for i in dict.fromkeys(alert_ids)]
    return {"acknowledged": len(done), "alert_ids": [d["alert_id"] for d in done]}


def alert_episodes(
    tx: Tx, who: Principal, tz: str, severity: str, offset: int, limit: int
) -> dict[str, Any]:
    """The clinic's open alerts as episodes, criticals first; the members shown are audited."""
    assert who.tenant_id is not None
    rows, total = repo.alert_episodes(tx.conn, who.tenant_id, tz, severity, offset, limit)
    audit.record_many(
        tx.conn, who, "clinic.alerts", sorted({r["member_id"] for r in rows}),
        detail={"severity": severity},
    )  # fmt: skip
    return {"items": rows, "total": total, "offset": offset, "limit": limit}


def export_readings(
    tx: Tx,
    who: Principal,
    member_id: str,
    start: datetime,
    end: datetime,
    fmt: str,
    lang: fhir.Lang = "en",
) -> dict[str, Any] | str:
    if end <= start or end - start > timedelta(days=MAX_EXPORT_DAYS):
        raise InvalidInput(
            f"the export window must be positive and at most {MAX_EXPORT_DAYS} days",
            errors=[
                {"field": "query.end", "message": f"end - start in (0, {MAX_EXPORT_DAYS}] days"}
            ],
        )
    access_member(
        tx,
        who,
        member_id,
        f"clinic.export.{fmt}",
        {"start": start.isoformat(), "end": end.isoformat()},
    )
    data = repo.readings(tx.conn, member_id, start, end)
    if fmt == "fhir":
        ids = sorted({r["device_id"] for rows in data.values() for r in rows})
        devices = repo.devices(tx.conn, ids)
        summaries = repo.cgm_summaries(tx.conn, member_id, start, end)
        return fhir.bundle(
            member_id, data, datetime.now(UTC), devices=devices, summaries=summaries, lang=lang
        )
    return fhir.to_csv(data)


def upload_lab_results(
    tx: Tx, who: Principal, member_id: str, rows: Sequence[tuple[str, float, str, datetime]]
) -> dict[str, Any]:
    """Lab HbA1c / LDL-C results for one of the clinic's patients (audited with the count)."""
    access_member(tx, who, member_id, "clinic.labs.upload", {"results": len(rows)})
    stored = uploads.insert_lab_results(tx.conn, member_id, who.tenant_id, who.name, rows)
    return {"received": len(rows), "stored": stored}


def upload_dispensings(
    tx: Tx, who: Principal, member_id: str, rows: Sequence[tuple[str, date, int]]
) -> dict[str, Any]:
    """Medication fills for one of the clinic's patients (audited with the count)."""
    access_member(tx, who, member_id, "clinic.dispensings.upload", {"records": len(rows)})
    stored = uploads.insert_dispensings(tx.conn, member_id, who.tenant_id, who.name, rows)
    return {"received": len(rows), "stored": stored}
