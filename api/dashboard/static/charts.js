/* Wellrate clinic dashboard: inline SVG charts (no library, nothing fetched).
 *
 * Every chart is an <svg role="img"> with a <title> and <desc>, so a screen reader
 * announces what it shows; the numbers are also given as text or tables next to it.
 * Data attributes (data-points, data-bins, ...) state what was drawn, for tests.
 */
"use strict";

(function () {
  const NS = "http://www.w3.org/2000/svg";
  const MGDL_PER_MMOLL = 18.01559; // docs/clinical.md, "Glucose units"
  let uid = 0;

  function el(tag, attrs, parent) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, str, attrs) {
    const node = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    node.textContent = str;
    return node;
  }

  function scale(d0, d1, r0, r1) {
    const k = (r1 - r0) / (d1 - d0 || 1);
    return (v) => r0 + (v - d0) * k;
  }

  function ticks(min, max, count) {
    const span = max - min || 1;
    const raw = span / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) {
      out.push(Math.round(v * 1000) / 1000);
    }
    return out;
  }

  function frame(width, height, title, desc, cls) {
    uid += 1;
    const svg = el("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      class: "chart " + (cls || ""),
      "aria-labelledby": `chart-t${uid} chart-d${uid}`,
      preserveAspectRatio: "xMidYMid meet",
    });
    const t = el("title", { id: `chart-t${uid}` }, svg);
    t.textContent = title;
    const d = el("desc", { id: `chart-d${uid}` }, svg);
    d.textContent = desc;
    return svg;
  }

  function yAxis(svg, y, values, x0, x1, fmt) {
    const g = el("g", { class: "axis y-axis" }, svg);
    for (const v of values) {
      el("line", { x1: x0, x2: x1, y1: y(v), y2: y(v), class: "grid" }, g);
      text(g, x0 - 6, y(v) + 4, fmt ? fmt(v) : String(v), { "text-anchor": "end" });
    }
  }

  function toDisplay(mgdl, unit) {
    return unit === "mmol" ? mgdl / MGDL_PER_MMOLL : mgdl;
  }

  /* BP trend: readings over time, target band below the systolic target, dashed diastolic
   * target, and the home-protocol mean of each score window as horizontal segments. */
  function bp(data, i18n) {
    const W = 760, H = 280, L = 48, R = 16, T = 16, B = 34;
    const readings = data.readings;
    const t0 = Date.parse(data.start), t1 = Date.parse(data.end);
    const hi = Math.max(200, ...readings.map((r) => r.sys + 10));
    const lo = Math.min(50, ...readings.map((r) => r.dia - 10));
    const x = scale(t0, t1, L, W - R), y = scale(lo, hi, H - B, T);
    const svg = frame(W, H, i18n.title, i18n.desc, "bp-chart");
    yAxis(svg, y, ticks(lo, hi, 6), L, W - R);
    const band = el("rect", {
      x: L, width: W - R - L, y: y(data.target.sys), height: y(lo) - y(data.target.sys),
      class: "target-band",
    }, svg);
    el("title", {}, band).textContent = i18n.target;
    el("line", { x1: L, x2: W - R, y1: y(data.target.sys), y2: y(data.target.sys), class: "target-line" }, svg);
    el("line", { x1: L, x2: W - R, y1: y(data.target.dia), y2: y(data.target.dia), class: "target-line dashed" }, svg);
    text(svg, L + 6, y(data.target.sys) - 5, i18n.target, { class: "label" });
    const xg = el("g", { class: "axis x-axis" }, svg);
    const days = (t1 - t0) / 86400000;
    const stepDays = days > 60 ? 14 : days > 20 ? 7 : days > 6 ? 2 : 1;
    for (let t = t0; t <= t1; t += stepDays * 86400000) {
      text(xg, x(t), H - B + 16, i18n.dateFmt(new Date(t)), { "text-anchor": "middle" });
    }
    const means = el("g", { class: "home-means" }, svg);
    for (const m of data.protocol_means) {
      const a = Math.max(t0, Date.parse(m.window_start)), b = Math.min(t1, Date.parse(m.window_end));
      if (b <= a) continue;
      for (const [v, cls] of [[m.home_mean_sys, "sys"], [m.home_mean_dia, "dia"]]) {
        if (v === null || v === undefined) continue;
        const seg = el("line", { x1: x(a), x2: x(b), y1: y(v), y2: y(v), class: "home-mean " + cls }, means);
        el("title", {}, seg).textContent = `${i18n.homeMean} ${Math.round(v)} mmHg`;
      }
    }
    const pts = el("g", { class: "points" }, svg);
    let grade3 = 0;
    for (const r of readings) {
      const cx = x(Date.parse(r.t));
      const extra = r.validated ? "" : " unvalidated";
      // Grade 3 (the reading's flag from the server): ringed in red, so a doctor finds
      // them among 90 days of points.
      if (isGrade3(r)) {
        grade3 += 1;
        const ring = el("circle", { cx: cx, cy: y(r.sys), r: 7, class: "grade3" }, pts);
        el("title", {}, ring).textContent = `${i18n.grade3 || ""} ${r.sys}/${r.dia} mmHg`.trim();
      }
      el("circle", { cx: cx, cy: y(r.sys), r: 3.2, class: "bp-sys" + extra }, pts);
      el("rect", { x: cx - 2.8, y: y(r.dia) - 2.8, width: 5.6, height: 5.6, class: "bp-dia" + extra }, pts);
    }
    svg.dataset.points = String(readings.length);
    svg.dataset.grade3 = String(grade3);
    svg.dataset.means = String(means.childElementCount);
    return svg;
  }

  // Grade 3 is the server's flag (scoring.indicators.rules.severe_mask), the one rule.
  function isGrade3(r) {
    return Boolean(r.grade3);
  }

  /* One day of the AGP report's daily profiles: the 15-minute bin means over 24 h, the
   * 70-180 mg/dL band shaded, bins below 70 mg/dL drawn red. All days share one y-axis
   * (yMaxMg) so they compare at a glance. */
  function daily(day, unit, yMaxMg, i18n) {
    const W = 150, H = 90, L = 4, R = 4, T = 14, B = 4;
    const svg = frame(W, H, i18n.title, i18n.desc, "daily-chart");
    const x = scale(0, 1440, L, W - R), y = scale(toDisplay(40, unit), toDisplay(yMaxMg, unit), H - B, T);
    const top = y(toDisplay(180, unit)), bottom = y(toDisplay(70, unit));
    el("rect", { x: L, y: top, width: W - R - L, height: bottom - top, class: "target-band" }, svg);
    text(svg, L, 10, i18n.label, { class: "axis-label" });
    let run = [], prev = null;
    const flush = () => {
      if (run.length > 1) el("polyline", { points: run.join(" "), class: "daily-line" }, svg);
      run = [];
    };
    day.minute_of_day.forEach((m, i) => {
      if (prev !== null && m - prev > 15) flush();  // a gap in the data is not drawn over
      const px = x(m + 7.5), py = y(toDisplay(day.mgdl[i], unit));
      run.push(`${px.toFixed(1)},${py.toFixed(1)}`);
      if (day.mgdl[i] < 70) el("circle", { cx: px, cy: py, r: 1.8, class: "daily-low" }, svg);
      prev = m;
    });
    flush();
    svg.dataset.bins = String(day.minute_of_day.length);
    return svg;
  }

  function bandPath(xs, los, his) {
    // One closed polygon per run of bins with both percentiles present.
    const paths = [];
    let run = [];
    const flush = () => {
      if (run.length > 1) {
        const top = run.map((i) => `${xs[i].toFixed(1)},${his[i].toFixed(1)}`);
        const bottom = run.slice().reverse().map((i) => `${xs[i].toFixed(1)},${los[i].toFixed(1)}`);
        paths.push("M" + top.join("L") + "L" + bottom.join("L") + "Z");
      }
      run = [];
    };
    for (let i = 0; i < xs.length; i++) {
      if (los[i] === null || his[i] === null) flush();
      else run.push(i);
    }
    flush();
    return paths.join(" ");
  }

  /* AGP: 5-95 and 25-75 percentile bands and the median by local time of day, with the
   * 70 and 180 mg/dL target lines (Battelino 2019; docs/clinical.md, "CGM"). */
  function agp(profile, unit, i18n) {
    const W = 760, H = 300, L = 48, R = 16, T = 16, B = 34;
    const conv = (v) => (v === null ? null : toDisplay(v, unit));
    const mins = profile.minute_of_day;
    const bin = mins.length > 1 ? mins[1] - mins[0] : 15;
    // The y-axis covers the consensus report's 40-350 mg/dL and stretches to the data: a 95th
    // percentile above 350 mg/dL is drawn, never clipped.
    const vals = ["p05", "p95"].flatMap((k) => profile[k]).filter((v) => v !== null);
    const hiMg = Math.max(350, ...vals.map((v) => Math.ceil(v / 50) * 50));
    const loMg = Math.min(40, ...vals.map((v) => Math.floor(v / 10) * 10));
    const hiD = toDisplay(hiMg, unit), loD = toDisplay(loMg, unit);
    const x = scale(0, 1440, L, W - R), y = scale(loD, hiD, H - B, T);
    const svg = frame(W, H, i18n.title, i18n.desc, "agp-chart");
    svg.dataset.yMaxMgdl = String(hiMg);
    const fmt = unit === "mmol" ? (v) => v.toFixed(1) : (v) => String(Math.round(v));
    // The target range 70-180 mg/dL as a shaded band (the consensus AGP), edges as lines.
    const top = y(toDisplay(180, unit)), bottom = y(toDisplay(70, unit));
    el("rect", { x: L, y: top, width: W - R - L, height: bottom - top, class: "target-band" }, svg);
    yAxis(svg, y, ticks(loD, hiD, 6), L, W - R, fmt);
    for (const g of [70, 180]) {
      el("line", { x1: L, x2: W - R, y1: y(toDisplay(g, unit)), y2: y(toDisplay(g, unit)), class: "target-line" }, svg);
    }
    text(svg, 4, T + 4, unit === "mmol" ? "mmol/L" : "mg/dL", { class: "axis-label" });
    if (i18n.xLabel) text(svg, W - R, H - 2, i18n.xLabel, { "text-anchor": "end", class: "axis-label" });
    const xg = el("g", { class: "axis x-axis" }, svg);
    for (let h = 0; h <= 24; h += 3) {
      text(xg, x(h * 60), H - B + 16, `${String(h).padStart(2, "0")}:00`, { "text-anchor": "middle" });
    }
    const xs = mins.map((m) => x(m + bin / 2));
    const py = (k) => profile[k].map((v) => (v === null ? null : y(conv(v))));
    el("path", { d: bandPath(xs, py("p05"), py("p95")), class: "agp-outer" }, svg);
    el("path", { d: bandPath(xs, py("p25"), py("p75")), class: "agp-iqr" }, svg);
    const med = py("p50");
    let run = [];
    let drawn = 0;
    const flush = () => {
      if (run.length) {
        el("polyline", { points: run.join(" "), class: "agp-median" }, svg);
        drawn += run.length;
      }
      run = [];
    };
    med.forEach((v, i) => {
      if (v === null) flush();
      else run.push(`${xs[i].toFixed(1)},${v.toFixed(1)}`);
    });
    flush();
    svg.dataset.bins = String(drawn);
    return svg;
  }

  const TIR_BANDS = ["very_high", "high", "in_range", "low", "very_low"];

  function pct(v) {
    const r = Math.round(v * 10) / 10;
    return (Number.isInteger(r) ? String(r) : r.toFixed(1)) + "%";
  }

  /* The standard time-in-ranges stacked bar: very high at the top, very low at the bottom. */
  function tir(bands, i18n) {
    const W = 300, H = 260, T = 10, B = 10, BW = 56, BX = 20;
    const svg = frame(W, H, i18n.title, i18n.desc, "tir-chart");
    const total = TIR_BANDS.reduce((s, k) => s + Math.max(0, bands[k]), 0) || 100;
    const h = H - T - B;
    let yTop = T;
    const labelsY = [];
    for (const k of TIR_BANDS) {
      const segH = (Math.max(0, bands[k]) / total) * h;
      el("rect", { x: BX, y: yTop, width: BW, height: Math.max(segH, 0), class: "tir-" + k }, svg);
      labelsY.push(yTop + segH / 2);
      yTop += segH;
    }
    // Labels: at their segment's middle, pushed apart so they never overlap.
    const gap = 18, top = T + 8, bottom = H - B - 6, last = labelsY.length - 1;
    labelsY[0] = Math.max(labelsY[0], top);
    for (let i = 1; i <= last; i++) labelsY[i] = Math.max(labelsY[i], labelsY[i - 1] + gap);
    labelsY[last] = Math.min(labelsY[last], bottom);
    for (let i = last - 1; i >= 0; i--) labelsY[i] = Math.min(labelsY[i], labelsY[i + 1] - gap);
    TIR_BANDS.forEach((k, i) => {
      const node = text(svg, BX + BW + 12, labelsY[i] + 4, `${i18n.names[k]} ${pct(bands[k])}`, {
        class: "tir-label",
        "data-band": k,
      });
      node.dataset.value = String(bands[k]);
    });
    return svg;
  }

  /* Fingerstick readings in one column per meal group, each column a small time axis,
   * with that group's target band (ADA 2025: before meals 80-130, after < 180 mg/dL). */
  function smbg(groups, start, end, unit, i18n) {
    const W = 760, H = 260, L = 48, R = 16, T = 16, B = 40;
    const all = groups.flatMap((g) => g.items.map((r) => r.mgdl).filter((v) => v !== null));
    const hiD = toDisplay(Math.max(250, ...all.map((v) => v + 20)), unit);
    const loD = toDisplay(40, unit);
    const y = scale(loD, hiD, H - B, T);
    const svg = frame(W, H, i18n.title, i18n.desc, "smbg-chart");
    const fmt = unit === "mmol" ? (v) => v.toFixed(1) : (v) => String(Math.round(v));
    yAxis(svg, y, ticks(loD, hiD, 6), L, W - R, fmt);
    const colW = (W - R - L) / groups.length;
    const t0 = Date.parse(start), t1 = Date.parse(end);
    let n = 0;
    groups.forEach((g, i) => {
      const cx0 = L + i * colW + 8, cx1 = L + (i + 1) * colW - 8;
      if (g.target) {
        const [a, b] = g.target;
        el("rect", {
          x: cx0, width: cx1 - cx0, y: y(toDisplay(b, unit)),
          height: y(toDisplay(a, unit)) - y(toDisplay(b, unit)), class: "target-band",
        }, svg);
      }
      text(svg, (cx0 + cx1) / 2, H - B + 18, g.label, { "text-anchor": "middle" });
      const x = scale(t0, t1, cx0, cx1);
      for (const r of g.items) {
        const v = r.mgdl === null ? (r.censored === "LO" ? 40 : 600) : r.mgdl;
        const c = el("circle", {
          cx: x(Date.parse(r.t)), cy: y(Math.min(toDisplay(v, unit), hiD)), r: 3.5,
          class: "smbg-pt" + (g.inTarget(r) ? "" : " off-target"),
        }, svg);
        el("title", {}, c).textContent = i18n.pointLabel(r);
        n += 1;
      }
    });
    svg.dataset.points = String(n);
    return svg;
  }

  /* Daily steps as bars on a continuous day axis (a day without data is a visible gap),
   * with the age-specific target line (Paluch 2022). */
  function steps(days, target, start, end, i18n) {
    const W = 760, H = 220, L = 56, R = 16, T = 16, B = 34, DAY = 86400000;
    const t0 = Math.floor(Date.parse(start) / DAY) * DAY, t1 = Math.ceil(Date.parse(end) / DAY) * DAY;
    const hi = Math.max(target || 0, ...days.map((d) => d.steps)) * 1.1 || 1000;
    const x = scale(t0, t1, L, W - R), y = scale(0, hi, H - B, T);
    const svg = frame(W, H, i18n.title, i18n.desc, "steps-chart");
    yAxis(svg, y, ticks(0, hi, 4), L, W - R);
    const bw = x(t0 + DAY) - x(t0);
    for (const d of days) {
      const day = Math.floor(Date.parse(d.day) / DAY) * DAY;
      const bar = el("rect", {
        x: x(day) + 1, width: Math.max(bw - 2, 1), y: y(d.steps), height: y(0) - y(d.steps),
        class: "steps-bar" + (target && d.steps >= target ? " met" : ""),
      }, svg);
      el("title", {}, bar).textContent = `${i18n.dateFmt(new Date(d.day))}: ${Math.round(d.steps)}`;
    }
    const every = Math.max(1, Math.round((t1 - t0) / DAY / 8));
    for (let t = t0; t < t1; t += every * DAY) {
      text(svg, x(t) + bw / 2, H - B + 16, i18n.dateFmt(new Date(t)), { "text-anchor": "middle" });
    }
    if (target) {
      el("line", { x1: L, x2: W - R, y1: y(target), y2: y(target), class: "target-line dashed" }, svg);
      text(svg, W - R - 4, y(target) - 4, i18n.target, { "text-anchor": "end", class: "label" });
    }
    svg.dataset.bars = String(days.length);
    return svg;
  }

  /* Control rate (0-100 %) per score window, with the value written at each point. */
  function rate(points, i18n) {
    const W = 760, H = 220, L = 48, R = 24, T = 20, B = 34;
    const svg = frame(W, H, i18n.title, i18n.desc, "rate-chart");
    const y = scale(0, 100, H - B, T);
    const x = scale(0, Math.max(points.length - 1, 1), L + 20, W - R - 20);
    yAxis(svg, y, [0, 25, 50, 75, 100], L, W - R, (v) => v + "%");
    const coords = points.map((p, i) => [x(i), p.rate === null ? null : y(p.rate)]);
    const line = coords.filter((c) => c[1] !== null).map((c) => `${c[0].toFixed(1)},${c[1].toFixed(1)}`);
    if (line.length > 1) el("polyline", { points: line.join(" "), class: "rate-line" }, svg);
    points.forEach((p, i) => {
      text(svg, x(i), H - B + 16, p.label, { "text-anchor": "middle" });
      if (p.rate === null) return;
      el("circle", { cx: x(i), cy: y(p.rate), r: 4, class: "rate-pt" }, svg);
      text(svg, x(i), y(p.rate) - 8, pct(p.rate), { "text-anchor": "middle", class: "label rate-label" });
    });
    svg.dataset.points = String(points.filter((p) => p.rate !== null).length);
    return svg;
  }

  window.WRCharts = { bp, agp, daily, isGrade3, tir, smbg, steps, rate, pct, MGDL_PER_MMOLL };
})();
