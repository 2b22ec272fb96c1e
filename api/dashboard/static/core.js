/* Wellrate clinic dashboard: shared state and helpers (window.WR), loaded first.
 *
 * Plain JavaScript, no build step, nothing fetched from outside this server. All text is
 * set with textContent, never as HTML, so nothing from the data can inject markup.
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

  const RETURN_KEY = "wr_return", EXPIRED_KEY = "wr_expired";

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  async function api(path, opts) {
    const headers = { Accept: "application/json", Authorization: "Bearer " + token() };
    const resp = await fetch(path, Object.assign({ headers: headers }, opts || {}));
    if (resp.status === 401) {
      // The session ended (expired, revoked, signed out elsewhere): say so on the sign-in
      // page, and come back to this page after signing in. A page's other requests fail
      // the same way; only the first one goes to the sign-in page (drawing it again would
      // wipe the message).
      if (!token()) throw new Error(t("expired"));
      sessionStorage.removeItem(TOKEN_KEY);
      sessionStorage.setItem(EXPIRED_KEY, "1");
      if (location.hash && location.hash !== "#/signin") sessionStorage.setItem(RETURN_KEY, location.hash);
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
    if (location.hash === hash) window.WR.render();
    else location.hash = hash;
  }

  function main() {
    return document.getElementById("main");
  }

  function show(title, ...content) {
    const m = main();
    // Sections a page leaves out are null: replaceChildren would print them as "null".
    const parts = content.flat().filter((c) => c !== null && c !== undefined && c !== false);
    m.replaceChildren(h("h2", { id: "page-title", tabindex: "-1", text: title }), ...parts);
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

  window.WR = { C, state, TOKEN_KEY, RETURN_KEY, EXPIRED_KEY, PAGE_SIZE, t, h, fmtDate, fmtDay, fmtTime, fmtGlucose, unitLabel, num, announce, token, api, go, show, section, light, key, pages: {}, render: () => {} };
})();
