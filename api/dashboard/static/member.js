/* Wellrate: a member's own page. Next year's premium on every version with the reasons,
 * the indicators in plain words, a premium simulator priced by the same engine as real
 * quotes (POST /member/me/simulate, never stored), and consent shown and changeable.
 *
 * Plain JavaScript, no build step, nothing fetched from outside this server; all text is
 * set with textContent, never as HTML. Chinese by default.
 */
"use strict";

(function () {
  const TOKEN_KEY = "wr_member_token";
  const NOTICE_VERSION = "2026.1"; // the consent notice this page shows
  const S = {
    zh: {
      title: "我的健康与保费", lang: "English", sign_out: "退出", sign_in: "登录",
      name: "账号", password: "密码", bad_login: "账号或密码错误",
      expired: "登录已过期，请重新登录", locked: "尝试次数过多，请稍后再试",
      next_year: "明年保费", base: "基础保费", held: "当前所选", deductible: "免赔额",
      why: "保费为什么是这样", lines_for: "（{v}）", indicators: "我的健康指标",
      no_score: "还没有足够的数据计算评分。", sufficient: "数据充足", insufficient: "数据不足",
      simulator: "保费模拟器", sim_note: "按与正式报价相同的规则计算，结果不会保存。",
      sim_bp: "家庭血压达标", sim_tir: "血糖在目标范围内的时间（%）", sim_steps: "每日步数",
      sim_adh: "按时用药（覆盖天数 %）", sim_run: "计算", sim_result: "模拟结果",
      change: "较现在 {d}", lower: "还能降低保费的方法", up_to: "最多 {p}%（¥{y}）",
      consent: "我的授权", consent_pricing: "允许保险公司用我的健康数据计算保费（{p}）",
      given: "已授权 {d}", withdrawn: "已撤回 {d}", withdraw: "撤回授权", give: "授权",
      consent_none: "尚未授权：不使用您的健康数据定价，只按基础保费和续保情况计算。",
      consent_note: "撤回后新数据不再用于定价；撤回前的数据仍按当时的授权使用。",
      purpose_clinic_care: "社区诊所随访", purpose_research: "研究", purpose_insurer_pricing: "保险定价",
      dom_bp: "血压", dom_glucose: "血糖", dom_activity: "运动", dom_adherence: "用药", dom_engagement: "规律测量",
      mean_engagement: "全年有多少天上传了足够的数据。",
      mean_bp: "家庭血压是否低于您的目标值，早上和晚上都算。",
      mean_glucose: "血糖在目标范围内的时间，以及是否有低血糖。",
      mean_activity: "每天走多少步，或每周中等强度运动多少分钟。",
      mean_adherence: "药是否按处方连续服用。",
      loading: "加载中…", error: "出错了：{e}",
    },
    en: {
      title: "My health and premium", lang: "中文", sign_out: "Sign out", sign_in: "Sign in",
      name: "Account", password: "Password", bad_login: "Wrong account or password",
      expired: "Your session has expired: please sign in again", locked: "Too many attempts: try again later",
      next_year: "Next year's premium", base: "base", held: "your version", deductible: "deductible",
      why: "Why this premium", lines_for: " ({v})", indicators: "My health indicators",
      no_score: "Not enough data for a score yet.", sufficient: "enough data", insufficient: "not enough data",
      simulator: "Premium simulator", sim_note: "Computed by the same rules as real quotes; nothing is stored.",
      sim_bp: "Home blood pressure at target", sim_tir: "Glucose time in range (%)", sim_steps: "Steps a day",
      sim_adh: "Medicines taken (% of days covered)", sim_run: "Calculate", sim_result: "Simulated",
      change: "{d} against now", lower: "What would lower it", up_to: "up to {p}% (¥{y})",
      consent: "My consents", consent_pricing: "The insurer may price my premium from my health data ({p})",
      given: "given {d}", withdrawn: "withdrawn {d}", withdraw: "Withdraw", give: "Give consent",
      consent_none: "No consent: your health data are not used; you pay the base and the renewal terms.",
      consent_note: "After a withdrawal new data are not used for pricing; data from before still count.",
      purpose_clinic_care: "clinic follow-up", purpose_research: "research", purpose_insurer_pricing: "insurer pricing",
      dom_bp: "Blood pressure", dom_glucose: "Glucose", dom_activity: "Activity", dom_adherence: "Medicines",
      dom_engagement: "Measuring regularly", mean_engagement: "On how many days of the year you sent enough data.",
      mean_bp: "Whether your home blood pressure is below your target, mornings and evenings.",
      mean_glucose: "How long your glucose stays in the target range, and whether you had lows.",
      mean_activity: "How many steps a day, or minutes of moderate exercise a week.",
      mean_adherence: "Whether you take your medicines without gaps.",
      loading: "Loading…", error: "Something went wrong: {e}",
    },
  };
  const state = { lang: localStorage.getItem("wr_lang") === "en" ? "en" : "zh", standing: null };

  function t(key, params) {
    let s = S[state.lang][key] ?? S.zh[key] ?? key;
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
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  const main = () => document.getElementById("main");
  const reason = (o) => (state.lang === "zh" ? o.reason_zh : o.reason_en) || "";
  const vname = (v) => (state.lang === "zh" ? v.name_zh : v.name_en);
  const fmtDay = (s) => new Intl.DateTimeFormat(state.lang === "zh" ? "zh-CN" : "en-GB",
    { year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(s));

  class Expired extends Error {}

  async function api(method, path, body) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const resp = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (resp.status === 401) throw new Expired();
    const data = resp.status === 204 ? null : await resp.json();
    if (!resp.ok) throw new Error((data && (data.detail || data.title)) || resp.status);
    return data;
  }

  // ---- sign-in -------------------------------------------------------------------------

  function signIn(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    document.getElementById("sign-out").hidden = true;
    const err = h("p", { class: "error", id: "signin-error", role: "alert", text: message || "" });
    const name = h("input", { id: "name", name: "username", autocomplete: "username", required: true });
    const pw = h("input", { id: "password", type: "password", autocomplete: "current-password", required: true });
    const form = h("form", { class: "signin", onsubmit: async (e) => {
      e.preventDefault();
      // Basic credentials only on this request, never a browser dialog (no challenge).
      const resp = await fetch("/auth/sessions", {
        method: "POST",
        headers: { Authorization: "Basic " + btoa(unescape(encodeURIComponent(`${name.value}:${pw.value}`))) },
      });
      if (resp.ok) {
        const s = await resp.json();
        if (s.role !== "member") { err.textContent = t("bad_login"); return; }
        sessionStorage.setItem(TOKEN_KEY, s.token);
        render();
      } else {
        err.textContent = resp.status === 429 ? t("locked") : t("bad_login");
      }
    } },
      h("label", { for: "name", text: t("name") }), name,
      h("label", { for: "password", text: t("password") }), pw,
      h("p", {}, h("button", { type: "submit", class: "primary", id: "signin-button", text: t("sign_in") })),
      err);
    main().replaceChildren(h("section", {}, h("h2", { text: t("sign_in") }), form));
  }

  // ---- sections ------------------------------------------------------------------------

  function versionCards(st, before) {
    const old = new Map((before ? before.versions : []).map((v) => [v.version_id, v]));
    return h("div", { class: "versions" }, (st.versions || []).map((v) => {
      const b = v.benefits || {};
      const prev = old.get(v.version_id);
      const diff = prev ? (v.premium_fen - prev.premium_fen) / 100 : null;
      return h("div", { class: `card${v.held ? " held" : ""}`, "data-version": v.version_id },
        h("div", {}, h("strong", { text: vname(v) }), v.held ? h("span", { class: "badge", text: t("held") }) : null),
        h("div", { class: "price", text: `¥${v.premium}` }),
        h("div", { class: "muted", text: `${t("base")} ¥${v.base_premium}` }),
        diff === null ? null : h("div", { class: diff < 0 ? "ok" : diff > 0 ? "bad" : "grey",
          text: t("change", { d: `${diff > 0 ? "+" : ""}¥${diff.toFixed(2)}` }) }),
        b.deductible_yuan ? h("div", {}, `${t("deductible")} ¥${b.deductible_yuan}`) : null,
        b.reason_en ? h("div", { class: "muted", text: reason(b) }) : null);
    }));
  }

  function lines(st) {
    const held = (st.versions || []).find((v) => v.held);
    return h("section", { id: "why" },
      h("h2", { text: t("why") + (held ? t("lines_for", { v: vname(held) }) : "") }),
      h("ul", { class: "lines" }, st.components.map((c) => h("li", { "data-code": c.code },
        h("span", { class: `pct ${Number(c.pct) < 0 ? "ok" : Number(c.pct) > 0 ? "bad" : "grey"}`,
          text: `${Number(c.pct) > 0 ? "+" : ""}${Number(c.pct).toFixed(2)}%` }),
        h("span", { text: reason(c) })))),
      st.what_would_lower_it.length ? h("h2", { text: t("lower") }) : null,
      h("ul", { class: "lines" }, st.what_would_lower_it.map((x) => h("li", {},
        h("span", { class: "pct ok", text: t("up_to", { p: x.up_to_pct, y: x.up_to_yuan }) }),
        h("span", { text: state.lang === "zh" ? x.how_zh : x.how_en })))));
  }

  function indicators(score) {
    const sec = h("section", { id: "indicators" }, h("h2", { text: t("indicators") }));
    const comps = Object.entries(score.components || {});
    if (score.score === null || !comps.length) {
      sec.appendChild(h("p", { text: t("no_score") }));
      return sec;
    }
    for (const [name, c] of comps) {
      const ok = c.sufficient;
      sec.appendChild(h("div", { class: "card", "data-domain": name },
        h("strong", { text: t(`dom_${name}`) }),
        h("span", { class: `badge ${ok ? "" : "grey"}`, text: ok ? t("sufficient") : t("insufficient") }),
        h("div", { text: reason(c) }),
        h("div", { class: "muted", text: t(`mean_${name}`) })));
    }
    return sec;
  }

  function simulator(st) {
    const out = h("div", { id: "sim-result", "aria-live": "polite" });
    const bp = h("input", { type: "checkbox", id: "sim-bp" });
    const tir = h("input", { type: "range", id: "sim-tir", min: 0, max: 100, step: 1, value: 70 });
    const steps = h("input", { type: "range", id: "sim-steps", min: 0, max: 15000, step: 500, value: 6000 });
    const adh = h("input", { type: "range", id: "sim-adh", min: 0, max: 100, step: 5, value: 80 });
    const shown = (input, fmt) => {
      const v = h("output", { for: input.id, text: fmt(input.value) });
      input.addEventListener("input", () => { v.textContent = fmt(input.value); });
      return v;
    };
    const run = async () => {
      const body = { bp_controlled: bp.checked, tir_pct: Number(tir.value),
        steps: Number(steps.value), adherence_pct: Number(adh.value) };
      try {
        const sim = await api("POST", "/member/me/simulate", body);
        out.replaceChildren(h("h2", { text: t("sim_result") }), versionCards(sim, st));
      } catch (e) { failed(e); }
    };
    return h("section", { id: "simulator" }, h("h2", { text: t("simulator") }),
      h("p", { class: "muted", text: t("sim_note") }),
      h("div", { class: "row" }, bp, h("label", { for: "sim-bp", text: t("sim_bp") })),
      h("label", { for: "sim-tir", text: t("sim_tir") }), tir, shown(tir, (v) => `${v}%`),
      h("label", { for: "sim-steps", text: t("sim_steps") }), steps, shown(steps, (v) => v),
      h("label", { for: "sim-adh", text: t("sim_adh") }), adh, shown(adh, (v) => `${v}%`),
      h("p", {}, h("button", { type: "button", class: "primary", id: "sim-run", text: t("sim_run"), onclick: run })),
      out);
  }

  function consents(list, productId) {
    const sec = h("section", { id: "consents" }, h("h2", { text: t("consent") }));
    const pricing = list.filter((c) => c.purpose === "insurer_pricing" && c.product_id === productId);
    const live = pricing.find((c) => !c.withdrawn_at);
    sec.appendChild(h("p", { text: t("consent_pricing", { p: productId }) }));
    if (live) {
      sec.appendChild(h("p", { class: "ok", id: "consent-state", text: t("given", { d: fmtDay(live.given_at) }) }));
      sec.appendChild(h("button", { type: "button", class: "plain", id: "consent-withdraw", text: t("withdraw"),
        onclick: async () => {
          try { await api("POST", `/member/me/consents/${live.consent_id}/withdraw`); render(); } catch (e) { failed(e); }
        } }));
    } else {
      const last = pricing.filter((c) => c.withdrawn_at).pop();
      sec.appendChild(h("p", { class: "grey", id: "consent-state",
        text: last ? t("withdrawn", { d: fmtDay(last.withdrawn_at) }) : t("consent_none") }));
      sec.appendChild(h("button", { type: "button", class: "plain", id: "consent-give", text: t("give"),
        onclick: async () => {
          try {
            await api("POST", "/member/me/consents", { purpose: "insurer_pricing", product_id: productId, notice_version: NOTICE_VERSION });
            render();
          } catch (e) { failed(e); }
        } }));
    }
    sec.appendChild(h("p", { class: "muted", text: t("consent_note") }));
    const others = list.filter((c) => c.purpose !== "insurer_pricing");
    for (const c of others) {
      sec.appendChild(h("p", { class: "muted", text: `${t(`purpose_${c.purpose}`)}: ${c.withdrawn_at
        ? t("withdrawn", { d: fmtDay(c.withdrawn_at) }) : t("given", { d: fmtDay(c.given_at) })}` }));
    }
    return sec;
  }

  function failed(e) {
    if (e instanceof Expired) { signIn(t("expired")); return; }
    main().appendChild(h("p", { class: "error", role: "alert", text: t("error", { e: e.message }) }));
  }

  async function render() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.getElementById("title").textContent = t("title");
    document.getElementById("lang").textContent = t("lang");
    document.getElementById("sign-out").textContent = t("sign_out");
    if (!sessionStorage.getItem(TOKEN_KEY)) { signIn(); return; }
    document.getElementById("sign-out").hidden = false;
    main().replaceChildren(h("p", { text: t("loading") }));
    try {
      const [st, score, list] = await Promise.all([
        api("GET", "/member/me/standing"), api("GET", "/member/me/score"), api("GET", "/member/me/consents"),
      ]);
      state.standing = st;
      main().replaceChildren(
        h("section", { id: "premium" }, h("h2", { text: `${t("next_year")} ${st.plan_year}` }), versionCards(st, null)),
        lines(st), indicators(score), simulator(st), consents(list, st.product_id));
    } catch (e) { failed(e); }
  }

  document.getElementById("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("wr_lang", state.lang);
    render();
  });
  document.getElementById("sign-out").addEventListener("click", async () => {
    try { await api("DELETE", "/auth/sessions"); } catch (e) { /* signed out either way */ }
    signIn();
  });
  render();
})();
