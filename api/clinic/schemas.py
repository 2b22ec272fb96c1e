"""What the clinic endpoints send: patient lists, one patient's data, the dashboard views.

The services return plain dicts; these models document them in the OpenAPI document and
check them on the way out. Routes set ``response_model_exclude_unset=True``, so a key the
service did not send is not added. Score components, indicators and alert details are the
documents scoring stored (docs/scoring.md), passed through as they are.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

Number = float | int  # as stored: a count stays an integer, a mean a float


class PatientOut(BaseModel):
    """A patient with the newest score, control status, open alerts and newest data."""

    member_id: str
    display_name: str | None
    birth_date: date
    sex: str
    conditions: list[str]
    window_start: date | None
    window_end: date | None
    algorithm_version: str | None
    composite: float | None
    improvement: float | None
    components: dict[str, Any] | None
    control_status: str = Field(description="controlled, uncontrolled or insufficient")
    open_alerts: int
    critical_alerts: int | None
    newest_alert_at: datetime | None
    last_data_at: datetime | None


class PatientsPage(BaseModel):
    items: list[PatientOut]
    next_cursor: str | None = Field(description="pass as ?after= for the next page")


class ScoreOut(BaseModel):
    window_start: date
    window_end: date
    algorithm_version: str
    computed_at: datetime
    composite: float | None
    improvement: float | None
    components: dict[str, Any]
    indicators: dict[str, Any]


class AlertOut(BaseModel):
    alert_id: int
    kind: str
    severity: str
    observed_at: datetime
    detail: dict[str, Any]
    created_at: datetime


class BpDayOut(BaseModel):
    day: datetime
    n: int
    mean_sys: float | None
    mean_dia: float | None


class GlucoseDayOut(BaseModel):
    day: datetime
    n: int
    mean_mgdl: float | None


class StepsDayOut(BaseModel):
    day: datetime
    steps: float | None
    active_minutes: float | None


class TrendsOut(BaseModel):
    bp: list[BpDayOut]
    glucose: list[GlucoseDayOut]
    steps: list[StepsDayOut]


class GlucoseReadingOut(BaseModel):
    measured_at: datetime
    value: float | None = Field(description="in ``unit``; null when censored (LO/HI)")
    unit: str
    censored: str | None
    method: str
    meal_context: str | None


class PreviousScoreOut(BaseModel):
    """The score the visit report compares with, and why that one."""

    basis: Literal["visit", "month"] = Field(
        description="visit: the last day the clinic measured the patient (office BP or a"
        " lab result); month: no visit recorded, a month before the current window's end"
    )
    day: date
    score: ScoreOut | None = Field(description="the newest score whose window ended by then")


class PatientDetailOut(BaseModel):
    patient: PatientOut
    score: ScoreOut | None
    alerts: list[AlertOut]
    trends: TrendsOut
    recent_glucose: list[GlucoseReadingOut]
    previous: PreviousScoreOut | None = None


class AcknowledgedOut(BaseModel):
    """The alert as acknowledged (a second acknowledgement keeps the first's time and author)."""

    alert_id: int
    member_id: str
    kind: str
    severity: str
    observed_at: datetime
    acknowledged_at: datetime
    acknowledged_by: str


class EpisodeOut(BaseModel):
    """Open alerts of one member, kind and local day: one line, acknowledged at once."""

    member_id: str
    display_name: str | None
    kind: str
    severity: str
    day: date = Field(description="the local day (the product's time zone)")
    n: int = Field(description="alerts in the episode")
    first_at: datetime
    last_at: datetime
    alert_ids: list[int]
    details: list[dict[str, Any] | None] = Field(description="the newest readings' values")


class EpisodesOut(BaseModel):
    items: list[EpisodeOut]
    total: int
    offset: int
    limit: int


class EpisodeAckIn(BaseModel):
    alert_ids: list[int] = Field(min_length=1, max_length=1000)


class EpisodeAckOut(BaseModel):
    acknowledged: int
    alert_ids: list[int]


class WorklistItemOut(BaseModel):
    member_id: str
    display_name: str | None
    conditions: list[str]
    control_status: str
    lights: dict[str, str] = Field(description="condition -> green, amber, red or grey")
    sufficiency: dict[str, bool | None] = Field(description="domain -> enough data (null: none)")
    composite: float | None
    window_end: date | None
    last_data_at: datetime | None
    open_alerts: int
    critical_alerts: int
    newest_alert_at: datetime | None
    last_bp_sys: float | None = Field(default=None, description="latest home BP mean, mmHg")
    last_bp_dia: float | None = None
    tir: float | None = Field(default=None, description="latest CGM time in range, %")
    tbr70: float | None = Field(default=None, description="latest CGM time below 70 mg/dL, %")


class WorklistOut(BaseModel):
    items: list[WorklistItemOut]
    total: int
    offset: int
    limit: int


class BpReadingOut(BaseModel):
    t: datetime
    utc_offset_min: int
    sys: int
    dia: int
    validated: bool
    source: str
    grade3: bool = Field(
        default=False, description="grade 3: >= 180 systolic or >= 110 diastolic mmHg"
    )


class BpTargetOut(BaseModel):
    sys: Number
    dia: Number
    source: str = Field(description="score (the target the score used) or default")


class ProtocolMeanOut(BaseModel):
    window_start: date
    window_end: date
    home_mean_sys: Number
    home_mean_dia: Number | None
    controlled: bool | None
    protocol_days: int | None


class ControlOut(BaseModel):
    """One own condition's control status from the newest score (scoring's control block)."""

    status: str = Field(description="controlled, not_controlled or insufficient")
    source: str | None = Field(description="home_bp, cgm, smbg, or null")
    reason_en: str
    reason_zh: str
    hypo_target_missed: bool = Field(
        default=False, description="a hypoglycaemia target was missed: show first"
    )


class BpViewOut(BaseModel):
    start: datetime
    end: datetime
    lights: dict[str, str]
    control: dict[str, ControlOut] = Field(
        default_factory=dict, description="condition -> status and reason (newest score)"
    )
    readings: list[BpReadingOut]
    target: BpTargetOut
    protocol_means: list[ProtocolMeanOut]
    hbpm: dict[str, float | bool | None] = Field(
        default_factory=dict,
        description="the newest score's morning and evening means (HBPM) and whether the"
        " morning mean is above target (morning hypertension)",
    )


class AgpOut(BaseModel):
    """The ambulatory glucose profile (mg/dL): percentiles per time-of-day bin."""

    minute_of_day: list[int]
    p05: list[float | None]
    p25: list[float | None]
    p50: list[float | None]
    p75: list[float | None]
    p95: list[float | None]
    n: list[int]


class AgpStatsOut(BaseModel):
    n_readings: int | None
    active_pct: Number | None
    mean_mgdl: Number | None
    gmi: Number | None
    cv: Number | None
    sufficient: bool | None


class TirBarOut(BaseModel):
    very_low: Number
    low: Number
    in_range: Number
    high: Number
    very_high: Number


class ScoreWindowOut(BaseModel):
    start: date
    end: date


class FingerstickOut(BaseModel):
    t: datetime
    utc_offset_min: int
    mgdl: float | None
    unit: str
    value: float | None
    censored: str | None
    meal_context: str | None


class DailyProfileOut(BaseModel):
    """One local day's CGM trace: 15-minute bin means (mg/dL), bins without data left out."""

    day: date
    minute_of_day: list[int]
    mgdl: list[float]


class GlucoseViewOut(BaseModel):
    agp: AgpOut | None
    agp_missing: None = Field(
        default=None, deprecated=True, description="always null: the AGP is always computed"
    )
    agp_start: datetime
    agp_end: datetime
    agp_readings: int
    tir: TirBarOut | None
    agp_stats: AgpStatsOut
    score_window: ScoreWindowOut | None
    smbg: list[FingerstickOut]
    daily: list[DailyProfileOut] = Field(
        default_factory=list, description="the AGP report's daily profiles, last 14 days"
    )


class ControlWindowOut(BaseModel):
    window_start: date
    window_end: date
    managed: int
    assessed: int
    controlled: int
    rate: float | None = Field(description="controlled / managed, in percent")


class FollowUpOut(BaseModel):
    member_id: str
    display_name: str | None
    conditions: list[str]
    reasons: list[str] = Field(description="critical_alert, uncontrolled, no_data_7d")
    last_data_at: datetime | None
    open_alerts: int


class OverviewOut(BaseModel):
    managed: dict[str, int]
    control: dict[str, list[ControlWindowOut]]
    follow_up: list[FollowUpOut]
    follow_up_total: int


class LabResultIn(BaseModel):
    """One laboratory result: HbA1c (LOINC 4548-4, in %) or LDL-C (13457-7 calculated,
    18262-6 direct; mmol/L or mg/dL); or the exercise a follow-up visit recorded (82290-8,
    minutes a week of moderate or vigorous activity, 0 allowed)."""

    loinc: Literal["4548-4", "13457-7", "18262-6", "82290-8"]
    value: float = Field(ge=0, le=10080)
    unit: Literal["%", "mmol/L", "mg/dL", "min/wk"]
    taken_at: AwareDatetime

    @model_validator(mode="after")
    def _unit_fits_test(self) -> LabResultIn:
        if (self.loinc == "4548-4") != (self.unit == "%") or (self.loinc == "82290-8") != (
            self.unit == "min/wk"
        ):
            raise ValueError(
                "HbA1c (4548-4) is in %; exercise (82290-8) in min/wk; LDL-C in mmol/L or mg/dL"
            )
        if self.loinc != "82290-8" and not 0 < self.value < 1000:
            raise ValueError("a laboratory value must be above 0 and below 1000")
        return self


class LabResultsIn(BaseModel):
    results: list[LabResultIn] = Field(min_length=1, max_length=500)


class DispensingIn(BaseModel):
    """One fill of a chronic medication: its class, the day, the days it lasts."""

    drug_class: Literal["antihypertensive", "glucose_lowering", "statin"]
    dispensed_on: date
    days_supply: int = Field(ge=1, le=365)


class DispensingsIn(BaseModel):
    records: list[DispensingIn] = Field(min_length=1, max_length=500)


class UploadedOut(BaseModel):
    received: int
    stored: int = Field(description="new rows; a row already stored is not stored twice")
