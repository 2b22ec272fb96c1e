/* Wellrate clinic dashboard: the header (language, unit, sign-out) and the routes.
 *
 * Pages are hash routes (#/patients, #/patient/<id>, #/alerts, #/overview, #/signin), drawn by
 * list.js and patient.js; data comes from the /clinic JSON endpoints with the session
 * token from POST /auth/sessions, kept in sessionStorage (gone when the tab closes).
 */
"use strict";

(function () {
  const WR = window.WR;
  const { state, TOKEN_KEY, t, token, go } = WR;

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
      const session = sessionStorage.getItem(TOKEN_KEY);
      sessionStorage.removeItem(TOKEN_KEY);
      go("#/signin");
      // End the session on the server too (a copied token stops working).
      if (session) fetch("/auth/sessions", { method: "DELETE", headers: { Authorization: "Bearer " + session } }).catch(() => {});
    });
    window.addEventListener("hashchange", render);
  }

  // ---- routing ---------------------------------------------------------------------------

  function render() {
    applyChrome();
    const hash = location.hash || "";
    if (!token()) {
      if (hash !== "#/signin") {
        if (hash) sessionStorage.setItem(WR.RETURN_KEY, hash);  // a deep link: back after sign-in
        location.hash = "#/signin";
        return;
      }
      WR.pages.signin();
      return;
    }
    const [path, query] = hash.replace(/^#/, "").split("?");
    for (const link of document.querySelectorAll("#site-nav a")) {
      link.toggleAttribute("aria-current", path.startsWith(link.dataset.route));
      if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
    }
    if (path.startsWith("/patient/")) WR.pages.patient(decodeURIComponent(path.slice("/patient/".length)));
    else if (path === "/overview") WR.pages.overview();
    else if (path === "/alerts") WR.pages.alerts(query || "");
    else if (path === "/patients") WR.pages.list(query || "");
    else location.hash = "#/patients";
  }

  WR.render = render;
  wireChrome();
  render();
})();
