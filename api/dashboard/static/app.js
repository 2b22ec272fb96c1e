/* Wellrate clinic dashboard: sign-in, patient list, patient page, clinic overview.
 *
 * Plain JavaScript, no build step, nothing fetched from outside this server. Pages are
 * hash routes (#/patients, #/patient/<id>, #/overview, #/signin); data comes from the
 * /clinic JSON endpoints with the session token from POST /auth/sessions, kept in
 * sessionStorage (gone when the tab closes). All text is set with textContent, never as
 * HTML, so nothing from the data can inject markup.
 */
"use strict";

(function () {
  const C = window.WRCharts;
  const STRINGS = window.WR_I18N;
  const TOKEN_KEY = "wr_token";
  const PAGE_SIZE = 50;
  const state = {
    lang: localStorage.getItem("wr_lang") || "zh",
    unit: localStorage.getItem("wr_unit") || "mmol",
  };

  // ---- helpers -------------------------------------------------------------------------

  function t(key, params) {
    let s = (STRINGS[state.lang] || STRINGS.zh)[key];
    if (s === undefined) s = STRINGS.en[key] !== undefined ? STRINGS.en[key] : key;
    for (const [k, v] of Object.entries(params || {})) s = s.split(`{${k}}`).join(String(v));
    return s;
  }

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  const locale = () => (state.lang === "zh" ? "zh-CN" : "en-GB");
  const fmtDate = (d) => new Intl.DateTimeFormat(locale(), { month: "2-digit", day: "2-digit" }).format(d);
  const fmtDay = (s) => new Intl.DateTimeFormat(locale(), { year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(s));
  const fmtTime = (s) =>
    new Intl.DateTimeFormat(locale(), { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).format(new Date(s));

  function fmtGlucose(mgdl) {
    if (mgdl === null || mgdl === undefined) return "—";
    return state.unit === "mmol" ? (mgdl / C.MGDL_PER_MMOLL).toFixed(1) : String(Math.round(mgdl));
  }
  const unitLabel = () => (state.unit === "mmol" ? "mmol/L" : "mg/dL");
  const num = (v, digits) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits === undefined ? 0 : digits));

  function announce(msg) {
    const s = document.getElementById("status");
    s.textContent = "";
    window.setTimeout(() => { s.textContent = msg; }, 30);
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  async function api(path, opts) {
    const headers = { Accept: "application/json", Authorization: "Bearer " + token() };
    const resp = await fetch(path, Object.assign({ headers: headers }, opts || {}));
    if (resp.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      go("#/signin");
      throw new Error(t("expired"));
    }
    if (!resp.ok) {
      let detail = resp.statusText;
      try { detail = (await resp.json()).detail || detail; } catch (e) { /* not JSON */ }
      const err = new Error(detail);
      err.status = resp.status;
      throw err;
    }
    return resp.json();
  }

  function go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  }

  function main() {
    return document.getElementById("main");
  }

  function show(title, ...content) {
    const m = main();
    m.replaceChildren(h("h2", { id: "page-title", tabindex: "-1", text: title }), ...content);
    document.title = `${title} · Wellrate`;
    document.getElementById("page-title").focus({ preventScroll: true });
  }

  function section(id, title, ...content) {
    return h("section", { id: id, "aria-labelledby": id + "-h" }, h("h3", { id: id + "-h", text: title }), ...content);
  }

  function light(cond, colour) {
    const symbol = { green: "●", amber: "▲", red: "■", grey: "○" }[colour] || "○";
    return h("span", { class: `light light-${colour}`, "data-condition": cond, "data-light": colour },
      h("span", { "aria-hidden": "true", text: symbol + " " }), `${t(cond)}${t("colon")}${t("light_" + colour)}`);
  }

  function key(cls, symbol, label) {
    // The coloured swatch is decorative (aria-hidden); the label is ordinary text.
    return h("span", { class: "key" }, h("span", { class: "swatch " + cls, "aria-hidden": "true", text: symbol + " " }), label);
  }

  // ---- chrome: language, unit, navigation ------------------------------------------------

  function applyChrome() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    const lang = document.getElementById("lang-toggle");
    lang.setAttribute("aria-label", t("lang_toggle_label"));
    document.getElementById("unit-select").value = state.unit;
    const signedIn = Boolean(token());
    document.getElementById("site-nav").hidden = !signedIn;
    document.getElementById("sign-out").hidden = !signedIn;
  }

  function wireChrome() {
    document.getElementById("lang-toggle").addEventListener("click", () => {
      state.lang = state.lang === "zh" ? "en" : "zh";
      localStorage.setItem("wr_lang", state.lang);
      render();
    });
    document.getElementById("unit-select").addEventListener("change", (e) => {
      state.unit = e.target.value;
      localStorage.setItem("wr_unit", state.unit);
      render();
    });
    document.getElementById("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      go("#/signin");
    });
    window.addEventListener("hashchange", render);
  }

  // ---- sign-in ---------------------------------------------------------------------------

  function utf8Base64(s) {
    const bytes = new TextEncoder().encode(s);
    let bin = "";
    bytes.forEach((b) => { bin += String.fromCharCode(b); });
    return btoa(bin);
  }

  function signinView() {
    const error = h("p", { id: "signin-error", class: "error", role: "alert" });
    const name = h("input", { id: "signin-name", name: "username", autocomplete: "username", required: true });
    const pw = h("input", { id: "signin-password", name: "password", type: "password", autocomplete: "current-password", required: true });
    const form = h("form", { id: "signin-form", class: "card signin", novalidate: true },
      h("label", { for: "signin-name", text: t("signin_name") }), name,
      h("label", { for: "signin-password", text: t("signin_password") }), pw,
      h("button", { type: "submit", id: "signin-submit", text: t("signin_submit") }), error);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        const resp = await fetch("/auth/sessions", {
          method: "POST",
          headers: { Authorization: "Basic " + utf8Base64(`${name.value}:${pw.value}`) },
        });
        if (resp.status === 429) {
          error.textContent = t("signin_locked", { s: resp.headers.get("Retry-After") || "60" });
          return;
        }
        if (!resp.ok) { error.textContent = t("signin_failed"); return; }
        const body = await resp.json();
        if (body.role !== "clinic") { error.textContent = t("signin_not_clinic"); return; }
        sessionStorage.setItem(TOKEN_KEY, body.token);
        pw.value = "";
        go("#/patients");
      } catch (err) {
        error.textContent = t("signin_error", { msg: err.message });
      }
    });
    show(t("signin_title"), form);
    name.focus();
  }

  // ---- patient list ----------------------------------------------------------------------

  const FILTERS = ["all", "uncontrolled", "no_data_7d", "new_alerts"];
  const SORTS = ["alerts", "name", "last_reading", "composite", "status"];
  const DEFAULT_DESC = { alerts: true, name: false, last_reading: false, composite: false, status: false };

  function listParams(query) {
    const p = new URLSearchParams(query);
    const sort = SORTS.includes(p.get("sort")) ? p.get("sort") : "alerts";
    return {
      status: FILTERS.includes(p.get("status")) ? p.get("status") : "all",
      sort: sort,
      desc: p.has("desc") ? p.get("desc") === "true" : DEFAULT_DESC[sort],
      page: Math.max(1, parseInt(p.get("page") || "1", 10) || 1),
      q: (p.get("q") || "").slice(0, 64),
    };
  }

  function listHash(p) {
    const q = new URLSearchParams({ status: p.status, sort: p.sort, desc: String(p.desc), page: String(p.page) });
    if (p.q) q.set("q", p.q);
    return "#/patients?" + q.toString();
  }

  function select(id, label, options, value, onChange) {
    const s = h("select", { id: id, name: id }, options.map(([v, txt]) => h("option", { value: v, selected: v === value, text: txt })));
    s.addEventListener("change", () => onChange(s.value));
    return h("div", { class: "field" }, h("label", { for: id, text: label }), s);
  }

  async function listView(query) {
    const p = listParams(query);
    show(t("nav_patients"), h("p", { text: t("loading") }));
    const qs = new URLSearchParams({
      status: p.status, sort: p.sort, desc: String(p.desc),
      offset: String((p.page - 1) * PAGE_SIZE), limit: String(PAGE_SIZE),
    });
    if (p.q) qs.set("q", p.q);
    let body;
    try {
      body = await api("/clinic/worklist?" + qs.toString());
    } catch (err) {
      show(t("nav_patients"), h("p", { class: "error", role: "alert", text: t("load_failed", { msg: err.message }) }));
      return;
    }
    const set = (change) => go(listHash(Object.assign({}, p, { page: 1 }, change)));
    const search = h("input", { id: "search", type: "search", name: "q", value: p.q, maxlength: "64" });
    const controls = h("form", { class: "controls", role: "search", "aria-label": t("filter") },
      select("filter", t("filter"), FILTERS.map((f) => [f, t("f_" + f)]), p.status, (v) => set({ status: v })),
      select("sort", t("sort_by"), SORTS.map((s) => [s, t("s_" + s)]), p.sort, (v) => set({ sort: v, desc: DEFAULT_DESC[v] })),
      h("div", { class: "field" }, h("label", { for: "search", text: t("search") }), search),
      h("button", { type: "submit", text: t("search") }));
    controls.addEventListener("submit", (e) => { e.preventDefault(); set({ q: search.value.trim() }); });

    const pages = Math.max(1, Math.ceil(body.total / PAGE_SIZE));
    const sortHeader = (key, label) => {
      const active = p.sort === key;
      const btn = h("button", { type: "button", class: "sort-btn", "data-sort": key, text: label + (active ? (p.desc ? " ↓" : " ↑") : "") });
      btn.addEventListener("click", () => set({ sort: key, desc: active ? !p.desc : DEFAULT_DESC[key] }));
      return h("th", { scope: "col", "aria-sort": active ? (p.desc ? "descending" : "ascending") : "none" }, btn);
    };
    const rows = body.items.map((r) => {
      const lights = Object.entries(r.lights).map(([c, col]) => light(c, col));
      const others = r.conditions.filter((c) => !(c in r.lights)).map((c) => h("span", { class: "chip", text: t(c) }));
      const suff = Object.entries(r.sufficiency).filter(([, v]) => v !== null).map(([k, v]) =>
        h("span", { class: "suff " + (v ? "yes" : "no"), text: `${t("suff_" + k)} ${v ? "✓" : "✗"}`, title: t(v ? "suff_yes" : "suff_no") }));
      return h("tr", { class: r.open_alerts ? "alerted" : "", "data-member": r.member_id },
        h("th", { scope: "row" },
          h("a", { href: "#/patient/" + encodeURIComponent(r.member_id), class: "patient-link", text: r.display_name || r.member_id }),
          h("div", { class: "muted", text: r.member_id })),
        h("td", {}, h("div", { class: "lights" }, lights, others)),
        h("td", { class: "num", text: num(r.composite) }),
        h("td", { text: r.last_data_at ? fmtTime(r.last_data_at) : t("never") }),
        h("td", {}, suff.length ? suff : t("none")),
        h("td", { class: "num" }, r.open_alerts
          ? h("span", { class: "badge" + (r.critical_alerts ? " critical" : ""), text: String(r.open_alerts) })
          : "0"));
    });
    const table = h("table", { id: "patients", class: "data" },
      h("caption", { class: "sr-only", text: t("nav_patients") }),
      h("thead", {}, h("tr", {},
        sortHeader("name", t("col_patient")), sortHeader("status", t("col_conditions")),
        sortHeader("composite", t("col_composite")), sortHeader("last_reading", t("col_last")),
        h("th", { scope: "col", text: t("col_sufficiency") }), sortHeader("alerts", t("col_alerts")))),
      h("tbody", {}, rows));
    const prev = h("button", { type: "button", id: "prev-page", disabled: p.page <= 1, text: t("prev") });
    const next = h("button", { type: "button", id: "next-page", disabled: p.page >= pages, text: t("next") });
    prev.addEventListener("click", () => go(listHash(Object.assign({}, p, { page: p.page - 1 }))));
    next.addEventListener("click", () => go(listHash(Object.assign({}, p, { page: p.page + 1 }))));
    const pager = h("nav", { class: "pager", "aria-label": t("page_info", { page: p.page, pages: pages, total: body.total }) },
      prev, h("span", { id: "page-info", text: t("page_info", { page: p.page, pages: pages, total: body.total }) }), next);
    show(t("nav_patients"), controls, body.items.length ? h("div", { class: "table-wrap" }, table) : h("p", { text: t("no_patients") }), pager);
  }

  // ---- patient page ----------------------------------------------------------------------

  const MEAL_GROUPS = [
    // ADA Standards of Care 2025 / CLINICAL.md: before meals 80-130 mg/dL (4.4-7.2 mmol/L),
    // peak after meals < 180 (10.0); each reading classified in its own unit.
    { key: "pre", contexts: ["fasting", "before_breakfast", "before_lunch", "before_dinner", "before_meal"],
      target: [80, 130], inTarget: (r) => r.value !== null && (r.unit === "mmol/L" ? r.value >= 4.4 && r.value <= 7.2 : r.value >= 80 && r.value <= 130) },
    { key: "post", contexts: ["after_breakfast", "after_lunch", "after_dinner", "after_meal"],
      target: [70, 180], inTarget: (r) => r.value !== null && (r.unit === "mmol/L" ? r.value >= 3.9 && r.value < 10.0 : r.value >= 70 && r.value < 180) },
    { key: "bed", contexts: ["before_sleep"], target: null, inTarget: (r) => r.censored !== "LO" },
    { key: "other", contexts: null, target: null, inTarget: (r) => r.censored !== "LO" },
  ];

  function alertsSection(alerts) {
    if (!alerts.length) return section("alerts", t("alerts"), h("p", { text: t("no_alerts") }));
    const items = alerts.map((a) => {
      const btn = h("button", { type: "button", class: "ack", "data-alert": a.alert_id, text: t("acknowledge") });
      btn.addEventListener("click", async () => {
        btn.disabled = true;
        try {
          await api(`/clinic/alerts/${a.alert_id}/acknowledge`, { method: "POST" });
          btn.textContent = t("acknowledged");
          li.classList.add("done");
          announce(t("acknowledged"));
        } catch (err) {
          btn.disabled = false;
          announce(t("load_failed", { msg: err.message }));
        }
      });
      const li = h("li", { class: "alert sev-" + a.severity },
        h("span", { class: "sev", text: t("sev_" + a.severity) }), " ",
        h("strong", { text: t("alert_" + a.kind) }), " · ", fmtTime(a.observed_at), " ", btn);
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

  function bpSection(bp, days) {
    const title = t("bp_title", { days: days });
    if (!bp.readings.length) return section("bp", title, h("p", { text: t("bp_none") }));
    const svg = C.bp(bp, {
      title: title, desc: t("bp_desc", { n: bp.readings.length, sys: bp.target.sys }),
      target: t("bp_target", { sys: bp.target.sys, dia: bp.target.dia }), homeMean: t("bp_home_mean"), dateFmt: fmtDate,
    });
    const means = bp.protocol_means.map((m) => h("li", { text: `${fmtDay(m.window_start)}–${fmtDay(m.window_end)}: ${num(m.home_mean_sys)}/${num(m.home_mean_dia)} mmHg` }));
    return section("bp", title,
      h("p", { class: "legend" }, key("sys", "●", t("bp_systolic")), " ",
        key("dia", "■", t("bp_diastolic")), " ",
        key("mean", "—", t("bp_home_mean")), " · ", t("bp_target", { sys: bp.target.sys, dia: bp.target.dia }), " · ", t("bp_unvalidated")),
      h("div", { class: "chart-wrap" }, svg), means.length ? h("ul", { class: "means" }, means) : null);
  }

  function glucoseSection(g) {
    const parts = [];
    const s = g.agp_stats;
    if (g.agp) {
      parts.push(h("p", { class: "muted", id: "agp-stats", text: t("agp_stats", {
        start: fmtDay(g.agp_start), end: fmtDay(g.agp_end), n: g.agp_readings, active: num(s.active_pct),
        mean: s.mean_mgdl === null ? "—" : `${fmtGlucose(s.mean_mgdl)} ${unitLabel()}`, gmi: num(s.gmi, 1), cv: num(s.cv, 1),
      }) }));
      parts.push(h("p", { class: "legend" }, key("median", "—", t("agp_median")), " ",
        key("iqr", "▮", t("agp_iqr")), " ", key("outer", "▮", t("agp_outer")),
        ` · ${unitLabel()} · 3.9–10.0 mmol/L (70–180 mg/dL)`));
      parts.push(h("div", { class: "chart-wrap" }, C.agp(g.agp, state.unit, { title: t("agp_title"), desc: t("agp_desc", { n: g.agp_readings }) })));
    } else {
      parts.push(h("p", { text: g.agp_missing ? t("agp_missing") : t("agp_none") }));
    }
    const tirPart = g.tir
      ? h("div", { class: "tir-wrap" }, C.tir(g.tir, {
        title: t("tir_title"), desc: Object.entries(g.tir).map(([k, v]) => `${t("tir_" + k)} ${C.pct(v)}`).join(", "),
        names: { very_high: t("tir_very_high"), high: t("tir_high"), in_range: t("tir_in_range"), low: t("tir_low"), very_low: t("tir_very_low") },
      }), g.score_window ? h("p", { class: "muted", text: t("score_window", { start: fmtDay(g.score_window.start), end: fmtDay(g.score_window.end) }) }) : null)
      : h("p", { text: t("tir_none") });
    return section("agp", t("agp_title"), h("div", { class: "agp-row" }, h("div", { class: "agp-main" }, parts),
      h("div", { class: "agp-side" }, h("h4", { text: t("tir_title") }), tirPart)));
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
    const header = h("div", { class: "patient-head" },
      h("p", {}, h("a", { href: "#/patients", id: "back-link", text: "← " + t("back") })),
      h("p", { class: "muted", text: `${p.member_id} · ${p.sex} · ${p.birth_date}` }),
      h("div", { class: "lights", id: "patient-lights" }, lights, others));
    const hasCgm = Boolean(glucose.agp || glucose.tir || glucose.agp_readings);
    show(p.display_name || p.member_id, header,
      alertsSection(detail.alerts), scoreSection(detail.score), bpSection(bp, bpDays),
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

  // ---- routing ---------------------------------------------------------------------------

  function render() {
    applyChrome();
    const hash = location.hash || "";
    if (!token()) {
      if (hash !== "#/signin") { location.hash = "#/signin"; return; }
      signinView();
      return;
    }
    const [path, query] = hash.replace(/^#/, "").split("?");
    for (const link of document.querySelectorAll("#site-nav a")) {
      link.toggleAttribute("aria-current", path.startsWith(link.dataset.route));
      if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
    }
    if (path.startsWith("/patient/")) patientView(decodeURIComponent(path.slice("/patient/".length)));
    else if (path === "/overview") overviewView();
    else if (path === "/patients") listView(query || "");
    else location.hash = "#/patients";
  }

  wireChrome();
  render();
})();
