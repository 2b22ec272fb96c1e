/* Wellrate clinic dashboard: the sign-in page and the patient list. */
"use strict";

(function () {
  const { C, state, TOKEN_KEY, RETURN_KEY, EXPIRED_KEY, PAGE_SIZE, t, h, fmtDate, fmtDay, fmtTime, fmtGlucose, unitLabel, num, announce, token, api, go, show, section, light, key } = window.WR;

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
        // credentials "omit": the browser never adds (or offers to store) Basic credentials
        // of its own; a wrong password is a 401 the page reports, not a browser dialog.
        const resp = await fetch("/auth/sessions", {
          method: "POST",
          credentials: "omit",
          headers: { Authorization: "Basic " + utf8Base64(`${name.value}:${pw.value}`) },
        });
        if (resp.status === 429) {
          error.textContent = t("signin_locked", { s: resp.headers.get("Retry-After") || "60" });
          return;
        }
        if (resp.status === 401) { error.textContent = t("signin_failed"); return; }
        if (!resp.ok) { error.textContent = t("signin_error", { msg: resp.statusText }); return; }
        const body = await resp.json();
        if (body.role !== "clinic") { error.textContent = t("signin_not_clinic"); return; }
        sessionStorage.setItem(TOKEN_KEY, body.token);
        pw.value = "";
        const back = sessionStorage.getItem(RETURN_KEY);
        sessionStorage.removeItem(RETURN_KEY);
        go(back || "#/patients");
      } catch (err) {
        error.textContent = t("signin_error", { msg: err.message });
      }
    });
    if (sessionStorage.getItem(EXPIRED_KEY)) {
      sessionStorage.removeItem(EXPIRED_KEY);
      error.textContent = t("expired");
    }
    show(t("signin_title"), form);
    name.focus();
  }

  // ---- patient list ----------------------------------------------------------------------

  const FILTERS = ["all", "uncontrolled", "no_data_7d", "new_alerts"];
  const SORTS = ["alerts", "name", "last_reading", "composite", "status", "bp", "tir", "tbr"];
  // Worst first by default: highest BP, lowest time in range, most time below range.
  const DEFAULT_DESC = { alerts: true, name: false, last_reading: false, composite: false, status: false, bp: true, tir: false, tbr: true };
  const CONDITIONS = ["any", "hypertension", "diabetes", "ckd", "hyperlipidaemia", "none"];

  function listParams(query) {
    const p = new URLSearchParams(query);
    const sort = SORTS.includes(p.get("sort")) ? p.get("sort") : "alerts";
    return {
      status: FILTERS.includes(p.get("status")) ? p.get("status") : "all",
      sort: sort,
      desc: p.has("desc") ? p.get("desc") === "true" : DEFAULT_DESC[sort],
      page: Math.max(1, parseInt(p.get("page") || "1", 10) || 1),
      q: (p.get("q") || "").slice(0, 64),
      condition: CONDITIONS.includes(p.get("condition")) ? p.get("condition") : "any",
    };
  }

  function listHash(p) {
    const q = new URLSearchParams({ status: p.status, sort: p.sort, desc: String(p.desc), page: String(p.page) });
    if (p.q) q.set("q", p.q);
    if (p.condition !== "any") q.set("condition", p.condition);
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
      offset: String((p.page - 1) * PAGE_SIZE), limit: String(PAGE_SIZE), condition: p.condition,
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
      select("condition", t("condition"), CONDITIONS.map((c) => [c, c === "any" || c === "none" ? t("c_" + c) : t(c)]), p.condition, (v) => set({ condition: v })),
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
        h("td", { "data-label": t("col_conditions") + t("colon") }, h("div", { class: "lights" }, lights, others)),
        h("td", { class: "num", "data-label": t("col_composite") + t("colon"), text: num(r.composite) }),
        h("td", { class: "bp-tir", "data-label": t("col_bp_tir") + t("colon"), text: [
          r.last_bp_sys !== null && r.last_bp_sys !== undefined ? `${num(r.last_bp_sys)}/${num(r.last_bp_dia)}` : "—",
          r.tir !== null && r.tir !== undefined ? `TIR ${num(r.tir)}%` : null,
          r.tbr70 !== null && r.tbr70 !== undefined ? `TBR ${num(r.tbr70, 1)}%` : null,
        ].filter(Boolean).join(" · ") }),
        h("td", { "data-label": t("col_last") + t("colon"), text: r.last_data_at ? fmtTime(r.last_data_at) : t("never") }),
        h("td", { "data-label": t("col_sufficiency") + t("colon") }, suff.length ? suff : t("none")),
        h("td", { class: "num", "data-label": t("col_alerts") + t("colon") }, r.open_alerts
          ? h("span", { class: "badge" + (r.critical_alerts ? " critical" : ""), "data-critical": String(r.critical_alerts),
            // Criticals in words beside the count: a colour alone does not tell them apart.
            text: r.critical_alerts ? `${r.open_alerts} · ${t("sev_critical")} ${r.critical_alerts}` : String(r.open_alerts) })
          : "0"));
    });
    const table = h("table", { id: "patients", class: "data" },
      h("caption", { class: "sr-only", text: t("nav_patients") }),
      h("thead", {}, h("tr", {},
        sortHeader("name", t("col_patient")), sortHeader("status", t("col_conditions")),
        sortHeader("composite", t("col_composite")), sortHeader("bp", t("col_bp_tir")),
        sortHeader("last_reading", t("col_last")),
        h("th", { scope: "col", text: t("col_sufficiency") }), sortHeader("alerts", t("col_alerts")))),
      h("tbody", {}, rows));
    const prev = h("button", { type: "button", id: "prev-page", disabled: p.page <= 1, text: t("prev") });
    const next = h("button", { type: "button", id: "next-page", disabled: p.page >= pages, text: t("next") });
    prev.addEventListener("click", () => go(listHash(Object.assign({}, p, { page: p.page - 1 }))));
    next.addEventListener("click", () => go(listHash(Object.assign({}, p, { page: p.page + 1 }))));
    // Page numbers around the current one, and a jump: 100 pages are not clicked through.
    const nums = [];
    for (let n = Math.max(1, p.page - 2); n <= Math.min(pages, p.page + 2); n++) {
      const b = h("button", { type: "button", class: "page-num", "aria-current": n === p.page ? "page" : null, text: String(n) });
      b.addEventListener("click", () => go(listHash(Object.assign({}, p, { page: n }))));
      nums.push(b);
    }
    const jump = h("input", { id: "page-jump", type: "number", min: "1", max: String(pages), value: String(p.page) });
    jump.addEventListener("change", () => {
      const n = Math.min(pages, Math.max(1, parseInt(jump.value, 10) || 1));
      go(listHash(Object.assign({}, p, { page: n })));
    });
    const pager = h("nav", { class: "pager", "aria-label": t("page_info", { page: p.page, pages: pages, total: body.total }) },
      prev, nums, next, h("span", { id: "page-info", text: t("page_info", { page: p.page, pages: pages, total: body.total }) }),
      h("label", { for: "page-jump", text: t("go_page") }), jump);
    show(t("nav_patients"), controls, body.items.length ? h("div", { class: "table-wrap" }, table) : h("p", { text: t("no_patients") }), pager);
  }

  Object.assign(window.WR.pages, { signin: signinView, list: listView });
})();
