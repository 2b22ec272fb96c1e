"""``/clinic``: a clinic's patients, one patient's indicators and trends, alerts, export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime

from api.auth.service import Principal
from api.clinic import service, views
from api.clinic.schemas import (
    AcknowledgedOut,
    BpViewOut,
    DispensingsIn,
    EpisodeAckIn,
    EpisodeAckOut,
    EpisodesOut,
    GlucoseViewOut,
    LabResultsIn,
    OverviewOut,
    PatientDetailOut,
    PatientsPage,
    UploadedOut,
    WorklistOut,
)
from api.deps import SettingsDep, TxDep, require

router = APIRouter(prefix="/clinic", tags=["clinic"])
Clinic = Annotated[Principal, Depends(require("clinic"))]
MemberId = Annotated[str, Path(min_length=1, max_length=128)]
FHIR_JSON = "application/fhir+json"


@router.get("/patients", response_model=PatientsPage, response_model_exclude_unset=True)
def list_patients(
    tx: TxDep,
    clinic: Clinic,
    status: Annotated[
        Literal["all", "uncontrolled", "no_data_7d", "new_alerts"],
        Query(description="uncontrolled | no_data_7d (no reading for 7 days) | new_alerts (open)"),
    ] = "all",
    after: Annotated[str, Query(max_length=128, description="cursor: last member_id seen")] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Patients with current score, control status and open alerts, one page at a time."""
    return service.list_patients(tx, clinic, status=status, after=after, limit=limit)


@router.get(
    "/patients/{member_id}",
    response_model=PatientDetailOut,
    response_model_exclude_unset=True,
)
def patient(
    member_id: MemberId,
    tx: TxDep,
    clinic: Clinic,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """Latest indicators, open alerts, daily BP/glucose/steps trends, recent glucose, and
    the score at the last visit (the visit report's "what changed")."""
    return service.patient_detail(tx, clinic, member_id, days, settings.product_timezone)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AcknowledgedOut,
    response_model_exclude_unset=True,
)
def acknowledge(alert_id: Annotated[int, Path(ge=1)], tx: TxDep, clinic: Clinic) -> dict[str, Any]:
    return service.acknowledge(tx, clinic, alert_id)


@router.get("/alerts", response_model=EpisodesOut, response_model_exclude_unset=True)
def alert_episodes(
    tx: TxDep,
    clinic: Clinic,
    settings: SettingsDep,
    severity: Annotated[
        Literal["all", "critical", "warning"], Query(description="critical first in all")
    ] = "all",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The clinic's open alerts as episodes (member, kind, local day), criticals first,
    with the newest readings' values and the alert ids to acknowledge them at once."""
    return service.alert_episodes(tx, clinic, settings.product_timezone, severity, offset, limit)


@router.post("/alerts/acknowledge", response_model=EpisodeAckOut)
def acknowledge_episode(body: EpisodeAckIn, tx: TxDep, clinic: Clinic) -> dict[str, Any]:
    """Acknowledge every alert of an episode in one request (each checked and audited)."""
    return service.acknowledge_episode(tx, clinic, body.alert_ids)


def _window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or datetime.now(UTC)
    return (start or end - timedelta(days=30), end)


@router.get(
    "/patients/{member_id}/observations.fhir",
    responses={200: {"content": {FHIR_JSON: {}}, "description": "FHIR R4 Bundle"}},
)
def export_fhir(
    member_id: MemberId,
    tx: TxDep,
    clinic: Clinic,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    lang: Annotated[
        Literal["en", "zh"], Query(description="language of the resources' narratives")
    ] = "en",
) -> Response:
    """Readings in [start, end) (default: last 30 days) as a FHIR R4 collection Bundle with
    the Patient (pseudonymous) and the Devices, narratives in ``lang``."""
    s, e = _window(start, end)
    body = service.export_readings(tx, clinic, member_id, s, e, "fhir", lang)
    return JSONResponse(body, media_type=FHIR_JSON)


@router.get(
    "/patients/{member_id}/observations.csv",
    responses={200: {"content": {"text/csv": {}}, "description": "CSV"}},
)
def export_csv(
    member_id: MemberId,
    tx: TxDep,
    clinic: Clinic,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
) -> Response:
    s, e = _window(start, end)
    body = service.export_readings(tx, clinic, member_id, s, e, "csv")
    assert isinstance(body, str)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{member_id}.csv"'},
    )


# --- dashboard views (api/clinic/views.py) ------------------------------------------------


@router.get("/worklist", response_model=WorklistOut, response_model_exclude_unset=True)
def worklist(
    tx: TxDep,
    clinic: Clinic,
    status: Annotated[
        Literal["all", "uncontrolled", "no_data_7d", "new_alerts"],
        Query(description="uncontrolled | no_data_7d (no reading for 7 days) | new_alerts (open)"),
    ] = "all",
    sort: Annotated[
        Literal["alerts", "name", "last_reading", "composite", "status", "bp", "tir", "tbr"],
        Query(
            description="alerts: open critical, then open alerts first (with desc=true);"
            " bp: latest home systolic mean; tir / tbr: latest CGM time in / below range"
        ),
    ] = "alerts",
    desc: bool = True,
    condition: Annotated[
        Literal["any", "hypertension", "diabetes", "ckd", "hyperlipidaemia", "none"],
        Query(description="only patients with this condition (none: without any)"),
    ] = "any",
    q: Annotated[str, Query(max_length=64, description="member id or name contains")] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The dashboard's patient list: per-condition traffic lights, sufficiency, sorted pages."""
    return views.worklist(
        tx,
        clinic,
        status=status,
        sort=sort,
        descending=desc,
        search=q.strip(),
        offset=offset,
        limit=limit,
        condition=condition,
    )


@router.get("/patients/{member_id}/bp", response_model=BpViewOut, response_model_exclude_unset=True)
def patient_bp(
    member_id: MemberId,
    tx: TxDep,
    clinic: Clinic,
    days: Annotated[int, Query(ge=1, le=366)] = 90,
) -> dict[str, Any]:
    """BP readings, the member's target band and the home-protocol mean of each score window."""
    return views.bp_view(tx, clinic, member_id, days)


@router.get(
    "/patients/{member_id}/glucose",
    response_model=GlucoseViewOut,
    response_model_exclude_unset=True,
)
def patient_glucose(
    member_id: MemberId,
    tx: TxDep,
    clinic: Clinic,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """14-day AGP (mg/dL), the stored time-in-ranges bar, fingerstick readings by meal."""
    return views.glucose_view(tx, clinic, member_id, days)


@router.get("/overview", response_model=OverviewOut, response_model_exclude_unset=True)
def overview(
    tx: TxDep,
    clinic: Clinic,
    windows: Annotated[int, Query(ge=1, le=52)] = 12,
) -> dict[str, Any]:
    """Control rate per condition per score window; patients needing follow-up this week."""
    return views.overview(tx, clinic, windows)


@router.post("/patients/{member_id}/labs", response_model=UploadedOut, status_code=201)
def upload_labs(
    member_id: MemberId, body: LabResultsIn, tx: TxDep, clinic: Clinic
) -> dict[str, Any]:
    """Lab HbA1c and LDL-C results: the no-device path to glucose and lipid control."""
    rows = [(r.loinc, r.value, r.unit, r.taken_at) for r in body.results]
    return service.upload_lab_results(tx, clinic, member_id, rows)


@router.post("/patients/{member_id}/dispensings", response_model=UploadedOut, status_code=201)
def upload_dispensings(
    member_id: MemberId, body: DispensingsIn, tx: TxDep, clinic: Clinic
) -> dict[str, Any]:
    """Medication fills (antihypertensive, glucose-lowering, statin): adherence as PDC."""
    rows = [(r.drug_class, r.dispensed_on, r.days_supply) for r in body.records]
    return service.upload_dispensings(tx, clinic, member_id, rows)
