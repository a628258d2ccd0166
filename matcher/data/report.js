/* matcher report.html: draws the page from the JSON in #payload and #figures (no network, no innerHTML of data). */
(function () {
  "use strict";
  const P = JSON.parse(document.getElementById("payload").textContent);
  const F = JSON.parse(document.getElementById("figures").textContent);
  const T = P.text;
  const PAGE = 50;

  function t(key) {
    let s = T[key] === undefined ? key : T[key];
    for (let i = 1; i < arguments.length; i++) s = s.replace("{" + (i - 1) + "}", String(arguments[i]));
    return s;
  }
  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "cls") e.className = v;
      else if (k === "on") for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
      else e.setAttribute(k, v);
    }
    for (const c of children || []) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  const fmtInt = (x) => Number(x).toLocaleString(P.lang === "zh" ? "zh-CN" : "en-US");
  const pct = (x) => (100 * x).toFixed(1) + "%";
  function section(id, title, note) {
    const s = el("section", { id: id }, [el("h2", { text: title })]);
    if (note) s.append(el("p", { cls: "note", text: note }));
    document.querySelector("main").append(s);
    return s;
  }
  function plot(container, name) {
    const f = F[name];
    const div = el("div", { cls: "fig", id: "fig-" + name });
    container.append(div);
    Plotly.newPlot(div, f.data, f.layout, { displaylogo: false, responsive: true });
    return div;
  }

  // --- local times: minutes since the epoch, as written in the input (shown with UTC getters) ---
  function fillCharts(s) {  // fill by priority and by category, side by side
    const grid = el("div", { cls: "grid2" });
    s.append(grid);
    const left = el("div"), right = el("div");
    grid.append(left, right);
    plot(left, "by_priority");
    plot(right, "by_category");
  }

  function day(min) {
    const d = new Date(min * 60000);
    return P.weekdays[(d.getUTCDay() + 6) % 7] + " " + String(d.getUTCMonth() + 1).padStart(2, "0") + "-" +
      String(d.getUTCDate()).padStart(2, "0");
  }
  function clock(min) {
    const d = new Date(min * 60000);
    return String(d.getUTCHours()).padStart(2, "0") + ":" + String(d.getUTCMinutes()).padStart(2, "0");
  }
  const span = (a, b) => day(a) + " " + clock(a) + "–" + clock(b);

  // --- a table with a search box, an optional filter, pages, and a detail row per click ---
  function table(container, spec) {
    const tools = el("div", { cls: "tools" });
    const search = el("input", { type: "search", placeholder: t("search") });
    tools.append(search);
    let filter = null;
    if (spec.filter) {
      filter = el("select", {}, [el("option", { value: "", text: spec.filter.all })]);
      for (const [v, label] of spec.filter.options) filter.append(el("option", { value: v, text: label }));
      tools.append(filter);
    }
    const tbl = el("table", { cls: "data" });
    const head = el("tr");
    for (const c of spec.columns) head.append(el("th", { cls: c.num ? "num" : "", text: c.title }));
    tbl.append(el("thead", {}, [head]));
    const body = el("tbody");
    tbl.append(body);
    const pager = el("div", { cls: "pager" });
    const prev = el("button", { text: t("prev") }), next = el("button", { text: t("next") });
    const info = el("span");
    pager.append(prev, next, info);
    container.append(tools, tbl, pager);
    let rows = spec.rows, page = 0, open = null;
    function apply() {
      const q = search.value.trim().toLowerCase(), f = filter ? filter.value : "";
      rows = spec.rows.filter((r) => (!q || spec.text(r).toLowerCase().includes(q)) && (!f || spec.filter.keep(r, f)));
      page = 0;
      draw();
    }
    function draw() {
      body.replaceChildren();
      open = null;
      const pages = Math.max(1, Math.ceil(rows.length / PAGE));
      for (const r of rows.slice(page * PAGE, page * PAGE + PAGE)) {
        const tr = el("tr", { cls: "row" });
        spec.columns.forEach((c) => tr.append(el("td", { cls: c.num ? "num" : "" }, [c.cell(r)])));
        tr.addEventListener("click", () => toggle(tr, r));
        body.append(tr);
      }
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
      info.textContent = t("page", page + 1, pages, fmtInt(rows.length));
    }
    function toggle(tr, r) {
      const was = open;
      if (open) { open.tr.classList.remove("open"); open.detail.remove(); open = null; }
      if (was && was.tr === tr) return;
      const detail = el("tr", { cls: "detail" }, [el("td", { colspan: String(spec.columns.length) }, [spec.detail(r)])]);
      tr.after(detail);
      tr.classList.add("open");
      open = { tr: tr, detail: detail };
    }
    search.addEventListener("input", apply);
    if (filter) filter.addEventListener("change", apply);
    prev.addEventListener("click", () => { page--; draw(); });
    next.addEventListener("click", () => { page++; draw(); });
    draw();
  }

  function summary() {
    const S = P.summary;
    const s = section("summary", t("summary"));
    const cards = el("div", { cls: "cards" });
    const card = (k, v, big) => el("div", { cls: "card" + (big ? " big" : "") }, [el("div", { cls: "v", text: v }),
      el("div", { cls: "k", text: k })]);
    cards.append(card(t("fill_rate") + " · " + t("fill_rate_note"), pct(S.fill_rate), true),
      card(t("seats"), fmtInt(S.seats)), card(t("filled"), fmtInt(S.filled)), card(t("unmet"), fmtInt(S.unmet)));
    if (S.volunteers_used !== undefined) cards.append(card(t("volunteers_used"), fmtInt(S.volunteers_used)));
    if (S.status) cards.append(card(t("status"), S.status + " · " + fmtInt(S.coverage) + " (" + fmtInt(S.bound) + ")"));
    s.append(cards);
    const tbl = el("table", {}, [el("thead", {}, [el("tr", {}, [el("th", { text: t("reason") }),
      el("th", { cls: "num", text: t("unmet") }), el("th", { cls: "num", text: t("orders") }),
      el("th", { cls: "num", text: t("share") }), el("th", { text: t("todo") })])])]);
    const body = el("tbody");
    for (const r of S.reasons) {
      body.append(el("tr", {}, [el("td", {}, [el("span", { cls: "reason-pill", text: r.name })]),
        el("td", { cls: "num", text: fmtInt(r.seats) }), el("td", { cls: "num", text: fmtInt(r.orders) }),
        el("td", { cls: "num", text: S.unmet ? pct(r.seats / S.unmet) : "–" }), el("td", { text: r.todo })]));
    }
    tbl.append(body);
    s.append(tbl);
    fillCharts(s);
    s.append(el("p", { cls: "banner", text: t(P.personal === "included" ? "personal_included" : "personal_left_out") }));
  }

  // --- the run report: explanations and rosters ---
  const D = P.demands, V = P.volunteers;
  function volLink(i) {
    const a = el("a", { cls: "vol", text: V.id[i] });
    a.addEventListener("click", (e) => { e.stopPropagation(); openWeek(i); });
    return a;
  }
  function openWeek(vi) {  // a volunteer's week in a dialog, over the explanation that named them
    let dlg = document.getElementById("week-dialog");
    if (!dlg) {
      dlg = el("dialog", { id: "week-dialog" });
      dlg.addEventListener("click", (e) => { if (e.target === dlg) dlg.close(); });
      document.body.append(dlg);
    }
    const close = el("button", { cls: "close", text: "×" });
    close.addEventListener("click", () => dlg.close());
    dlg.replaceChildren(close, week(vi));
    dlg.showModal();
  }
  function orderLabel(j) {
    return D.id[j] + " · " + P.categories[D.cat[j]] + " · " + t("priority") + " " + D.prio[j];
  }
  function explanation(u) {
    const j = u[0], box = el("div", { cls: "explain" });
    box.append(el("div", { text: orderLabel(j) + " · " + span(D.start[j], D.end[j]) + " · " +
      t("headcount") + " " + D.head[j] + " · " + t("filled") + " " + D.filled[j] +
      (u[5].length ? " · " + t("needs") + " " + u[5].map((k) => P.skills[k]).join(", ") : "") }));
    for (const [code, n] of u[1]) {
      const r = P.summary.reasons.find((x) => x.code === code);
      box.append(el("div", {}, [el("span", { cls: "reason-pill", text: r.name + " × " + n }),
        el("span", { cls: "todo", text: r.todo })]));
    }
    if (u[1].every(([code]) => code === "not_searched")) return box;  // (nobody was looked for: no near volunteers)
    box.append(el("h4", { text: t("near_counts") }));
    const counts = el("div", { cls: "counts" });
    u[2].forEach((n, k) => { if (n && P.exclusion_codes[k] !== "assigned") counts.append(el("span", { text: P.exclusions[k] + " " + fmtInt(n) })); });
    if (!counts.childNodes.length) counts.append(el("span", { text: t("none") }));
    box.append(counts);
    box.append(el("h4", { text: t("closest") }));
    const ul = el("ul"), N = P.notes;
    for (let i = u[3]; i < u[4]; i++) {
      const taken = N.taken.slice(N.taken_start[i], N.taken_start[i + 1]);
      const li = el("li", {}, [volLink(N.v[i]), " · " + N.km[i].toFixed(2) + " " + t("km") + " · " + P.exclusions[N.reason[i]]]);
      if (taken.length) {
        li.append(" · " + t("taken_by") + " ");
        taken.forEach((dj, n) => li.append((n ? ", " : "") + D.id[dj] + " (" + t("priority") + " " + D.prio[dj] + ", " +
          clock(D.start[dj]) + ")"));
        if (taken.every((dj) => D.prio[dj] > D.prio[j])) li.append(" · " + t("more_urgent"));
      }
      ul.append(li);
    }
    if (u[3] === u[4]) ul.append(el("li", { text: t("none") }));
    box.append(ul);
    return box;
  }
  function unmetSection() {
    const s = section("unmet", t("unmet_orders"), t("unmet_note"));
    const areaName = (j) => D.area[j] < 0 ? "" : P.areas.id[D.area[j]] + " " + P.areas.community[D.area[j]];
    table(s, {
      rows: P.unmet,
      columns: [
        { title: t("order"), cell: (u) => D.id[u[0]] },
        { title: t("area"), cell: (u) => areaName(u[0]) },
        { title: t("category"), cell: (u) => P.categories[D.cat[u[0]]] },
        { title: t("priority"), num: true, cell: (u) => D.prio[u[0]] },
        { title: t("time"), cell: (u) => span(D.start[u[0]], D.end[u[0]]) },
        { title: t("missing"), num: true, cell: (u) => u[1].reduce((a, x) => a + x[1], 0) + " / " + D.head[u[0]] },
        { title: t("reason"), cell: (u) => { const c = el("span"); for (const [code] of u[1]) c.append(el("span", { cls: "reason-pill", text: P.reasons[code] })); return c; } },
      ],
      text: (u) => [D.id[u[0]], areaName(u[0]), P.categories[D.cat[u[0]]]].join(" "),
      filter: { all: t("all_reasons"), options: Object.entries(P.reasons), keep: (u, f) => u[1].some((x) => x[0] === f) },
      detail: explanation,
    });
  }
  // tasks by volunteer (the payload lists them sorted by volunteer, then start)
  const byVol = new Map();
  if (P.tasks) P.tasks.v.forEach((vi, n) => { if (!byVol.has(vi)) byVol.set(vi, []); byVol.get(vi).push(n); });
  function taskLine(n) {
    const j = P.tasks.d[n];
    return clock(D.start[j]) + "–" + clock(D.end[j]) + " " + P.categories[D.cat[j]] + " · " + D.id[j] +
      (D.area[j] >= 0 ? " · " + P.areas.id[D.area[j]] : "") + " · " + P.tasks.km[n].toFixed(1) + " " + t("km");
  }
  function week(vi) {
    const box = el("div");
    box.append(el("div", { text: t("week_of", V.id[vi]) + " · " + t("caps", V.tasks[vi], V.max_tasks[vi], V.hours[vi], V.max_hours[vi]) }));
    const tasks = byVol.get(vi) || [];
    const days = new Map();
    let first = Infinity, last = -Infinity;
    for (const j of D.start.keys()) { first = Math.min(first, D.start[j]); last = Math.max(last, D.end[j]); }
    const dayOf = (m) => Math.floor(m / 1440);
    const d0 = dayOf(first), d1 = dayOf(last);
    const shown = d1 - d0 < 7 ? Array.from({ length: d1 - d0 + 1 }, (_, k) => d0 + k) : [...new Set(tasks.map((n) => dayOf(D.start[P.tasks.d[n]])))];
    for (const d of shown) days.set(d, []);
    for (const n of tasks) { const d = dayOf(D.start[P.tasks.d[n]]); if (!days.has(d)) days.set(d, []); days.get(d).push(n); }
    const grid = el("div", { cls: "week" });
    grid.style.gridTemplateColumns = "repeat(" + Math.max(days.size, 1) + ", 1fr)";
    for (const [d, list] of days) {
      const col = el("div", { cls: "day" }, [el("div", { cls: "dh", text: day(d * 1440) })]);
      for (const n of list) col.append(el("div", { cls: "task p" + D.prio[P.tasks.d[n]], text: taskLine(n) }));
      if (!list.length) col.append(el("div", { cls: "empty", text: "–" }));
      grid.append(col);
    }
    box.append(grid);
    return box;
  }
  function rosterSection() {
    const s = section("roster", t("roster"), t("roster_note"));
    const rows = [...byVol.keys()];
    const teamName = (vi) => V.team[vi] < 0 ? t("no_team") : P.teams.id[V.team[vi]];
    const personal = Object.keys(V.personal || {});
    const columns = [
      { title: t("volunteer"), cell: (vi) => V.id[vi] },
      ...personal.map((c) => ({ title: c, cell: (vi) => V.personal[c][vi] })),
      { title: t("team"), cell: teamName },
      { title: t("tasks"), num: true, cell: (vi) => V.tasks[vi] },
      { title: t("hours"), num: true, cell: (vi) => V.hours[vi] },
      { title: t("travel"), num: true, cell: (vi) => V.km[vi] },
    ];
    table(s, { rows: rows, columns: columns, text: (vi) => V.id[vi] + " " + teamName(vi), detail: week });
  }
  function teamSection() {
    const s = section("teams", t("teams"), t("teams_note"));
    const TM = P.teams, members = new Map();
    for (const vi of byVol.keys()) { const k = V.team[vi]; if (!members.has(k)) members.set(k, []); members.get(k).push(vi); }
    const rows = [...members.keys()].sort((a, b) => (a < 0) - (b < 0) || a - b);  // no team last
    const sum = (k, f) => (members.get(k) || []).reduce((a, vi) => a + f(vi), 0);
    table(s, {
      rows: rows,
      columns: [
        { title: t("team"), cell: (k) => k < 0 ? t("no_team") : TM.id[k] },
        { title: t("members"), num: true, cell: (k) => k < 0 ? "" : TM.members[k] },
        { title: t("members_sent"), num: true, cell: (k) => (members.get(k) || []).length },
        { title: t("tasks"), num: true, cell: (k) => sum(k, (vi) => V.tasks[vi]) },
        { title: t("hours"), num: true, cell: (k) => sum(k, (vi) => V.hours[vi]).toFixed(1) },
      ],
      text: (k) => k < 0 ? t("no_team") : TM.id[k],
      detail: (k) => {
        const box = el("div");
        for (const vi of members.get(k) || []) {
          const m = el("div", { cls: "member" }, [el("b", {}, [volLink(vi)])]);
          for (const n of byVol.get(vi) || []) m.append(el("div", { text: day(D.start[P.tasks.d[n]]) + " " + taskLine(n) }));
          box.append(m);
        }
        return box;
      },
    });
  }

  // --- the scenario report: the comparison table ---
  function comparison() {
    const s = section("comparison", t("comparison"), t("scenario_scope"));
    const C = P.comparison, tbl = el("table");
    const head = el("tr", {}, [el("th", { text: t("metric") })]);
    C.header.slice(1).forEach((h) => head.append(el("th", { cls: "num", text: h })));
    tbl.append(el("thead", {}, [head]));
    const body = el("tbody");
    for (const row of C.rows) {
      const tr = el("tr", {}, [el("td", { text: row[0] })]);
      row.slice(1).forEach((x) => tr.append(el("td", { cls: "num", text: x })));
      body.append(tr);
    }
    tbl.append(body);
    s.append(tbl);
    fillCharts(s);
  }

  document.title = P.title;
  document.querySelector("header h1").textContent = P.title;
  const nav = document.querySelector("header nav");
  const link = (id, label) => nav.append(el("a", { href: "#" + id, text: label }));
  if (P.kind === "run") {
    for (const [id, key] of [["summary", "summary"], ["map", "map"], ["heat", "heat"], ["unmet", "unmet_orders"], ["roster", "roster"], ["teams", "teams"]]) link(id, t(key));
    summary();
    plot(section("map", t("map"), t("map_note")), "map");
    plot(section("heat", t("heat"), t("heat_note")), "heat");
    unmetSection();
    rosterSection();
    teamSection();
  } else {
    for (const [id, key] of [["comparison", "comparison"], ["map", "map"], ["heat", "heat"]]) link(id, t(key));
    comparison();
    const m = section("map", t("map"), t("map_note"));
    plot(m, "map");
    if (F.change) plot(m, "change");
    plot(section("heat", t("heat"), t("heat_note")), "heat");
  }
  window.reportReady = true;
})();
