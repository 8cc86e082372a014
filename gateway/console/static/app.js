/* The installer's console: one page, hash-routed, fed by /api/ and the /api/stream
   server-sent events. Data is only ever put into the page as text (never as HTML). */
"use strict";
(function () {
  const LANGS = ["fi", "sv", "en"];
  const state = { overview: null, status: { sensors: null, walk: null, tests: [], uplink: null }, radar: [], tz: undefined, eventsSeq: -1,
                  maxExtent: {} };
  let lang = pickLang();

  function pickLang() {
    const q = new URLSearchParams(location.search).get("lang");
    if (LANGS.includes(q)) { localStorage.setItem("safehome-lang", q); return q; }
    const saved = localStorage.getItem("safehome-lang");
    if (LANGS.includes(saved)) return saved;
    const nav = (navigator.language || "en").slice(0, 2);
    return LANGS.includes(nav) ? nav : "en";
  }
  function t(key, vars) {
    let s = (TEXTS[lang] && TEXTS[lang][key]) || TEXTS.en[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  }
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v; else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "style") el.style.cssText = v;   // CSSOM: allowed by the CSP, a style attribute is not
      else el.setAttribute(k, v);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  function svg(tag, attrs) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    return el;
  }
  const $ = (id) => document.getElementById(id);
  function fill(el, ...kids) { el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined)); }

  function duration(sec) {
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + " s";
    if (sec < 3600) return Math.floor(sec / 60) + " min " + (sec % 60) + " s";
    if (sec < 86400) return Math.floor(sec / 3600) + " h " + Math.floor((sec % 3600) / 60) + " min";
    return Math.floor(sec / 86400) + " d " + Math.floor((sec % 86400) / 3600) + " h";
  }
  function since(iso) { return iso ? (Date.now() - Date.parse(iso)) / 1000 : null; }
  function clock(iso) {
    if (!iso) return "–";
    const locale = { fi: "fi-FI", sv: "sv-FI", en: "en-GB" }[lang];
    try { return new Date(iso).toLocaleTimeString(locale, { timeZone: state.tz }); }
    catch (e) { return new Date(iso).toLocaleTimeString(locale); }
  }
  function roomName(id) {
    if (!id) return t("no_room");
    const names = (state.overview && state.overview.rooms[id]) || {};
    return names[lang] || names.en || id;
  }
  async function api(path, opts) {
    const res = await fetch(path, Object.assign({ credentials: "same-origin" }, opts || {}));
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || res.status + " " + res.statusText);
    return body;
  }
  const post = (path) => api(path, { method: "POST", headers: { "X-Safehome-Console": "1" } });

  /* ---------------------------------------------------------------- language */
  function applyLang() {
    document.documentElement.lang = lang;
    $("lang").value = lang;
    document.title = t("title");
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
    renderAll();
  }
  $("lang").addEventListener("change", (e) => {
    lang = e.target.value; localStorage.setItem("safehome-lang", lang); applyLang();
  });

  /* ---------------------------------------------------------------- routing */
  const PAGES = ["sensors", "plan", "walk", "test", "doctor", "events", "config"];
  function route() {
    const page = PAGES.includes(location.hash.slice(1)) ? location.hash.slice(1) : "sensors";
    for (const p of PAGES) $("page-" + p).hidden = p !== page;
    for (const a of document.querySelectorAll("#tabs a")) {
      const on = a.getAttribute("href") === "#" + page;
      a.classList.toggle("active", on);
      if (on) { a.setAttribute("aria-current", "page"); a.scrollIntoView({ block: "nearest", inline: "nearest" }); }
      else a.removeAttribute("aria-current");
    }
    if (page === "doctor") loadDoctor();
    if (page === "events") loadEvents();
    if (page === "config") loadConfig();
    if (page === "plan") loadRadar();
  }
  window.addEventListener("hashchange", route);

  /* ---------------------------------------------------------------- header */
  function renderUplink(up) {
    const el = $("uplink");
    if (!up) return;
    el.textContent = t("uplink_" + up.state) || up.state;
    el.className = "pill " + (up.state === "connected" ? "ok" : "bad");
  }

  /* ---------------------------------------------------------------- sensors */
  function readingText(r) {
    if (!r) return t("never");
    const v = r.values || {};
    let detail = "";
    if ("active" in v) detail = t("v_active_" + v.active);
    else if ("open" in v) detail = t("v_open_" + v.open);
    else if ("present" in v) detail = t("v_present_" + v.present);
    else if ("bpm" in v) detail = t("bpm", { n: v.bpm });
    else if ("samples" in v) detail = t("samples", { n: v.samples });
    else if ("targets" in v) detail = v.targets === 1 ? t("targets_1") : t("targets", { n: v.targets });
    else if ("points" in v) detail = t("points", { n: v.points });
    else if ("percent" in v && v.percent !== null) detail = v.percent + " %";
    else if ("rssi_dbm" in v && v.rssi_dbm !== null) detail = v.rssi_dbm + " dBm";
    else if ("action" in v) detail = v.action;
    const kind = t("kind_" + r.kind);
    return kind + (detail ? ": " + detail : "") + " · " + t("ago", { n: duration(since(r.at)) });
  }
  function field(label, value, cls) {
    return h("div", { class: "field " + (cls || "") }, h("span", { class: "label" }, label),
             h("span", { class: "value" }, value));
  }
  function renderSensors() {
    const list = $("sensor-list");
    const sensors = state.status.sensors;
    if (!sensors) { fill(list, h("p", { class: "hint" }, t("loading"))); return; }
    fill(list, sensors.map((s) => {
      const sil = s.silence || {};
      const frac = sil.timeout_s ? Math.max(0, Math.min(1, (sil.remaining_s || 0) / sil.timeout_s)) : 0;
      const silentText = s.state === "silent" || s.state === "failed"
        ? t("silent_now", { n: duration(sil.silent_for_s) })
        : t("silent_in", { n: duration(sil.remaining_s) });
      const rate = s.rate_hz === null ? "–" : t("per_s", { n: s.rate_hz }) +
        (s.expected_hz ? " (" + t("expected", { n: s.expected_hz }) + ")" : "");
      const battery = s.battery === null ? "–" : Math.round(s.battery) + " %";
      const link = s.rssi !== null ? s.rssi + " dBm" : s.lqi !== null && s.lqi !== undefined ? "LQI " + s.lqi : "–";
      return h("article", { class: "card sensor", "data-sensor": s.id, "data-state": s.state },
        h("div", { class: "card-head" },
          h("div", {}, h("div", { class: "name" }, s.id),
            h("div", { class: "meta" }, roomName(s.room) + " · " + s.type + (s.required ? "" : " · " + t("required_no")))),
          h("span", { class: "pill state " + s.state }, t("state_" + s.state))),
        s.failed && (s.state === "failed" || s.state === "silent") ? h("div", { class: "error small" }, s.failed) : null,
        h("div", { class: "fields" },
          field(t("last_reading"), readingText(s.last_reading), "wide"),
          field(t("rate"), rate), field(t("battery"), battery,
                                        s.battery !== null && s.battery < 20 ? "warn" : ""),
          field(t("link"), link, s.rssi !== null && s.rssi < -85 ? "warn" : ""),
          h("div", { class: "field wide" }, h("span", { class: "label" }, t("silence")),
            h("span", { class: "value" }, silentText),
            h("div", { class: "bar", role: "progressbar", "aria-valuenow": Math.round(frac * 100) },
              h("div", { class: "bar-fill " + (frac < 0.2 ? "low" : ""), style: "width:" + (frac * 100).toFixed(1) + "%" })))));
    }));
  }

  /* ---------------------------------------------------------------- room plan */
  async function loadRadar() {
    try { state.radar = await api("/api/radar"); renderPlan(); } catch (e) { /* the stream retries */ }
  }
  function mountingRows(m) {
    const row = (key, unit) => {
      const q = m[key] || {};
      const fmt = (v) => (v === null || v === undefined ? null : (+v).toFixed(unit === "m" ? 2 : 0) + " " + unit);
      let verdict = "";
      if (q.ok === true) verdict = t("within");
      else if (q.ok === false) verdict = t("off_by", { n: fmt(Math.abs(q.difference)) });
      return h("tr", {}, h("th", {}, t(key === "height_m" ? "height" : "tilt")),
        h("td", {}, fmt(q.configured) || t("not_configured")),
        h("td", { class: q.measured === null || q.measured === undefined ? "muted" : "" }, fmt(q.measured) || t("not_measured")),
        h("td", { class: q.ok === false ? "bad" : q.ok ? "good" : "" }, verdict));
    };
    return h("table", { class: "mounting" },
      h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, t("configured")), h("th", {}, t("measured")), h("th", {}, ""))),
      h("tbody", {}, row("height_m", "m"), row("tilt_deg", "°")));
  }
  function drawPlan(r) {
    // Radar frame: x across (m), y into the room (m). The extent only grows, so the view
    // does not jump about while someone walks.
    let ext = Math.max(state.maxExtent[r.id] || 0, 3);
    for (const p of r.points) ext = Math.max(ext, Math.abs(p[0]) + 0.5, p[1] + 0.5);
    for (const g of r.targets) ext = Math.max(ext, Math.abs(g.x) + 0.7, g.y + 0.7);
    for (const z of r.zones) ext = Math.max(ext, Math.abs(z.x[0]) + 0.3, Math.abs(z.x[1]) + 0.3, z.y[1] + 0.3);
    ext = Math.min(Math.ceil(ext), 12);
    state.maxExtent[r.id] = ext;
    const W = 2 * ext, D = ext, pad = 0.35, fs = Math.max(0.18, ext * 0.055);
    const s = svg("svg", { viewBox: `${-ext - pad} ${-pad} ${W + 2 * pad} ${D + 2 * pad}`, class: "plan",
                           role: "img", "aria-label": t("nav_plan") + " " + r.id });
    s.append(svg("rect", { x: -ext, y: 0, width: W, height: D, class: "room" }));
    for (let x = -ext + 1; x < ext; x++) s.append(svg("line", { x1: x, y1: 0, x2: x, y2: D, class: "grid" }));
    for (let y = 1; y < D; y++) s.append(svg("line", { x1: -ext, y1: y, x2: ext, y2: y, class: "grid" }));
    const fov = Math.tan(Math.PI / 3) * D;  // +-60 degrees
    s.append(svg("path", { d: `M0 0 L${Math.max(-ext, -fov)} ${Math.min(D, ext / Math.tan(Math.PI / 3))} L${-ext} ${D} L${ext} ${D} L${Math.min(ext, fov)} ${Math.min(D, ext / Math.tan(Math.PI / 3))} Z`, class: "fov" }));
    for (const z of r.zones) {
      s.append(svg("rect", { x: z.x[0], y: z.y[0], width: z.x[1] - z.x[0], height: z.y[1] - z.y[0], class: "zone " + z.kind }));
      const label = svg("text", { x: z.x[0] + 0.06, y: z.y[0] + fs * 1.1, class: "zone-label", "font-size": fs });
      label.textContent = z.name + " (" + t("zone_" + z.kind) + ")";
      s.append(label);
    }
    for (let m = 1; m <= D; m++) {
      const tick = svg("text", { x: -ext + 0.08, y: m - 0.06, class: "tick", "font-size": fs * 0.9 });
      tick.textContent = m + " m"; s.append(tick);
    }
    for (const p of r.points) {
      const hue = Math.round(220 - Math.max(0, Math.min(2, p[2])) * 100);
      s.append(svg("circle", { cx: p[0], cy: p[1], r: 0.04, class: "point", fill: `hsl(${hue} 70% 45%)` }));
    }
    for (const g of r.targets) {  // a ring, so the person's points stay visible inside it
      s.append(svg("circle", { cx: g.x, cy: g.y, r: 0.25, class: "target" }));
      const label = svg("text", { x: g.x, y: g.y - 0.32, class: "target-label", "text-anchor": "middle", "font-size": fs * 1.1 });
      label.textContent = g.height !== null && g.height !== undefined ? (+g.height).toFixed(1) + " m" : "#" + g.tid;
      s.append(label);
    }
    s.append(svg("rect", { x: -0.25, y: -0.12, width: 0.5, height: 0.16, rx: 0.04, class: "radar" }));
    return s;
  }
  function renderPlan() {
    const list = $("plan-list");
    if (!state.radar.length) { fill(list, h("p", { class: "hint" }, t("no_radar"))); return; }
    fill(list, state.radar.map((r) => h("article", { class: "card radar-card", "data-radar": r.id },
      h("div", { class: "card-head" },
        h("div", {}, h("div", { class: "name" }, r.id), h("div", { class: "meta" }, roomName(r.room) + " · " + t("radar"))),
        h("span", { class: "pill " + (r.targets.length ? "ok" : "idle") }, t("people_now", { n: r.targets.length }))),
      r.at ? drawPlan(r) : h("p", { class: "hint" }, t("no_frames")),
      r.at ? h("div", { class: "legend" },
        h("span", {}, h("i", { class: "dot target" }), t("legend_person")),
        h("span", {}, h("i", { class: "dot point" }), t("legend_points")),
        r.zones.some((z) => z.kind === "lying") ? h("span", {}, h("i", { class: "box lying" }), t("zone_lying")) : null,
        r.zones.some((z) => z.kind === "blind") ? h("span", {}, h("i", { class: "box blind" }), t("zone_blind")) : null,
        h("span", { class: "meta" }, t("frame_at", { t: clock(r.at) }))) : null,
      h("h2", {}, t("mounting")), mountingRows(r.mounting))));
  }

  /* ---------------------------------------------------------------- walk test */
  function renderWalk() {
    const w = state.status.walk;
    if (!w) return;
    const seen = w.sensors.filter((s) => s.seen).length;
    $("walk-progress").textContent = w.running ? t("walk_running", { n: seen, m: w.sensors.length })
      : w.started_at ? t("walk_done", { n: seen, m: w.sensors.length }) : t("walk_idle");
    $("walk-start").disabled = w.running;
    $("walk-stop").disabled = !w.running;
    fill($("walk-list"), w.sensors.map((s) => h("li", { class: s.seen ? "seen" : "", "data-sensor": s.id },
      h("span", { class: "tick-mark", "aria-hidden": "true" }, s.seen ? "✓" : "○"),
      h("div", {}, h("div", { class: "name" }, s.id),
        h("div", { class: "meta" }, roomName(s.room) + " · " +
          (s.seen ? t("seen_times", { n: s.count, t: clock(s.first_at) }) : t("not_seen")))))));
  }
  $("walk-start").addEventListener("click", async () => {
    try { state.status.walk = await post("/api/walk/start"); renderWalk(); } catch (e) { alert(e.message); }
  });
  $("walk-stop").addEventListener("click", async () => {
    try { state.status.walk = await post("/api/walk/stop"); renderWalk(); } catch (e) { alert(e.message); }
  });

  /* ---------------------------------------------------------------- test alarm */
  function step(done, title, detail, key) {
    return h("li", { class: done ? "done" : "pending", "data-step": key },
      h("span", { class: "step-mark", "aria-hidden": "true" }, done ? "✓" : "…"),
      h("div", {}, h("div", { class: "name" }, title), h("div", { class: "meta" }, detail)));
  }
  function renderTest() {
    const tests = state.status.tests || [];
    const cur = tests[0];
    if (!cur) {
      fill($("test-steps"), h("p", { class: "hint" }, t("test_none")));
      fill($("test-history")); $("test-earlier").hidden = true; return;
    }
    const committed = cur.committed !== null;
    fill($("test-steps"),
      step(committed, t("step_committed"), committed ? (cur.committed ? t("step_committed_d") : t("step_memory")) +
           " · " + clock(cur.committed_at) : t("waiting"), "committed"),
      step(!!cur.sent_at, t("step_sent"), cur.sent_at ? t("step_sent_d") + " · " + clock(cur.sent_at) + " · " +
           t("attempts", { n: Math.max(1, cur.attempts) }) : t("waiting"), "sent"),
      step(!!cur.acknowledged_at, t("step_ack"), cur.acknowledged_at
           ? t("step_ack_d", { by: cur.acknowledged_by || "?" }) + " · " + clock(cur.acknowledged_at) : t("waiting"), "acknowledged"));
    $("test-earlier").hidden = tests.length < 2;
    fill($("test-history"), tests.slice(1).map((x) => h("li", {},
      t("test_item", { t: clock(x.requested_at), s: t("step_" + (x.step === "acknowledged" ? "acknowledged" : x.step === "requested" ? "requested" : "name_" + x.step)) +
        (x.acknowledged_by ? " (" + x.acknowledged_by + ")" : "") }))));
  }
  $("test-send").addEventListener("click", async () => {
    const btn = $("test-send"), err = $("test-error");
    btn.disabled = true; err.hidden = true;
    try {
      const item = await post("/api/test-alarm");
      state.status.tests = [item, ...(state.status.tests || []).filter((x) => x.event_id !== item.event_id)];
      renderTest();
    } catch (e) { err.textContent = t("error", { e: e.message }); err.hidden = false; }
    setTimeout(() => { btn.disabled = false; }, 5000);
  });

  /* ---------------------------------------------------------------- checklist */
  async function loadDoctor() {
    fill($("doctor-verdict"), t("loading"));
    try {
      const body = await api("/api/doctor");
      const n = { ok: 0, warn: 0, fail: 0, skip: 0 };
      for (const c of body.checks) n[c.status]++;
      const v = $("doctor-verdict");
      v.className = "verdict " + (body.ready ? "ok" : "bad");
      fill(v, h("strong", {}, body.ready ? t("ready") : t("not_ready")), " · ", t("summary", n));
      const sym = { ok: "✔", warn: "!", fail: "✘", skip: "–" };
      fill($("doctor-list"), body.checks.map((c) => h("li", { class: c.status },
        h("span", { class: "sym", "aria-hidden": "true" }, sym[c.status]),
        h("div", {}, h("div", { class: "name" }, c.item), h("div", {}, c.finding),
          c.fix && c.status !== "ok" ? h("div", { class: "fix" }, t("fix") + ": " + c.fix) : null))));
    } catch (e) { fill($("doctor-verdict"), t("error", { e: e.message })); }
  }
  $("doctor-run").addEventListener("click", loadDoctor);

  /* ---------------------------------------------------------------- events */
  async function loadEvents() {
    try {
      const body = await api("/api/events");
      fill($("event-list"), body.events.length ? body.events.map((e) => {
        const st = e.state === "acknowledged" ? t("ev_acknowledged", { by: e.acked_by || "?" })
          : e.state === "in memory" ? t("ev_memory") : t("ev_" + e.state);
        return h("li", { class: "sev-" + e.severity, "data-type": e.type },
          h("div", { class: "ev-head" }, h("span", { class: "time" }, clock(e.occurred_at)),
            h("span", { class: "type" }, e.type), e.test ? h("span", { class: "pill idle" }, t("test")) : null,
            h("span", { class: "pill " + (e.state === "acknowledged" ? "ok" : e.state === "sent" ? "idle" : "warn") }, st)),
          h("div", { class: "ev-text" }, (e.text && (e.text[lang] || e.text.en)) || ""));
      }) : h("p", { class: "hint" }, t("no_events")));
    } catch (e) { fill($("event-list"), h("p", { class: "error" }, t("error", { e: e.message }))); }
  }

  /* ---------------------------------------------------------------- config */
  function configTree(value, key) {
    if (Array.isArray(value)) {
      if (!value.length) return h("span", { class: "v" }, "[]");
      return h("ol", { class: "tree" }, value.map((v) => h("li", {}, configTree(v))));
    }
    if (value && typeof value === "object") {
      const keys = Object.keys(value);
      if (!keys.length) return h("span", { class: "v" }, "{}");
      const nested = (v) => v !== null && typeof v === "object" && Object.keys(v).length > 0;
      return h("dl", { class: "tree" }, keys.flatMap((k) => [
        h("dt", { class: nested(value[k]) ? "nested" : null }, k),
        h("dd", { class: nested(value[k]) ? "nested" : null }, configTree(value[k], k))]));
    }
    return h("span", { class: "v" + (String(value).includes("(hidden)") ? " hidden" : "") }, JSON.stringify(value));
  }
  async function loadConfig() {
    try {
      const body = await api("/api/config");
      $("config-valid").textContent = t("valid");
      fill($("config-view"), configTree(body.config));
    } catch (e) { fill($("config-view"), h("p", { class: "error" }, t("error", { e: e.message }))); }
  }

  /* ---------------------------------------------------------------- live stream */
  function renderAll() {
    renderSensors(); renderWalk(); renderTest(); renderPlan();
    if (state.status.uplink) renderUplink(state.status.uplink);
    const page = location.hash.slice(1);
    if (page === "doctor") loadDoctor();
    if (page === "events") loadEvents();
  }
  function connect() {
    const es = new EventSource("/api/stream");
    es.addEventListener("status", (m) => {
      $("offline").hidden = true;
      state.status = JSON.parse(m.data);
      renderUplink(state.status.uplink); renderSensors(); renderWalk(); renderTest();
      if (state.status.events_seq !== state.eventsSeq) {
        state.eventsSeq = state.status.events_seq;
        if (location.hash === "#events") loadEvents();
      }
    });
    es.addEventListener("radar", (m) => {
      state.radar = JSON.parse(m.data);
      if (location.hash === "#plan") renderPlan();
    });
    es.onerror = () => {
      $("offline").hidden = false;
      // The browser retries a dropped connection itself, but gives up on an HTTP error
      // (429 when the console is busy, 503 with too many pages open): try again later.
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }

  async function start() {
    try {
      state.overview = await api("/api/overview");
      state.tz = state.overview.timezone;
      $("gw").textContent = state.overview.gateway_id;
      renderUplink(state.overview.uplink);
      state.radar = await api("/api/radar");
    } catch (e) { $("offline").hidden = false; }
    applyLang();
    route();
    connect();
  }
  start();
})();
