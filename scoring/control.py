"""Control of each of the member's own conditions, with its source, attainment and reason.

Why a block of its own: a clinic's traffic light, the worklist's filter, the composite and
next year's premium must all say the same thing about "is this condition controlled", and
only scoring knows the clinical rules (``scoring.indicators.rules``). Pricing multiplies
``attainment`` and never re-derives a threshold; the clinic shows ``status`` and the
reason. The stored shape, one entry per condition the member has (docs/scoring.md,
"Stored contract")::

    "control": {"diabetes": {"status": "controlled" | "not_controlled" | "insufficient",
                             "attainment": 0.0..1.0 | None, "source": "cgm" | ... | None,
                             "reason_en": "...", "reason_zh": "..."}, ...}

Sources in order of precedence: the member's own device (home BP, CGM), then fingersticks,
then clinic measurements (office BP at two or more visits, a lab HbA1c of the last six
months; for hyperlipidaemia an LDL-C result, else statin adherence). A clinic source earns
control in full, so a member without a device can reach what a device user can. No sufficient
source is ``insufficient`` with attainment None: never counted as bad, never as good.
Over-treatment is not control: a CGM wearer who misses a hypoglycaemia target is
``not_controlled`` with attainment 0, whatever the time in range.
"""

from __future__ import annotations

from typing import Any

from scoring.indicators.rules import (
    CGM_OLDER_AGE,
    PDC_ADHERENT,
    SMBG_CONTROLLED_PCT,
    TBR54_LIMIT_PCT,
    TBR70_LIMIT_OLDER_PCT,
    TBR70_LIMIT_PCT,
    TIR_RAMP_PCT,
    TIR_TARGET_OLDER_PCT,
    TIR_TARGET_PCT,
    cgm_targets,
)

Entry = dict[str, Any]
# Decision: a member whose morning home mean is above target (morning hypertension, the
# Chinese HBPM guideline's reason to report it apart) is not controlled, and earns at most
# half the attainment the pooled months would give.
MORNING_HIGH_ATTAINMENT = 0.5
ZH = {
    "hypertension": "高血压",
    "diabetes": "糖尿病",
    "ckd": "慢性肾病",
    "hyperlipidaemia": "高血脂",
}


def _entry(status: str, attainment: float | None, source: str | None, en: str, zh: str) -> Entry:
    return {
        "status": status,
        "attainment": None if attainment is None else round(min(1.0, max(0.0, attainment)), 4),
        "source": source,
        "reason_en": en,
        "reason_zh": zh,
    }


def _sufficient(ind: dict[str, Any], name: str) -> dict[str, Any] | None:
    d = ind.get(name)
    return d if isinstance(d, dict) and d.get("sufficient") else None


def bp_control(ind: dict[str, Any]) -> Entry:
    """Home BP: the share of assessed months controlled (the window's mean decides when no
    month could be assessed on its own); a morning mean above target is not control."""
    bp = _sufficient(ind, "bp")
    if bp is None or bp.get("controlled") is None:
        return office_control(ind)
    assessed, ctl = bp.get("months_assessed"), bp.get("months_controlled")
    morning_high = bp.get("morning_above_target") is True
    ok = bool(bp["controlled"]) and not morning_high
    if isinstance(assessed, int) and assessed > 0 and isinstance(ctl, int):
        att = ctl / assessed
        en, zh = (
            f"home BP controlled in {ctl} of {assessed} months",
            f"居家血压{assessed}个月中{ctl}个月达标",
        )
    else:
        att = 1.0 if ok else 0.0
        en, zh = (
            ("home BP controlled", "居家血压达标")
            if ok
            else ("home BP above target", "居家血压未达标")
        )
    if morning_high:
        att = min(att, MORNING_HIGH_ATTAINMENT)
        en += "; morning mean above target (morning hypertension)"
        zh += "；晨起血压均值高于目标（晨峰高血压）"
    return _entry("controlled" if ok else "not_controlled", att, "home_bp", en, zh)


def office_control(ind: dict[str, Any]) -> Entry:
    """Office BP at >= 2 visits (no sufficient home BP): controlled or not, in full."""
    office = _sufficient(ind, "office_bp")
    if office is None:
        return _entry(
            "insufficient", None, None,
            "not enough home BP readings or clinic visits to assess control",
            "居家血压测量或门诊测量次数不足，无法评估控制情况",
        )  # fmt: skip
    ok = bool(office["controlled"])
    ms, md, v = office["mean_sys"], office["mean_dia"], office["visits"]
    ts, td = office["target_sys"], office["target_dia"]
    word_en, word_zh = ("below", "达标") if ok else ("not below", "未达标")
    en = f"office BP {ms:.0f}/{md:.0f} over {v} clinic visits, {word_en} {ts:.0f}/{td:.0f}"
    zh = f"门诊血压{v}次就诊均值{ms:.0f}/{md:.0f}，目标<{ts:.0f}/{td:.0f}，{word_zh}"
    return _entry("controlled" if ok else "not_controlled", 1.0 if ok else 0.0, "office_bp", en, zh)


def hba1c_control(ind: dict[str, Any]) -> Entry | None:
    """A lab HbA1c of the last 6 months against its target, or None without one."""
    a1c = _sufficient(ind, "hba1c")
    if a1c is None:
        return None
    ok = bool(a1c["controlled"])
    value, target = a1c["value_pct"], a1c["target_pct"]
    en = f"HbA1c {value:.1f}% (target <{target:.1f}%)"
    zh = f"糖化血红蛋白{value:.1f}%（目标<{target:.1f}%）"
    return _entry("controlled" if ok else "not_controlled", 1.0 if ok else 0.0, "hba1c", en, zh)


def lipid_control(ind: dict[str, Any]) -> Entry:
    """Hyperlipidaemia: an LDL-C result on target, else statin adherence (PDC >= 80 %)."""
    ldl = _sufficient(ind, "ldl_c")
    if ldl is not None:
        ok = bool(ldl["controlled"])
        en = f"LDL-C {ldl['value']:.1f} {ldl['unit']} (target <{ldl['target']:g})"
        zh = f"低密度脂蛋白胆固醇{ldl['value']:.1f} {ldl['unit']}（目标<{ldl['target']:g}）"
        return _entry("controlled" if ok else "not_controlled", 1.0 if ok else 0.0, "ldl_c", en, zh)
    statin = ((ind.get("adherence") or {}).get("statin")) or {}
    if statin.get("sufficient"):
        share = float(statin["pdc"])
        en = f"statin days covered {share * 100:.0f}% (adherent at >=80%)"
        zh = f"他汀类药物覆盖天数{share * 100:.0f}%（≥80%为规律用药）"
        status = "controlled" if statin["adherent"] else "not_controlled"
        return _entry(status, share / PDC_ADHERENT, "statin_adherence", en, zh)
    return _entry(
        "insufficient", None, None,
        "no LDL-C result or statin dispensing on file", "暂无低密度脂蛋白胆固醇结果或他汀配药记录",
    )  # fmt: skip


def cgm_control(cgm: dict[str, Any], age: int) -> Entry:
    """Time in range AND the hypoglycaemia targets (Battelino 2019; docs/clinical.md,
    "Glucose control"): attainment rises over the 30 points below the TIR target and is 0
    while a hypoglycaemia target is missed."""
    older = age >= CGM_OLDER_AGE
    # A what-if may state only the time in range: unknown time below range counts as none.
    tir = float(cgm["tir"])
    tbr70, tbr54 = float(cgm.get("tbr70") or 0.0), float(cgm.get("tbr54") or 0.0)
    met = {k: bool(v) for k, v in cgm_targets(tir, tbr70, tbr54, older).items()}
    target = TIR_TARGET_OLDER_PCT if older else TIR_TARGET_PCT
    limit70 = TBR70_LIMIT_OLDER_PCT if older else TBR70_LIMIT_PCT
    l2 = cgm.get("hypo_l2_events")
    en = f"CGM: time in range {tir:.0f}% (target >={target:.0f}%)"
    zh = f"动态血糖：目标范围内时间{tir:.0f}%（目标≥{target:.0f}%）"
    if met["tbr70"] and met["tbr54"]:
        att = (tir - (target - TIR_RAMP_PCT)) / TIR_RAMP_PCT
        status = "controlled" if met["tir"] else "not_controlled"
        return {**_entry(status, att, "cgm", en, zh), "hypo_target_missed": False}
    en = (
        f"hypoglycaemia: {tbr70:.1f}% of time below 70 mg/dL (limit <{limit70:.0f}%),"
        f" {tbr54:.1f}% below 54 (limit <{TBR54_LIMIT_PCT:.0f}%)"
        + ("" if l2 is None else f", {l2} level-2 events")
        + f"; {en}"
    )
    zh = (
        f"低血糖：低于3.9 mmol/L时间{tbr70:.1f}%（限值<{limit70:.0f}%），"
        f"低于3.0 mmol/L时间{tbr54:.1f}%（限值<{TBR54_LIMIT_PCT:.0f}%）"
        + ("" if l2 is None else f"，2级低血糖事件{l2}次")
        + f"；{zh}"
    )
    return {**_entry("not_controlled", 0.0, "cgm", en, zh), "hypo_target_missed": True}


def smbg_control(smbg: dict[str, Any]) -> Entry:
    """Fingersticks (CDS 2020 fasting 4.4-7.0 mmol/L): controlled when at least 70 % of
    fasting checks are in target and no check was a level-2 low."""
    pct = float(smbg["pct_fasting_in_target"])
    l2 = int(smbg.get("hypo_l2") or 0)
    n = smbg.get("n_fasting")
    en = f"fingerstick: {pct:.0f}% of {n} fasting checks in target (4.4-7.0 mmol/L)"
    zh = f"指尖血糖：{n}次空腹测量中{pct:.0f}%达标（4.4-7.0 mmol/L）"
    if l2:
        en += f"; {l2} level-2 hypoglycaemia (< 3.0 mmol/L)"
        zh += f"；2级低血糖{l2}次（<3.0 mmol/L）"
        return {**_entry("not_controlled", 0.0, "smbg", en, zh), "hypo_target_missed": True}
    status = "controlled" if pct >= SMBG_CONTROLLED_PCT else "not_controlled"
    entry = _entry(status, pct / SMBG_CONTROLLED_PCT, "smbg", en, zh)
    return {**entry, "hypo_target_missed": False}


def glucose_control(ind: dict[str, Any], age: int) -> Entry:
    """Diabetes: CGM when sufficient, else fingersticks, else insufficient."""
    cgm = _sufficient(ind, "cgm")
    if cgm is not None and cgm.get("tir") is not None:
        return cgm_control(cgm, age)
    smbg = _sufficient(ind, "smbg")
    if smbg is not None and smbg.get("pct_fasting_in_target") is not None:
        return smbg_control(smbg)
    return hba1c_control(ind) or _entry(
        "insufficient", None, None,
        "not enough glucose data (CGM, fasting fingersticks or a recent HbA1c) to assess control",
        "血糖数据不足（动态血糖、空腹指尖血糖或近期糖化血红蛋白），无法评估控制情况",
    )  # fmt: skip


def control_block(
    conditions: tuple[str, ...] | list[str], age: int, ind: dict[str, Any]
) -> dict[str, Entry]:
    """One entry per condition the member has (see the module docstring)."""
    out: dict[str, Entry] = {}
    for c in conditions:
        if c in ("hypertension", "ckd"):
            out[c] = bp_control(ind)
        elif c == "diabetes":
            out[c] = glucose_control(ind, age)
        elif c == "hyperlipidaemia":
            out[c] = lipid_control(ind)
    return out
