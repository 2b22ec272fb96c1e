/* Wellrate clinic dashboard: the clinic's alerts worklist (#/alerts).
 *
 * Open alerts of every patient as episodes (one line per patient, kind and local day, with
 * the readings' values), criticals first and in their own section, warnings (such as a
 * reading from an unvalidated device) after them; one click acknowledges an episode.
 */
"use strict";

(function () {
  const { PAGE_SIZE, t, h, fmtDay, fmtTime, api, go, show, section, announce, token } = window.WR;

  function values(ep) {
    return (ep.details || []).filter(Boolean).map((d) => {
      if (d.systolic !== undefined) return `${d.systolic}/${d.diastolic} mmHg`;
      if (d.value !== undefined) return `${d.value} ${d.unit || ""}`.trim();
      return "";
    }).filter(Boolean).join(", ");
  }

  function row(ep) {
    const ack = h("button", { type: "button", class: "ack", "data-alerts": ep.alert_ids.join(","), text: t("acknowledge") });
    ack.addEventListener("click", async () => {
      ack.disabled = true;
      try {
        await api("/clinic/alerts/acknowledge", {
          method: "POST",
          body: JSON.stringify({ alert_ids: ep.alert_ids }),
          // api() takes these headers whole: the token goes with the JSON type.
          headers: { Accept: "application/json", Authorization: "Bearer " + token(), "Content-Type": "application/json" },
        });
        ack.textContent = t("acknowledged");
        announce(t("acknowledged"));
      } catch (err) {
        ack.disabled = false;
        announce(t("load_failed", { msg: err.message }));
      }
    });
    return h("li", { class: "episode sev-" + ep.severity, "data-kind": ep.kind, "data-member": ep.member_id },
      h("span", { class: "sev", text: t("sev_" + ep.severity) }),
      h("a", { href: "#/patient/" + encodeURIComponent(ep.member_id), class: "patient-link", text: ep.display_name || ep.member_id }),
      h("span", { class: "kind", text: t("alert_" + ep.kind) }),
      h("span", { class: "muted", text: `${fmtDay(ep.day)} · ${t("ep_count", { n: ep.n })} · ${fmtTime(ep.last_at)}` }),
      h("span", { class: "values", text: values(ep) }),
      ack);
  }

  async function alertsView(query) {
    const p = new URLSearchParams(query);
    const page = Math.max(1, parseInt(p.get("page") || "1", 10) || 1);
    show(t("nav_alerts"), h("p", { text: t("loading") }));
    let body;
    try {
      body = await api(`/clinic/alerts?offset=${(page - 1) * PAGE_SIZE}&limit=${PAGE_SIZE}`);
    } catch (err) {
      show(t("nav_alerts"), h("p", { class: "error", role: "alert", text: t("load_failed", { msg: err.message }) }));
      return;
    }
    const crit = body.items.filter((e) => e.severity === "critical");
    const rest = body.items.filter((e) => e.severity !== "critical");
    const pages = Math.max(1, Math.ceil(body.total / PAGE_SIZE));
    const prev = h("button", { type: "button", id: "alerts-prev", disabled: page <= 1, text: t("prev") });
    const next = h("button", { type: "button", id: "alerts-next", disabled: page >= pages, text: t("next") });
    prev.addEventListener("click", () => go(`#/alerts?page=${page - 1}`));
    next.addEventListener("click", () => go(`#/alerts?page=${page + 1}`));
    show(t("nav_alerts"),
      section("alerts-critical", t("alerts_critical", { n: crit.length }), crit.length
        ? h("ul", { class: "episodes", id: "critical-episodes" }, crit.map(row)) : h("p", { text: t("alerts_none") })),
      section("alerts-other", t("alerts_other", { n: rest.length }), rest.length
        ? h("ul", { class: "episodes", id: "other-episodes" }, rest.map(row)) : h("p", { text: t("alerts_none") })),
      h("nav", { class: "pager", "aria-label": t("page_info", { page: page, pages: pages, total: body.total }) },
        prev, h("span", { id: "alerts-page", text: t("ep_pages", { page: page, pages: pages, total: body.total }) }), next));
  }

  Object.assign(window.WR.pages, { alerts: alertsView });
})();
