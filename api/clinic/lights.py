"""The clinic's traffic lights and control statuses, read from scoring's control block.

Why apart from the views: one place decides what colour a condition shows, from the block
scoring wrote with its clinical rules (``scoring.control``); the thresholds used for rows
scored before the block existed come from ``scoring.indicators.rules`` too, never restated.
"""

from __future__ import annotations

from typing import Any

from scoring.indicators.rules import HOME_HYPERTENSION_MMHG, TIR_TARGET_OLDER_PCT, TIR_TARGET_PCT

# Home BP hypertension threshold (Chinese hypertension guideline 2024: home >= 135/85).
# A member above a stricter personal target (diabetes/CKD < 130/80) but below this
# threshold is amber: not at target, not hypertensive by the home definition.
HOME_THRESHOLD = HOME_HYPERTENSION_MMHG
# Rows without a control block (algorithm < 0.2.0): green at TIR >= 70 %, amber 50-70 %
# (Battelino 2019's targets for most and for older adults), red below.
TIR_TARGET, TIR_TARGET_HIGH_RISK = TIR_TARGET_PCT, TIR_TARGET_OLDER_PCT


def condition_lights(conditions: list[str], ind: dict[str, Any] | None) -> dict[str, str]:
    """Traffic light per managed condition from the newest score's control block.

    ``green`` controlled, ``red`` not controlled, ``grey`` not assessable; ``amber`` when
    near (BP under 135/85; half the glucose attainment). A missed hypoglycaemia target is
    always red: over-treatment never looks like success. Older rows: ``_legacy_lights``.
    """
    ind = ind or {}
    block = ind.get("control")
    if not isinstance(block, dict):
        return _legacy_lights(conditions, ind)
    out: dict[str, str] = {}
    for c in conditions:
        entry = block.get(c)
        if not isinstance(entry, dict):
            continue
        status = entry.get("status")
        if status == "controlled":
            out[c] = "green"
        elif status != "not_controlled":
            out[c] = "grey"
        elif entry.get("hypo_target_missed"):
            out[c] = "red"
        elif c == "hypertension":
            out[c] = "amber" if _bp_near(ind) else "red"
        else:
            att = entry.get("attainment")
            out[c] = "amber" if isinstance(att, int | float) and att >= 0.5 else "red"
    return out


def control_entries(conditions: list[str], ind: dict[str, Any] | None) -> dict[str, Any]:
    """The control block's entries for the member's own conditions (empty for old rows)."""
    block = (ind or {}).get("control") or {}
    keys = ("status", "source", "reason_en", "reason_zh", "hypo_target_missed")
    return {
        c: {k: block[c].get(k) for k in keys if k in block[c]} for c in conditions if c in block
    }


def _bp_near(ind: dict[str, Any]) -> bool:
    """Home mean above the personal target but below the home threshold 135/85."""
    bp = ind.get("bp") or {}
    s, d = bp.get("home_mean_sys"), bp.get("home_mean_dia")
    return s is not None and d is not None and s < HOME_THRESHOLD[0] and d < HOME_THRESHOLD[1]


def _legacy_lights(conditions: list[str], ind: dict[str, Any]) -> dict[str, str]:
    """The lights of rows without a control block: BP's flag, CGM time in range."""
    out: dict[str, str] = {}
    if "hypertension" in conditions:
        bp = ind.get("bp") or {}
        controlled = bp.get("controlled")
        if controlled is True:
            out["hypertension"] = "green"
        elif controlled is False:
            out["hypertension"] = "amber" if _bp_near(ind) else "red"
        else:
            out["hypertension"] = "grey"
    if "diabetes" in conditions:
        cgm = ind.get("cgm") or {}
        tir = cgm.get("tir")
        if cgm.get("sufficient") and tir is not None:
            if tir >= TIR_TARGET:
                out["diabetes"] = "green"
            elif tir >= TIR_TARGET_HIGH_RISK:
                out["diabetes"] = "amber"
            else:
                out["diabetes"] = "red"
        else:
            out["diabetes"] = "grey"
    return out
