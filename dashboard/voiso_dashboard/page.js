// The dashboard's views, drawn with Vega-Lite (SVG) from the marts' rows inlined above.
// The page adds up modelled counts over the filters (a rate: the sum of its numerator
// over the sum of its denominator) and computes nothing else.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("voiso-data").textContent);
  const CURVES = DATA.curve_seconds;
  function rows(table) {
    const names = Object.keys(table);
    const n = names.length ? table[names[0]].length : 0;
    const out = [];
    for (let i = 0; i < n; i++) {
      const row = {};
      for (const name of names) row[name] = table[name][i];
      out.push(row);
    }
    return out;
  }
  const DEF = rows(DATA.definitions)[0];
  const INTERVALS = rows(DATA.intervals).map((r) => {
    const s = r.interval_start_local;
    r.day = s.slice(0, 10);
    r.t = Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10), +s.slice(11, 13), +s.slice(14, 16));
    return r;
  });
  const AGENTS = rows(DATA.agents);
  const CAMPAIGNS = rows(DATA.campaigns);
  const $ = (id) => document.getElementById(id);
  const sum = (list, f) => list.reduce((a, r) => a + (f(r) || 0), 0);
  const ratio = (a, b) => (b ? a / b : null);
  const pct = (x) => (x === null ? "–" : (100 * x).toFixed(1) + "%");
  const num = (x, d) => (x === null ? "–" : x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
  function group(list, key) {
    const map = new Map();
    for (const r of list) {
      const k = key(r);
      if (!map.has(k)) map.set(k, []);
      map.get(k).push(r);
    }
    return map;
  }

  // Filters: every queue and the whole period by default.
  const queues = new Map();
  for (const r of INTERVALS) queues.set(r.queue_id, r.queue_name);
  const select = $("queue");
  [...queues].sort((a, b) => String(a[1]).localeCompare(String(b[1]))).forEach(([id, name]) => {
    const option = document.createElement("option");
    option.value = id;
    option.textContent = name;
    select.appendChild(option);
  });
  const days = INTERVALS.map((r) => r.day).concat(AGENTS.map((r) => r.local_date)).sort();
  if (days.length) {
    for (const id of ["from", "to"]) {
      $(id).min = days[0];
      $(id).max = days[days.length - 1];
    }
    $("from").value = days[0];
    $("to").value = days[days.length - 1];
  }
  $("timezone").textContent = DEF ? DEF.timezone : "";

  function inRange(day) {
    return (!$("from").value || day >= $("from").value) && (!$("to").value || day <= $("to").value);
  }
  function ofQueue(queue) {
    return !select.value || String(queue) === select.value;
  }

  const X = { field: "t", type: "temporal", scale: { type: "utc" }, title: "interval start (" + (DEF ? DEF.timezone : "local") + ")", axis: { format: "%b %d %H:%M", labelAngle: 0 } };
  const base = { width: 520, height: 220, config: { legend: { orient: "bottom" } } };
  const views = [];
  // SVG, so that names are page text; the one view of thousands of marks and no names
  // (the wait's dots, one per model row) on a canvas, which draws them many times faster.
  function embed(id, spec, renderer) {
    views.push(vegaEmbed("#" + id + " .view", Object.assign({}, base, spec), { renderer: renderer || "svg", actions: false }));
  }

  function perInterval(list, figures) {
    return [...group(list, (r) => r.t)].map(([t, g]) => Object.assign({ t: t, interval: g[0].interval_start_local }, figures(g)));
  }

  function render() {
    const I = INTERVALS.filter((r) => inRange(r.day) && ofQueue(r.queue_id));
    const net = (g) => sum(g, (r) => r.offered) - sum(g, (r) => r.short_abandoned);
    const handled = sum(I, (r) => r.handled);
    $("tile-offered").textContent = num(sum(I, (r) => r.offered), 0);
    $("tile-handled").textContent = num(handled, 0);
    $("tile-abandoned").textContent = num(sum(I, (r) => r.abandoned), 0);
    $("tile-service-level").textContent = pct(ratio(sum(I, (r) => r.answered_within_service_level), net(I)));
    $("tile-abandonment").textContent = pct(ratio(sum(I, (r) => r.abandoned - r.short_abandoned), net(I)));
    const asa = ratio(sum(I, (r) => r.average_speed_of_answer_seconds * r.handled), handled);
    $("tile-asa").textContent = asa === null ? "–" : num(asa, 1) + " s";
    views.length = 0;
    const target = DEF ? DEF.service_level_target : null;

    embed("service-level", {
      layer: [
        { data: { values: perInterval(I, (g) => ({ service_level: ratio(sum(g, (r) => r.answered_within_service_level), net(g)) })) },
          mark: { type: "line", interpolate: "step-after" },
          encoding: { x: X, y: { field: "service_level", type: "quantitative", title: "service level", axis: { format: "%" }, scale: { domain: [0, 1] } },
            tooltip: [{ field: "interval" }, { field: "service_level", format: ".1%" }] } },
        { data: { values: [{ target: target, label: "target " + pct(target) }] }, mark: { type: "rule", color: "#c0392b", strokeDash: [6, 4] },
          encoding: { y: { field: "target", type: "quantitative" }, tooltip: [{ field: "label" }] } },
      ],
    });

    embed("volume", {
      data: { values: perInterval(I, (g) => ({ handled: sum(g, (r) => r.handled), abandoned: sum(g, (r) => r.abandoned),
        neither: sum(g, (r) => r.offered - r.handled - r.abandoned) })) },
      transform: [{ fold: ["handled", "abandoned", "neither"], as: ["outcome", "contacts"] }],
      mark: { type: "area", interpolate: "step-after" },
      encoding: { x: X, y: { field: "contacts", type: "quantitative", stack: true, title: "offered contacts" },
        color: { field: "outcome", type: "nominal", scale: { domain: ["handled", "abandoned", "neither"], range: ["#2e86c1", "#e67e22", "#95a5a6"] } },
        tooltip: [{ field: "interval" }, { field: "outcome" }, { field: "contacts" }] },
    });

    const offered = sum(I, (r) => r.offered);
    const curve = [];
    for (const s of CURVES) {
      curve.push({ seconds: s, curve: "answered within", share: ratio(sum(I, (r) => r["handled_within_" + s + "_seconds"]), offered) });
      curve.push({ seconds: s, curve: "abandoned within", share: ratio(sum(I, (r) => r["abandoned_within_" + s + "_seconds"]), offered) });
    }
    const marks = DEF ? [{ seconds: DEF.short_abandon_seconds, label: "short abandon" }, { seconds: DEF.service_level_seconds, label: "service level" }] : [];
    embed("curves", {
      layer: [
        { data: { values: curve }, mark: { type: "line", point: true },
          encoding: { x: { field: "seconds", type: "quantitative", scale: { type: "log", domain: [4, 320] }, title: "seconds in the queue (log scale)", axis: { values: [5].concat(CURVES) } },
            y: { field: "share", type: "quantitative", axis: { format: "%" }, title: "share of offered" },
            color: { field: "curve", type: "nominal", scale: { domain: ["answered within", "abandoned within"], range: ["#2e86c1", "#e67e22"] } },
            tooltip: [{ field: "curve" }, { field: "seconds" }, { field: "share", format: ".1%" }] } },
        { data: { values: marks }, mark: { type: "rule", strokeDash: [3, 3], color: "#555" },
          encoding: { x: { field: "seconds", type: "quantitative" }, tooltip: [{ field: "label" }, { field: "seconds" }] } },
        { data: { values: marks }, mark: { type: "text", align: "left", dx: 3, y: 8, fontSize: 10 },
          encoding: { x: { field: "seconds", type: "quantitative" }, text: { field: "label" } } },
      ],
    });

    const waitLines = perInterval(I, (g) => ({
      "average speed of answer": ratio(sum(g, (r) => r.average_speed_of_answer_seconds * r.handled), sum(g, (r) => r.handled)),
      longest: Math.max(...g.map((r) => r.longest_wait_seconds)) }));
    const waitPoints = [];
    for (const r of I) {
      const who = queues.get(r.queue_id) + " · " + r.channel + " · " + r.direction;
      waitPoints.push({ t: r.t, interval: r.interval_start_local, measure: "median", seconds: r.median_wait_seconds, row: who });
      waitPoints.push({ t: r.t, interval: r.interval_start_local, measure: "90th percentile", seconds: r.p90_wait_seconds, row: who });
    }
    const waitColor = { field: "measure", type: "nominal", scale: { domain: ["average speed of answer", "median", "90th percentile", "longest"], range: ["#2e86c1", "#27ae60", "#8e44ad", "#c0392b"] } };
    embed("wait", {
      layer: [
        { data: { values: waitPoints }, mark: { type: "point", size: 12, filled: true, opacity: 0.6 },
          encoding: { x: X, y: { field: "seconds", type: "quantitative", title: "seconds in the queue" }, color: waitColor,
            tooltip: [{ field: "interval" }, { field: "row", title: "queue · channel · direction" }, { field: "measure" }, { field: "seconds" }] } },
        { data: { values: waitLines }, transform: [{ fold: ["average speed of answer", "longest"], as: ["measure", "seconds"] }],
          mark: { type: "line", interpolate: "step-after", strokeWidth: 1 },
          encoding: { x: X, y: { field: "seconds", type: "quantitative" }, color: waitColor,
            tooltip: [{ field: "interval" }, { field: "measure" }, { field: "seconds", format: ".1f" }] } },
      ],
    }, "canvas");

    embed("staffing", {
      data: { values: perInterval(I, (g) => ({ "required (Erlang C)": sum(g, (r) => r.required_agents), handling: sum(g, (r) => r.agents_handling) })) },
      transform: [{ fold: ["required (Erlang C)", "handling"], as: ["agents", "count"] }],
      mark: { type: "line", interpolate: "step-after" },
      encoding: { x: X, y: { field: "count", type: "quantitative", title: "agents" },
        color: { field: "agents", type: "nominal", scale: { domain: ["required (Erlang C)", "handling"], range: ["#c0392b", "#2e86c1"] } },
        tooltip: [{ field: "interval" }, { field: "agents" }, { field: "count" }] },
    });

    const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const cells = [...group(I, (r) => new Date(r.t).getUTCDay() + "," + new Date(r.t).getUTCHours())].map(([k, g]) => {
      const [d, h] = k.split(",");
      return { weekday: WEEKDAYS[+d], hour: +h, offered: sum(g, (r) => r.offered) };
    });
    embed("heatmap", {
      data: { values: cells }, mark: "rect",
      encoding: { x: { field: "hour", type: "ordinal", title: "hour (" + (DEF ? DEF.timezone : "local") + ")", scale: { domain: [...Array(24).keys()] } },
        y: { field: "weekday", type: "ordinal", sort: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], scale: { domain: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] } },
        color: { field: "offered", type: "quantitative", scale: { scheme: "blues" } },
        tooltip: [{ field: "weekday" }, { field: "hour" }, { field: "offered" }] },
    });

    const C = CAMPAIGNS.filter((r) => inRange(r.local_date) && ofQueue(r.queue_id));
    const campaignRates = [];
    for (const [, g] of group(C, (r) => r.campaign_id)) {
      const attempts = sum(g, (r) => r.dial_attempts);
      const connected = sum(g, (r) => r.connected);
      campaignRates.push({ campaign: g[0].campaign_name, rate: "connect rate", value: ratio(connected, attempts), attempts: attempts });
      campaignRates.push({ campaign: g[0].campaign_name, rate: "abandon rate", value: ratio(sum(g, (r) => r.abandoned), connected), attempts: attempts });
    }
    embed("campaigns", {
      data: { values: campaignRates }, mark: "bar", height: { step: 12 },
      encoding: { y: { field: "campaign", type: "nominal", title: null }, yOffset: { field: "rate" },
        x: { field: "value", type: "quantitative", axis: { format: "%" }, title: null, scale: { domain: [0, 1] } },
        color: { field: "rate", type: "nominal", scale: { domain: ["connect rate", "abandon rate"], range: ["#27ae60", "#e67e22"] } },
        tooltip: [{ field: "campaign" }, { field: "rate" }, { field: "value", format: ".1%" }, { field: "attempts", title: "dial attempts" }] },
    });

    const queueRates = [];
    for (const [id, g] of group(I, (r) => r.queue_id)) {
      queueRates.push({ queue: queues.get(id), rate: "service level", value: ratio(sum(g, (r) => r.answered_within_service_level), net(g)) });
      queueRates.push({ queue: queues.get(id), rate: "abandonment rate", value: ratio(sum(g, (r) => r.abandoned - r.short_abandoned), net(g)) });
    }
    embed("queues", {
      data: { values: queueRates }, mark: "bar", height: { step: 12 },
      encoding: { y: { field: "queue", type: "nominal", title: null }, yOffset: { field: "rate" },
        x: { field: "value", type: "quantitative", axis: { format: "%" }, title: null, scale: { domain: [0, 1] } },
        color: { field: "rate", type: "nominal", scale: { domain: ["service level", "abandonment rate"], range: ["#2e86c1", "#e67e22"] } },
        tooltip: [{ field: "queue" }, { field: "rate" }, { field: "value", format: ".1%" }] },
    });

    const channels = [...group(I, (r) => r.day + "|" + r.channel + " " + r.direction)].map(([k, g]) => ({ day: k.split("|")[0], contacts: k.split("|")[1], offered: sum(g, (r) => r.offered) }));
    embed("channels", {
      data: { values: channels }, mark: "bar",
      encoding: { x: { field: "day", type: "ordinal", title: "day (" + (DEF ? DEF.timezone : "local") + ")" }, y: { field: "offered", type: "quantitative", stack: true },
        color: { field: "contacts", type: "nominal", title: "channel, direction" },
        tooltip: [{ field: "day" }, { field: "contacts" }, { field: "offered" }] },
    });

    const A = AGENTS.filter((r) => inRange(r.local_date) && ofQueue(r.queue_id));
    const table = [...group(A, (r) => r.agent_id)].map(([, g]) => ({
      name: g[0].agent_name, handled: sum(g, (r) => r.handled), talk: sum(g, (r) => r.talk_seconds), hold: sum(g, (r) => r.hold_seconds),
      transfers: sum(g, (r) => r.transferred_out), repeats: sum(g, (r) => r.repeat_contacts) }));
    table.sort((a, b) => b.handled - a.handled || String(a.name).localeCompare(String(b.name)));
    const body = $("agents").querySelector("tbody");
    body.textContent = "";
    table.forEach((a, i) => {
      const tr = document.createElement("tr");
      const cells = [i + 1, a.name, num(a.handled, 0), num(a.talk / 60, 1), num(a.hold / 60, 1), num(ratio(a.talk + a.hold, a.handled), 1), num(a.transfers, 0), num(a.repeats, 0)];
      for (const c of cells) {
        const td = document.createElement("td");
        td.textContent = c;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    });

    document.body.dataset.rendered = "false";
    return Promise.all(views).then(() => {
      document.body.dataset.rendered = "true";
      window.voisoRenderedAt = performance.now();
    });
  }
  for (const id of ["queue", "from", "to"]) $(id).addEventListener("change", render);
  render();
})();
