/* Wellrate clinic dashboard: one patient's page and the clinic overview. */
"use strict";

(function () {
  const { C, state, TOKEN_KEY, PAGE_SIZE, t, h, fmtDate, fmtDay, fmtTime, fmtGlucose, unitLabel, num, announce, token, api, go, show, section, light, key } = window.WR;

  // ---- patient page ----------------------------------------------------------------------

  const MEAL_GROUPS = [
    // ADA Standards of Care 2025 (docs/clinical.md, "Fingerstick glucose"): before meals 80-130 mg/dL (4.4-7.2 mmol/L),
    // peak after meals < 180 (10.0); each reading classified in its own unit.
    { key: "pre", contexts: ["fasting", "before_breakfast", "before_lunch", "before_dinner", "before_meal"],
      target: [80, 130], inTarget: (r) => r.value !== null && (r.unit === "mmol/L" ? r.value >= 4.4 && r.value <= 7.2 : r.value >= 80 && r.value <= 130) },
    { key: "post", contexts: ["after_breakfast", "after_lunch", "after_dinner", "after_meal"],
      target: [70, 180], inTarget: (r) => r.value !== null && (r.unit === "mmol/L" ? r.value >= 3.9 && r.value < 10.0 : r.value >= 70 && r.value < 180) },
    { key: "bed", contexts: ["before_sleep"], target: null, inTarget: (r) => r.censored !== "LO" },
    { key: "other", contexts: null, target: null, inTarget: (r) => r.censored !== "LO" },
  ];

  const SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 };

  function alertValue(a) {
    // The reading that raised the alert: BP as sys/dia, glucose in its own unit (or LO).
    const d = a.detail || {};
    if (d.systolic !== undefined && d.diastolic !== undefined) return `${d.systolic}/${d.diastolic} mmHg`;
    if (d.censored) return d.censored;
    if (d.value !== undefined && d.value !== null) return `${d.unit === "mmol/L" ? Number(d.value).toFixed(1) : Math.round(d.value)} ${d.unit || ""}`.trim();
    return null;
  }

  function episodes(alerts) {
    // One episode per kind and local day: 55 readings of one bad morning are one line,
    // criticals first, then the newest.
    const byKey = new Map();
    for (const a of alerts) {
      const k = `${a.kind}|${fmtDay(a.observed_at)}`;
      if (!byKey.has(k)) byKey.set(k, { kind: a.kind, severity: a.severity, day: fmtDay(a.observed_at), items: [] });
      byKey.get(k).items.push(a);
    }
    const list = [...byKey.values()];
    for (const e of list) e.items.sort((x, y) => (x.observed_at < y.observed_at ? 1 : -1));
    return list.sort((x, y) => (SEVERITY_ORDER[x.severity] - SEVERITY_ORDER[y.severity]) ||
      (x.items[0].observed_at < y.items[0].observed_at ? 1 : -1));
  }

  function alertsSection(alerts) {
    if (!alerts.length) return section("alerts", t("alerts"), h("p", { text: t("no_alerts") }));
    const items = episodes(alerts).map((ep) => {
      const ids = ep.items.map((a) => a.alert_id);
      const btn = h("button", { type: "button", class: "ack", "data-alerts": ids.join(","), text: t("acknowledge") });
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try {
          await Promise.all(ids.map((id) => api(`/clinic/alerts/${id}/acknowledge`, { method: "POST" })));
          btn.textContent = t("acknowledged");
          li.classList.add("done");
          announce(t("acknowledged"));
        } catch (err) {
          btn.disabled = false;
          announce(t("load_failed", { msg: err.message }));
        }
      });
      const values = ep.items.map(alertValue).filter((v) => v !== null);
      const shown = values.slice(0, 5).join(", ") + (values.length > 5 ? ` … (+${values.length - 5})` : "");
      const li = h("li", { class: "alert sev-" + ep.severity, "data-kind": ep.kind, "data-count": String(ids.length) },
        h("span", { class: "sev", text: t("sev_" + ep.severity) }), " ",
        h("strong", { text: t("alert_" + ep.kind) }), " · ", ep.day, " · ",
        h("span", { class: "ep-count", text: t("alert_count", { n: ids.length }) }),
        shown ? h("span", { class: "ep-values", text: " · " + shown }) : null, " ", btn);
      return li;
    });
    return section("alerts", t("alerts"), h("ul", { class: "alerts" }, items));
  }

  function scoreSection(score) {
    if (!score) return section("score", t("score"), h("p", { text: t("no_score") }));
    const comps = Object.entries(score.components || {}).map(([k, c]) =>
      h("tr", {}, h("th", { scope: "row", text: t("comp_" + k) }), h("td", { class: "num", text: num(c.score) }),
        h("td", { class: "num", text: num(c.weight, 2) }), h("td", { text: state.lang === "zh" ? c.reason_zh : c.reason_en })));
    const imp = score.improvement === null || score.improvement === undefined ? "—" : (score.improvement > 0 ? "+" : "") + num(score.improvement, 1);
    return section("score", t("score"),
      h("p", { class: "big" }, h("span", { id: "composite", text: num(score.composite, 1) }), " / 100"),
      h("p", { class: "muted", text: `${t("score_window", { start: fmtDay(score.window_start), end: fmtDay(score.window_end) })} · ${t("improvement")} ${imp}` }),
      h("table", { class: "data", id: "components" },
        h("thead", {}, h("tr", {}, ["component", "comp_score", "comp_weight", "comp_reason"].map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, comps)));
  }

  // Weekly means of the validated readings, weeks from Monday in the reading's local time
  // (the HBPM report's trend); computed here from the readings the page already has.
  function weeklyMeans(readings) {
    const weeks = new Map();
    for (const r of readings) {
      if (!r.validated) continue;
      const local = new Date(Date.parse(r.t) + r.utc_offset_min * 60000);
      const dow = (local.getUTCDay() + 6) % 7;
      const monday = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - dow));
      const k = monday.toISOString().slice(0, 10);
      if (!weeks.has(k)) weeks.set(k, { week: k, n: 0, sys: 0, dia: 0 });
      const w = weeks.get(k);
      w.n += 1; w.sys += r.sys; w.dia += r.dia;
    }
    return [...weeks.values()].sort((a, b) => (a.week < b.week ? -1 : 1))
      .map((w) => ({ week: w.week, n: w.n, sys: w.sys / w.n, dia: w.dia / w.n }));
  }

  function weeklyTable(bp) {
    const rows = weeklyMeans(bp.readings).map((w) => {
      const above = w.sys >= bp.target.sys || w.dia >= bp.target.dia;
      return h("tr", { class: above ? "chg-worse" : "", "data-week": w.week },
        h("th", { scope: "row", text: fmtDay(w.week + "T00:00:00") }), h("td", { class: "num", text: String(w.n) }),
        h("td", { class: "num", text: `${num(w.sys)}/${num(w.dia)}` }),
        h("td", { text: t(above ? "wk_above" : "wk_at") }));
    });
    if (!rows.length) return null;
    return h("details", { class: "no-print" }, h("summary", { text: t("wk_title") }),
      h("table", { class: "data", id: "bp-weekly" },
        h("thead", {}, h("tr", {}, ["wk_week", "wk_n", "wk_mean", "wk_vs"].map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, rows)));
  }

  function bpSection(bp, days) {
    const title = t("bp_title", { days: days });
    if (!bp.readings.length) return section("bp", title, h("p", { text: t("bp_none") }));
    const svg = C.bp(bp, {
      title: title, desc: t("bp_desc", { n: bp.readings.length, sys: bp.target.sys }),
      target: t("bp_target", { sys: bp.target.sys, dia: bp.target.dia }), homeMean: t("bp_home_mean"), dateFmt: fmtDate,
      grade3: t("bp_grade3"),
    });
    const n3 = bp.readings.filter(C.isGrade3).length;
    const grade3 = n3 ? h("p", { id: "bp-grade3", class: "control control-not_controlled", text: t("bp_grade3_count", { n: n3 }) }) : null;
    const means = bp.protocol_means.map((m) => h("li", { text: `${fmtDay(m.window_start)}–${fmtDay(m.window_end)}: ${num(m.home_mean_sys)}/${num(m.home_mean_dia)} mmHg` }));
    // The HBPM report's morning and evening means against the target (Chinese HBPM
    // guideline): morning hypertension is flagged even when the pooled mean is at target.
    const hb = bp.hbpm || {};
    const session = (k) => (hb[k + "_sys"] === null || hb[k + "_sys"] === undefined ? "—" : `${num(hb[k + "_sys"])}/${num(hb[k + "_dia"])} mmHg`);
    const hbpm = hb.morning_mean_sys !== undefined && (hb.morning_mean_sys !== null || hb.evening_mean_sys !== null)
      ? h("p", { id: "hbpm", class: hb.morning_above_target ? "control control-not_controlled" : "muted", role: hb.morning_above_target ? "alert" : null,
        text: t("hbpm_means", { morning: session("morning_mean"), evening: session("evening_mean"), sys: bp.target.sys, dia: bp.target.dia })
          + (hb.morning_above_target ? ` · ${t("hbpm_morning_high")}` : "") })
      : null;
    return section("bp", title,
      h("p", { class: "legend" }, key("sys", "●", t("bp_systolic")), " ",
        key("dia", "■", t("bp_diastolic")), " ",
        key("mean", "—", t("bp_home_mean")), " ", key("grade3", "◯", t("bp_grade3")), " · ",
        t("bp_target", { sys: bp.target.sys, dia: bp.target.dia }), " · ", t("bp_unvalidated")),
      hbpm, grade3, h("div", { class: "chart-wrap" }, svg), means.length ? h("ul", { class: "means" }, means) : null,
      weeklyTable(bp));
  }

  function glucoseSection(g) {
    const parts = [];
    const s = g.agp_stats;
    if (g.agp) {
      parts.push(h("p", { class: "muted", id: "agp-stats", text: t("agp_stats", {
        start: fmtDay(g.agp_start), end: fmtDay(g.agp_end), n: g.agp_readings, active: num(s.active_pct),
        mean: s.mean_mgdl === null ? "—" : `${fmtGlucose(s.mean_mgdl)} ${unitLabel()}`, gmi: num(s.gmi, 1), cv: num(s.cv, 1),
      }) }));
      parts.push(h("p", { class: "muted", id: "gmi-cv", text: t("gmi_cv_help") }));
      parts.push(h("p", { class: "legend" }, key("median", "—", t("agp_median")), " ",
        key("iqr", "▮", t("agp_iqr")), " ", key("outer", "▮", t("agp_outer")),
        ` · ${unitLabel()} · 3.9–10.0 mmol/L (70–180 mg/dL)`));
      parts.push(h("div", { class: "chart-wrap" }, C.agp(g.agp, state.unit, { title: t("agp_title"), desc: t("agp_desc", { n: g.agp_readings }), xLabel: t("agp_x") })));
      parts.push(dailyProfiles(g.daily || []));
    } else {
      parts.push(h("p", { text: t("agp_none") }));
    }
    const tirPart = g.tir
      ? h("div", { class: "tir-wrap" }, C.tir(g.tir, {
        title: t("tir_title"), desc: Object.entries(g.tir).map(([k, v]) => `${t("tir_" + k)} ${C.pct(v)}`).join(", "),
        names: { very_high: t("tir_very_high"), high: t("tir_high"), in_range: t("tir_in_range"), low: t("tir_low"), very_low: t("tir_very_low") },
      }), h("p", { class: "muted", id: "tir-goals", text: t("tir_goals") }),
      g.score_window ? h("p", { class: "muted", text: t("score_window", { start: fmtDay(g.score_window.start), end: fmtDay(g.score_window.end) }) }) : null)
      : h("p", { text: t("tir_none") });
    return section("agp", t("agp_title"), h("div", { class: "agp-row" }, h("div", { class: "agp-main" }, parts),
      h("div", { class: "agp-side" }, h("h4", { text: t("tir_title") }), tirPart)));
  }

  function dailyProfiles(days) {
    if (!days.length) return null;
    const yMax = Math.max(350, ...days.flatMap((d) => d.mgdl).map((v) => Math.ceil(v / 50) * 50));
    const charts = days.map((d) => {
      const label = fmtDay(d.day + "T00:00:00");
      const lows = d.mgdl.filter((v) => v < 70).length;
      return h("div", { class: "daily-cell", "data-day": d.day }, C.daily(d, state.unit, yMax, {
        title: t("daily_day", { day: label }), desc: t("daily_desc", { n: d.mgdl.length, low: lows }), label: label,
      }));
    });
    // The daily traces are for the screen; the one-page print keeps the AGP and TIR.
    return h("div", { id: "daily-profiles", class: "no-print" }, h("h4", { text: t("daily_title") }),
      h("div", { class: "daily-grid" }, charts));
  }

  function smbgSection(g, days) {
    const title = t("smbg_title", { days: days });
    if (!g.smbg.length) return section("smbg", title, h("p", { text: t("smbg_none") }));
    const groups = MEAL_GROUPS.map((mg) => ({
      label: t("meal_" + mg.key), target: mg.target, inTarget: mg.inTarget,
      items: g.smbg.filter((r) => (mg.contexts ? mg.contexts.includes(r.meal_context) : !MEAL_GROUPS.some((o) => o.contexts && o.contexts.includes(r.meal_context)))),
    }));
    const end = new Date().toISOString();
    const start = new Date(Date.now() - days * 86400000).toISOString();
    const svg = C.smbg(groups, start, end, state.unit, {
      title: title, desc: groups.map((gr) => `${gr.label}: ${gr.items.length}`).join(", "),
      pointLabel: (r) => `${fmtTime(r.t)} ${r.censored || fmtGlucose(r.mgdl)} ${r.censored ? "" : unitLabel()}`,
    });
    const rows = groups.filter((gr) => gr.items.length).map((gr) => {
      const vals = gr.items.filter((r) => r.mgdl !== null).map((r) => r.mgdl);
      const mean = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
      const inT = gr.items.filter((r) => gr.inTarget(r)).length;
      return h("tr", {}, h("th", { scope: "row", text: gr.label }), h("td", { class: "num", text: String(gr.items.length) }),
        h("td", { class: "num", text: `${fmtGlucose(mean)} ${unitLabel()}` }),
        h("td", { class: "num", text: gr.target ? C.pct((100 * inT) / gr.items.length) : "—" }));
    });
    return section("smbg", title, h("div", { class: "chart-wrap" }, svg),
      h("table", { class: "data", id: "smbg-table" },
        h("thead", {}, h("tr", {}, ["smbg_group", "smbg_n", "smbg_mean", "smbg_in_target"].map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, rows)));
  }

  function stepsSection(detail, days) {
    const title = t("steps_title", { days: days });
    const series = detail.trends.steps;
    if (!series.length) return section("steps", title, h("p", { text: t("steps_none") }));
    const act = ((detail.score || {}).indicators || {}).activity || {};
    const target = act.step_target || null;
    const end = new Date().toISOString();
    const start = new Date(Date.now() - (days - 1) * 86400000).toISOString();
    const svg = C.steps(series, target, start, end, {
      title: title, desc: t("steps_desc", { n: series.length }), dateFmt: fmtDate,
      target: target ? t("steps_target", { n: target }) : "",
    });
    return section("steps", title, h("div", { class: "chart-wrap" }, svg));
  }

  // ---- visit report: what changed since the last visit, medication adherence ----------------

  // Each row: the indicator, where it sits in the stored indicators, its decimals and the
  // direction that is better (+1 higher, -1 lower). Home BP and HbA1c lower is better for
  // patients treated to a target (docs/clinical.md); TBR lower is always better.
  const CHANGE_ROWS = [
    { key: "composite", get: (s) => s.composite, dp: 1, better: 1 },
    { key: "bp_sys", get: (s) => ((s.indicators || {}).bp || {}).home_mean_sys, dp: 0, better: -1, unit: "mmHg" },
    { key: "bp_dia", get: (s) => ((s.indicators || {}).bp || {}).home_mean_dia, dp: 0, better: -1, unit: "mmHg" },
    { key: "tir", get: (s) => ((s.indicators || {}).cgm || {}).tir, dp: 0, better: 1, unit: "%" },
    { key: "tbr70", get: (s) => ((s.indicators || {}).cgm || {}).tbr70, dp: 1, better: -1, unit: "%" },
    { key: "hba1c", get: (s) => ((s.indicators || {}).hba1c || {}).value_pct, dp: 1, better: -1, unit: "%" },
    { key: "steps", get: (s) => ((s.indicators || {}).activity || {}).median_steps, dp: 0, better: 1 },
  ];

  function changesSection(score, previous) {
    const title = t("chg_title");
    if (!score || !previous) return null;
    const basis = t(previous.basis === "visit" ? "chg_since_visit" : "chg_since_month", { day: fmtDay(previous.day) });
    const before = previous.score;
    if (!before) return section("changes", title, h("p", { class: "muted", text: `${basis} · ${t("chg_no_before")}` }));
    const rows = CHANGE_ROWS.map((r) => ({ r, a: r.get(before), b: r.get(score) }))
      .filter(({ a, b }) => (a !== null && a !== undefined) || (b !== null && b !== undefined))
      .map(({ r, a, b }) => {
        const has = (x) => x !== null && x !== undefined;
        const d = has(a) && has(b) ? b - a : null;
        const cls = d === null || Math.abs(d) < Math.pow(10, -r.dp) ? "same" : (Math.sign(d) === r.better ? "better" : "worse");
        const delta = d === null ? "—" : `${d > 0 ? "+" : ""}${num(d, r.dp)}${r.unit ? " " + r.unit : ""}`;
        return h("tr", { class: "chg-" + cls, "data-key": r.key },
          h("th", { scope: "row", text: t("chg_" + r.key) }),
          h("td", { class: "num", text: has(a) ? num(a, r.dp) : "—" }), h("td", { class: "num", text: has(b) ? num(b, r.dp) : "—" }),
          h("td", { class: "num", text: delta + (cls === "same" || d === null ? "" : ` (${t("chg_" + cls)})`) }));
      });
    return section("changes", title, h("p", { class: "muted", id: "chg-basis", text: basis }),
      h("table", { class: "data", id: "changes-table" },
        h("thead", {}, h("tr", {}, ["chg_indicator", "chg_then", "chg_now", "chg_delta"].map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, rows)));
  }

  // Proportion of days covered per drug class from dispensing records; 80 % is the usual
  // adherence threshold (docs/clinical.md, "Medication adherence").
  function adherenceSection(score) {
    const adh = ((score || {}).indicators || {}).adherence || {};
    const classes = Object.entries(adh);
    if (!classes.length) return section("adherence", t("adh_title"), h("p", { class: "muted", text: t("adh_none") }));
    const rows = classes.map(([cls, a]) => h("tr", { class: a.adherent === false ? "chg-worse" : "", "data-class": cls },
      h("th", { scope: "row", text: t("drug_" + cls) }),
      h("td", { class: "num", text: a.pdc === null || a.pdc === undefined ? "—" : C.pct(100 * a.pdc) }),
      h("td", { text: a.adherent === null || a.adherent === undefined ? t("adh_unknown") : t(a.adherent ? "adh_yes" : "adh_no") })));
    return section("adherence", t("adh_title"),
      h("table", { class: "data", id: "adherence-table" },
        h("thead", {}, h("tr", {}, ["adh_class", "adh_pdc", "adh_status"].map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, rows)));
  }

  // Age in whole years today, in words ("68 岁"): what a doctor reads, not a birth date.
  function ageOf(birth) {
    if (!birth) return null;
    const b = new Date(birth + "T00:00:00"), now = new Date();
    const years = now.getFullYear() - b.getFullYear() - (now < new Date(now.getFullYear(), b.getMonth(), b.getDate()) ? 1 : 0);
    return t("age_years", { n: years });
  }

  async function patientView(memberId) {
    show(memberId, h("p", { text: t("loading") }));
    const id = encodeURIComponent(memberId);
    const days = 30, bpDays = 90;
    let detail, bp, glucose;
    try {
      [detail, bp, glucose] = await Promise.all([
        api(`/clinic/patients/${id}?days=${days}`),
        api(`/clinic/patients/${id}/bp?days=${bpDays}`),
        api(`/clinic/patients/${id}/glucose?days=${days}`),
      ]);
    } catch (err) {
      show(memberId, h("p", { class: "error", role: "alert", text: t("load_failed", { msg: err.message }) }),
        h("p", {}, h("a", { href: "#/patients", text: t("back") })));
      return;
    }
    const p = detail.patient;
    const lights = Object.entries(bp.lights).map(([c, col]) => light(c, col));
    const others = p.conditions.filter((c) => !(c in bp.lights)).map((c) => h("span", { class: "chip", text: t(c) }));
    // Each own condition's control status with its reason (scoring's control block): a
    // missed hypoglycaemia target comes first and is announced, never shown as success.
    const control = Object.entries(bp.control || {})
      .sort(([, a], [, b]) => Number(Boolean(b.hypo_target_missed)) - Number(Boolean(a.hypo_target_missed)))
      .map(([cond, c]) => h("p", {
        class: `control control-${c.status}` + (c.hypo_target_missed ? " control-hypo" : ""),
        "data-condition": cond, role: c.hypo_target_missed ? "alert" : null,
        text: `${t(cond)}: ${state.lang === "zh" ? c.reason_zh : c.reason_en}`,
      }));
    const printBtn = h("button", { type: "button", id: "print-report", class: "no-print", text: t("print_report") });
    printBtn.addEventListener("click", () => window.print());
    const today = new Date();
    const from = new Date(today.getTime() - bpDays * 86400000);
    const header = h("div", { class: "patient-head" },
      h("p", { class: "no-print" }, h("a", { href: "#/patients", id: "back-link", text: "← " + t("back") }), " ", printBtn),
      h("p", { class: "print-only", id: "report-period", text: t("report_period", { from: fmtDay(from.toISOString()), to: fmtDay(today.toISOString()) }) }),
      h("p", { class: "muted", id: "patient-who", text: [p.member_id, p.sex ? t("sex_" + p.sex) : null, ageOf(p.birth_date)].filter(Boolean).join(" · ") }),
      h("div", { class: "lights", id: "patient-lights" }, lights, others),
      control.length ? h("div", { id: "patient-control" }, control) : null);
    const hasCgm = Boolean(glucose.agp || glucose.tir || glucose.agp_readings);
    show(p.display_name || p.member_id, header,
      alertsSection(detail.alerts), scoreSection(detail.score), changesSection(detail.score, detail.previous),
      adherenceSection(detail.score), bpSection(bp, bpDays),
      hasCgm ? glucoseSection(glucose) : null, smbgSection(glucose, days), stepsSection(detail, days));
  }

  // ---- clinic overview -------------------------------------------------------------------

  async function overviewView() {
    show(t("ov_title"), h("p", { text: t("loading") }));
    let body;
    try {
      body = await api("/clinic/overview");
    } catch (err) {
      show(t("ov_title"), h("p", { class: "error", role: "alert", text: t("load_failed", { msg: err.message }) }));
      return;
    }
    const sections = Object.entries(body.control).filter(([cond]) => (body.managed[cond] || 0) > 0).map(([cond, series]) => {
      const title = t("ov_control", { cond: t(cond) });
      if (!series.length) return section("ov-" + cond, title, h("p", { text: t("ov_no_windows") }));
      const svg = C.rate(series.map((w) => ({ rate: w.rate, label: fmtDay(w.window_end) })), { title: title, desc: t("ov_control_desc") });
      const rows = series.map((w) => h("tr", {},
        h("th", { scope: "row", text: `${fmtDay(w.window_start)}–${fmtDay(w.window_end)}` }),
        h("td", { class: "num", text: String(w.managed) }), h("td", { class: "num", text: String(w.assessed) }),
        h("td", { class: "num", text: String(w.controlled) }), h("td", { class: "num", text: w.rate === null ? "—" : C.pct(w.rate) })));
      return section("ov-" + cond, title, h("p", { class: "muted", text: t("ov_control_desc") }), h("div", { class: "chart-wrap" }, svg),
        h("table", { class: "data" },
          h("thead", {}, h("tr", {}, ["ov_window", "ov_managed", "ov_assessed", "ov_controlled", "ov_rate"].map((k) => h("th", { scope: "col", text: t(k) })))),
          h("tbody", {}, rows)));
    });
    const follow = body.follow_up.map((f) => h("tr", {},
      h("th", { scope: "row" }, h("a", { href: "#/patient/" + encodeURIComponent(f.member_id), text: f.display_name || f.member_id })),
      h("td", {}, f.reasons.map((r) => h("span", { class: "chip reason-" + r, text: t("r_" + r) }))),
      h("td", { text: f.last_data_at ? fmtTime(f.last_data_at) : t("never") })));
    const followTitle = t("ov_follow", { n: body.follow_up_total });
    show(t("ov_title"), ...sections, section("follow-up", followTitle, follow.length
      ? h("table", { class: "data", id: "follow-table" },
        h("thead", {}, h("tr", {}, ["col_patient", "ov_reasons", "col_last"].map((k) => h("th", { scope: "col", text: t(k) })))),
        h("tbody", {}, follow))
      : h("p", { text: t("ov_none") })));
  }

  Object.assign(window.WR.pages, { patient: patientView, overview: overviewView });
})();
