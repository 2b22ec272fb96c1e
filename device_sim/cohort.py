"""Simulated Huimin Bao members: demographics, conditions, habits, clinics and device kits.

Everything is drawn from one ``numpy.random.default_rng(seed)`` in a fixed order, so a
seed names a cohort: the demo, the tests and the benchmarks can regenerate the same
members without storing them.

Sources for the distributions are cited next to each constant. Where no published figure
exists (the age mix of Huimin Bao enrolees, adherence to home monitoring in a programme
like this one) the number is a stated assumption, chosen to look plausible to a clinician
and easy to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Literal, NamedTuple

import numpy as np

from core.units import MG_DL, MMOL_L, GlucoseUnit

Sex = Literal["F", "M"]
Trajectory = Literal["improving", "stable", "worsening"]
DeviceType = Literal["bp_cuff", "bp_cuffless", "cgm", "glucometer", "activity_tracker"]
PayloadStyle = Literal["compact", "omh"]

# --- demographics ------------------------------------------------------------------------
# Age bands of adult enrolees (lower bound inclusive, upper exclusive) and their shares.
# ASSUMPTION: Huimin Bao is voluntary and bought disproportionately by older people
# (adverse selection; insurers' 2022-2023 city reports put 60+ at roughly a third or more
# of enrolees), so the mix is older than the 2020 census adult population.
AGE_BANDS: Final[tuple[tuple[int, int], ...]] = (
    (18, 25), (25, 35), (35, 45), (45, 55), (55, 65), (65, 75), (75, 90),
)  # fmt: skip
AGE_BAND_SHARE: Final = (0.05, 0.12, 0.14, 0.19, 0.20, 0.19, 0.11)
SHARE_FEMALE: Final = 0.52  # ASSUMPTION: women slightly over-represented among buyers.

# Hypertension prevalence by the same age bands: China Hypertension Survey 2012-2015
# (Wang Z et al., Circulation 2018;137:2344-56, Table 2): 4.0, 6.1, 15.0, 29.6, 44.6,
# 55.7, 60.2 %; crude adult prevalence 23.2 %, men 24.5 % vs women 21.9 %.
HYPERTENSION_BY_BAND: Final = (0.040, 0.061, 0.150, 0.296, 0.446, 0.557, 0.602)
HYPERTENSION_SEX_RR: Final = {"M": 1.06, "F": 0.94}  # ~24.5 / 23.2 and ~21.9 / 23.2
# Diabetes (ADA criteria) by age band: Li Y et al., BMJ 2020;369:m997 report 12.8 % overall,
# rising steeply with age (about 5 % under 30 to about 30 % at 70+). These per-band values
# are ASSUMED interpolations of that gradient (not copied from the paper's table) and
# reproduce ~12.8 % on the census adult age mix.
DIABETES_BY_BAND: Final = (0.040, 0.055, 0.085, 0.140, 0.210, 0.270, 0.300)
DIABETES_SEX_RR: Final = {"M": 1.05, "F": 0.95}  # Li 2020: men 13.7 %, women 12.0 %

# --- treatment, habits, devices -------------------------------------------------------------
# Wang 2018: 40.7 % of hypertensive adults treated. A health-management programme enrols
# the engaged, so ASSUME more of them are treated here.
SHARE_HYPERTENSIVE_TREATED: Final = 0.65
SHARE_DIABETIC_ON_HYPO_RISK_DRUGS: Final = 0.25  # ASSUMPTION: insulin or sulfonylurea.
TRAJECTORY_SHARE: Final[dict[Trajectory, float]] = {
    "improving": 0.30, "stable": 0.50, "worsening": 0.20,
}  # fmt: skip  # ASSUMPTION
SHARE_DIABETICS_WITH_CGM: Final = 0.30  # ASSUMPTION (CGM is self-paid in China)
SHARE_CGM_MG_DL: Final = 0.15  # Chinese devices report mmol/L; some imported ones mg/dL.
SHARE_GLUCOMETER_MG_DL: Final = 0.05
SHARE_WITH_TRACKER: Final = 0.80
SHARE_NON_HYPERTENSIVE_WITH_CUFF: Final = 0.15  # bought for screening
SHARE_WITH_CUFFLESS: Final = 0.05  # smartwatch "BP"; ESH 2022: not validated for management
SHARE_OMH_DEVICES: Final = 0.25  # which payload format a device's app speaks (configurable)
# Adherence: probability of doing a scheduled measurement on a given day, Beta(a, b).
# ASSUMPTION: mean ~0.62, a long tail of people who rarely measure.
ADHERENCE_BETA: Final = (2.4, 1.5)

MODELS: Final[dict[DeviceType, tuple[str, ...]]] = {
    "bp_cuff": ("Omron HEM-7136", "Yuwell YE660D", "Omron U32J"),
    "bp_cuffless": ("SmartWatch BP-1",),
    "cgm": ("Sibionics GS1", "FreeStyle Libre 2", "Yuwell Anytime CT3"),
    "glucometer": ("Sinocare GA-3", "Yuwell 580", "Accu-Chek Instant"),
    "activity_tracker": ("Mi Band 8", "Huawei Band 8", "Amazfit Band 7"),
}
_SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN: Final = (
    "秀英",
    "桂英",
    "建华",
    "国强",
    "丽",
    "伟",
    "芳",
    "军",
    "静",
    "海燕",
    "志明",
    "玉兰",
)
_CLINIC_AREAS: Final = (
    ("Gulou", "鼓楼"), ("Xinjiekou", "新街口"), ("Hexi", "河西"), ("Xianlin", "仙林"),
    ("Jiangning", "江宁"), ("Pukou", "浦口"), ("Qinhuai", "秦淮"), ("Xuanwu", "玄武"),
)  # fmt: skip


@dataclass(frozen=True)
class SimDevice:
    device_id: str
    device_type: DeviceType
    validated: bool
    model: str
    payload_style: PayloadStyle = "compact"
    unit: GlucoseUnit | None = None  # glucose devices only


@dataclass(frozen=True)
class SimClinic:
    clinic_id: str
    name: str
    name_zh: str


@dataclass(frozen=True)
class SimMember:
    """A member and the traits that drive their simulated readings."""

    member_id: str
    birth_date: date
    sex: Sex
    conditions: tuple[str, ...]
    clinic_id: str | None
    display_name: str
    devices: list[SimDevice] = field(default_factory=list)
    age: int = 0
    adherence: float = 0.6
    trajectory: Trajectory = "stable"
    treated: bool = False  # on antihypertensive medication
    hypo_prone: bool = False  # insulin or sulfonylurea
    seed: int = 0  # per-member stream for the physiology models

    def device(self, device_type: DeviceType) -> SimDevice | None:
        return next((d for d in self.devices if d.device_type == device_type), None)

    @property
    def over_treated(self) -> bool:
        """ASSUMPTION: one in four members on insulin or sulfonylureas is over-treated (good
        time in range bought with frequent lows), so the demo has the case a clinic must
        not see as success. From the member's seed: no extra random draw, so the rest of a
        cohort is the same with or without this subgroup."""
        return self.hypo_prone and self.seed % 4 == 0


@dataclass(frozen=True)
class Cohort:
    members: list[SimMember]
    clinics: list[SimClinic]
    start: date
    seed: int


def _hex_ids(rng: np.random.Generator, n: int, prefix: str, taken: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        for v in rng.integers(0, 2**40, size=n - len(out)):
            ident = f"{prefix}-{int(v):010x}"
            if ident not in taken:
                taken.add(ident)
                out.append(ident)
    return out


def _clinics(rng: np.random.Generator, n_members: int) -> list[SimClinic]:
    n = int(min(len(_CLINIC_AREAS), max(2, n_members // 60)))
    picks = rng.permutation(len(_CLINIC_AREAS))[:n]
    return [
        SimClinic(
            f"clinic-{_CLINIC_AREAS[i][0].lower()}",
            f"{_CLINIC_AREAS[i][0]} Community Health Service Centre",
            f"{_CLINIC_AREAS[i][1]}社区卫生服务中心",
        )
        for i in sorted(picks)
    ]


def band_of(ages: np.ndarray) -> np.ndarray:
    """Index into :data:`AGE_BANDS` for each age (ages outside fall in the edge bands)."""
    edges = np.array([lo for lo, _ in AGE_BANDS[1:]])
    return np.searchsorted(edges, ages, side="right")


def generate_cohort(
    n: int,
    *,
    seed: int,
    start: date,
    omh_share: float = SHARE_OMH_DEVICES,
    cuffless_share: float = SHARE_WITH_CUFFLESS,
) -> list[SimMember]:
    """``n`` members as of ``start`` (the first simulated day); see :func:`generate`."""
    return generate(n, seed=seed, start=start, omh_share=omh_share, cuffless_share=cuffless_share)[
        0
    ]


class _Draws(NamedTuple):
    """The cohort's population-level draws, one value (or row) per member."""

    age_days: np.ndarray
    female: np.ndarray
    htn: np.ndarray
    dm: np.ndarray
    treated: np.ndarray
    hypo_prone: np.ndarray
    adherence: np.ndarray
    traj: np.ndarray
    has_clinic: np.ndarray
    clinic_idx: np.ndarray
    member_seeds: np.ndarray
    u_cuff: np.ndarray
    u_cuffless: np.ndarray
    u_cgm: np.ndarray
    u_tracker: np.ndarray
    u_unit: np.ndarray
    u_style: np.ndarray
    model_pick: np.ndarray
    surname: np.ndarray
    given: np.ndarray


def _draw(rng: np.random.Generator, n: int, n_clinics: int) -> _Draws:
    """Every population-level draw, in the order that makes a seed name a cohort."""
    band = rng.choice(len(AGE_BANDS), size=n, p=np.array(AGE_BAND_SHARE) / sum(AGE_BAND_SHARE))
    lo = np.array([b[0] for b in AGE_BANDS])[band]
    hi = np.array([b[1] for b in AGE_BANDS])[band]
    age_days = rng.integers(lo * 365, hi * 365)  # uniform within the band
    female = rng.random(n) < SHARE_FEMALE
    sex_m = ~female
    p_htn = np.array(HYPERTENSION_BY_BAND)[band] * np.where(
        sex_m, HYPERTENSION_SEX_RR["M"], HYPERTENSION_SEX_RR["F"]
    )
    p_dm = np.array(DIABETES_BY_BAND)[band] * np.where(
        sex_m, DIABETES_SEX_RR["M"], DIABETES_SEX_RR["F"]
    )
    htn = rng.random(n) < p_htn
    dm = rng.random(n) < p_dm
    treated = htn & (rng.random(n) < SHARE_HYPERTENSIVE_TREATED)
    hypo_prone = dm & (rng.random(n) < SHARE_DIABETIC_ON_HYPO_RISK_DRUGS)
    adherence = rng.beta(*ADHERENCE_BETA, size=n)
    traj = rng.choice(len(TRAJECTORY_SHARE), size=n, p=np.array(list(TRAJECTORY_SHARE.values())))
    has_clinic = (htn | dm) | (rng.random(n) < 0.3)
    clinic_idx = rng.integers(0, n_clinics, size=n)
    member_seeds = rng.integers(0, 2**31 - 1, size=n)
    # Device kit, drawn for everyone (fixed number of draws keeps the stream stable).
    u_cuff, u_cuffless, u_cgm, u_tracker = (rng.random(n) for _ in range(4))
    u_unit, u_style = rng.random((n, 5)), rng.random((n, 5))
    model_pick = rng.integers(0, 3, size=(n, 5))
    surname = rng.integers(0, len(_SURNAMES), size=n)
    given = rng.integers(0, len(_GIVEN), size=n)
    return _Draws(
        age_days, female, htn, dm, treated, hypo_prone, adherence, traj, has_clinic,
        clinic_idx, member_seeds, u_cuff, u_cuffless, u_cgm, u_tracker, u_unit, u_style,
        model_pick, surname, given,
    )  # fmt: skip


_KINDS: Final[tuple[DeviceType, ...]] = (
    "bp_cuff", "bp_cuffless", "cgm", "glucometer", "activity_tracker",
)  # fmt: skip


def _devices(
    rng: np.random.Generator,
    d: _Draws,
    i: int,
    taken: set[str],
    omh_share: float,
    cuffless_share: float,
) -> list[SimDevice]:
    """Member ``i``'s device kit; each device's id is drawn from ``rng`` as it is made."""
    want: list[DeviceType] = []
    if d.htn[i] or d.u_cuff[i] < SHARE_NON_HYPERTENSIVE_WITH_CUFF:
        want.append("bp_cuff")
    if d.u_cuffless[i] < cuffless_share:
        want.append("bp_cuffless")
    if d.dm[i]:
        want.append("cgm" if d.u_cgm[i] < SHARE_DIABETICS_WITH_CGM else "glucometer")
    if d.u_tracker[i] < SHARE_WITH_TRACKER:
        want.append("activity_tracker")
    devices: list[SimDevice] = []
    for kind in want:
        k = _KINDS.index(kind)
        unit: GlucoseUnit | None = None
        if kind in ("cgm", "glucometer"):
            share = SHARE_CGM_MG_DL if kind == "cgm" else SHARE_GLUCOMETER_MG_DL
            unit = MG_DL if d.u_unit[i, k] < share else MMOL_L
        models = MODELS[kind]
        devices.append(
            SimDevice(
                device_id=_hex_ids(rng, 1, _PREFIX[kind], taken)[0],
                device_type=kind,
                validated=kind != "bp_cuffless",
                model=models[int(d.model_pick[i, k]) % len(models)],
                payload_style="omh" if d.u_style[i, k] < omh_share else "compact",
                unit=unit,
            )
        )
    return devices


def generate(
    n: int,
    *,
    seed: int,
    start: date,
    omh_share: float = SHARE_OMH_DEVICES,
    cuffless_share: float = SHARE_WITH_CUFFLESS,
) -> tuple[list[SimMember], list[SimClinic]]:
    """Members and the clinics they are assigned to, deterministic under ``seed``."""
    if n < 1:
        raise ValueError("a cohort needs at least one member")
    rng = np.random.default_rng(seed)
    clinics = _clinics(rng, n)
    d = _draw(rng, n, len(clinics))
    names = list(TRAJECTORY_SHARE)
    taken: set[str] = set()
    member_ids = _hex_ids(rng, n, "m", taken)
    members: list[SimMember] = []
    for i in range(n):
        devices = _devices(rng, d, i, taken, omh_share, cuffless_share)
        conditions = tuple(c for c, on in (("hypertension", d.htn[i]), ("diabetes", d.dm[i])) if on)
        members.append(
            SimMember(
                member_id=member_ids[i],
                birth_date=start - timedelta(days=int(d.age_days[i])),
                sex="F" if d.female[i] else "M",
                conditions=conditions,
                clinic_id=clinics[int(d.clinic_idx[i])].clinic_id if d.has_clinic[i] else None,
                display_name=_SURNAMES[int(d.surname[i])] + _GIVEN[int(d.given[i])],
                devices=devices,
                age=int(d.age_days[i] // 365),
                adherence=float(d.adherence[i]),
                trajectory=names[int(d.traj[i])],
                treated=bool(d.treated[i]),
                hypo_prone=bool(d.hypo_prone[i]),
                seed=int(d.member_seeds[i]),
            )
        )
    return members, clinics


_PREFIX: Final[dict[DeviceType, str]] = {
    "bp_cuff": "bpc",
    "bp_cuffless": "bpw",
    "cgm": "cgm",
    "glucometer": "glu",
    "activity_tracker": "act",
}


def expected_prevalence(ages: Sequence[int], sexes: Sequence[str], condition: str) -> float:
    """The prevalence the tables above imply for a given age/sex mix (for tests and docs)."""
    table = HYPERTENSION_BY_BAND if condition == "hypertension" else DIABETES_BY_BAND
    rr = HYPERTENSION_SEX_RR if condition == "hypertension" else DIABETES_SEX_RR
    bands = band_of(np.asarray(ages))
    p = np.array(table)[bands] * np.array([rr[s] for s in sexes])
    return float(p.mean())
