// The trace viewer's page code: plain DOM, no framework, no network. `tdxmc view` and
// `check --view` inline the compiled file (tsconfig.viewer.json) into one self-contained HTML page
// together with the trace data (src/trace/types.ts) as JSON. Every text from the trace goes into
// the page through textContent or attribute setters, never as HTML.
import type { TraceData, TraceRow, VarGroup } from "../trace/types.js";

const CSS = `
:root { --div: #c62828; --div-bg: #fde0dc; --tr: #8a6d00; --tr-bg: #fff4c2; --sel: #dbe9ff; --inv: #e6f4ea; --mut: #666; --line: #ddd; }
* { box-sizing: border-box; }
html, body { height: 100%; }
body { margin: 0; overflow: hidden; font: 13px/1.35 "DejaVu Sans", system-ui, sans-serif; color: #1b1b1b; background: #fff; }
header { padding: 8px 12px; border-bottom: 1px solid var(--line); background: #f7f7f9; }
h1 { font-size: 16px; margin: 0 0 4px; }
code, .mono, td.val, .lane td { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12px; }
.viol { color: var(--div); font-weight: bold; }
.muted { color: var(--mut); }
details { margin-top: 4px; }
#app { display: flex; flex-direction: column; height: 100vh; }
.toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; padding: 6px 12px; border-bottom: 1px solid var(--line); background: #fff; }
header { overflow: auto; max-height: 40vh; flex: none; }
.toolbar button { font: inherit; padding: 2px 8px; }
.toolbar label { white-space: nowrap; }
main { flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr); gap: 0; }
#lanes { position: relative; overflow: auto; height: 100%; border-right: 1px solid var(--line); }
#state { overflow: auto; height: 100%; padding: 0 10px 20px; }
table { border-collapse: collapse; width: 100%; }
.lane th { position: sticky; top: 0; background: #eef; text-align: left; padding: 3px 6px; border-bottom: 1px solid #ccd; }
.lane td { padding: 2px 6px; border-bottom: 1px solid #f0f0f0; vertical-align: top; }
.lane td.idx { color: var(--mut); text-align: right; width: 3em; }
.lane tr { cursor: pointer; }
.lane tr.sub td.cell { padding-left: 22px; color: #333; }
.lane tr.sel td { background: var(--sel); }
.lane tr.transient td.idx { border-left: 4px solid var(--tr); }
.lane tr.divergent td.idx { border-left: 4px solid var(--div); }
.lane tr.violation td { font-weight: bold; }
.fold { display: inline-block; width: 1.2em; color: #335; }
.badge { display: inline-block; font: 11px sans-serif; padding: 0 4px; margin-left: 4px; border-radius: 3px; vertical-align: 1px; }
.badge.transient { background: var(--tr-bg); color: var(--tr); border: 1px dashed var(--tr); }
.badge.divergent { background: var(--div); color: #fff; }
.badge.window { background: #eef; color: #335; }
.badge.violation { background: #000; color: #fff; }
.src { color: var(--mut); font-size: 11px; }
h2 { font-size: 13px; margin: 12px 0 4px; border-bottom: 1px solid var(--line); }
.trees td, .trees th { padding: 2px 6px; border-bottom: 1px solid #f0f0f0; text-align: left; }
.trees th { background: #f3f3f3; }
.trees tr.involved td { background: var(--inv); }
.trees tr.divergent td { background: var(--div-bg); }
.trees tr.divergent td.val { color: var(--div); font-weight: bold; }
.trees tr.transient td.val { background: var(--tr-bg); }
td.changed { outline: 2px solid #4a7bd0; outline-offset: -2px; }
.kv td { padding: 1px 6px; border-bottom: 1px solid #f3f3f3; }
.kv td:first-child { width: 45%; color: #333; }
.legend span { margin-right: 10px; }
.hidden { display: none !important; }
`;

type Unit = { row: number; step: number; sub: boolean };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of kids) e.append(c);
  return e;
}

function badge(kind: string, text: string, title: string): HTMLElement {
  return el("span", { class: `badge ${kind}`, title }, text);
}

function start(): void {
  const dataEl = document.getElementById("trace-data");
  if (!dataEl || !dataEl.textContent) return;
  const T = JSON.parse(dataEl.textContent) as TraceData;
  const style = document.createElement("style");
  style.textContent = CSS;
  document.head.append(style);

  // State after each raw step (index k+1), and the initial state (index 0).
  const states: string[][] = [T.initial.slice()];
  for (const s of T.steps) {
    const v = states[states.length - 1]!.slice();
    for (const [j, x] of s.d) v[j] = x;
    states.push(v);
  }
  const nSteps = T.steps.length;
  const entryName = (i: number): string => `L${T.entries[i]!.level} gfn ${T.entries[i]!.gfn}`;
  const statusAt = (k: number) => (k < 0 ? T.init : T.steps[k]!);
  const rowOfStep = (k: number): number => T.rows.findIndex((r) => r.from <= k && k <= r.to);

  let cur = -1; // selected raw step (-1: initial state)
  const expanded = new Set<number>();
  const hiddenThreads = new Set<number>();
  let changedOnly = false;
  let filter = "";

  // ---- header: what was violated, provenance, the replay command ----
  const app = document.getElementById("app")!;
  const header = el("header");
  header.append(el("h1", {}, T.title));
  if (T.violation) {
    header.append(el("div", {}, el("span", { class: "viol" }, `violated: ${T.violation.property}`), " — ", T.violation.message));
    if (T.violation.description) header.append(el("div", { class: "muted", id: "property-explanation" }, `${T.violation.description}${T.violation.source ? ` (${T.violation.source})` : ""}`));
  } else header.append(el("div", { class: "muted" }, "no violation on this trace"));
  const prov = el("details", { id: "provenance" });
  prov.append(el("summary", {}, "provenance"));
  const p = T.provenance;
  const kv = el("table", { class: "kv" });
  const addKv = (k: string, v: string): void => void kv.append(el("tr", {}, el("td", {}, k), el("td", { class: "mono" }, v)));
  if (p) {
    addKv("tdxmc", p.tdxmc);
    addKv("scenario", p.scenario);
    addKv("preset", p.preset ?? "-");
    addKv("TDX module", p.moduleVersion ?? "-");
    addKv("fingerprint", p.fingerprint);
    addKv("switches set", Object.entries(p.overrides).map(([a, b]) => `${a}=${b}`).join(", ") || "(none)");
    addKv("switches", Object.entries(p.switches).map(([a, b]) => `${a}=${b}`).join(", "));
  }
  prov.append(kv);
  if (T.replay) {
    const cmd = `tdxmc replay '${T.replay.replace(/'/g, `'\\''`)}'`;
    const btn = el("button", { id: "copy-replay", type: "button" }, "copy");
    const code = el("code", { id: "replay-command" }, cmd);
    btn.addEventListener("click", () => {
      // Without clipboard access (some browsers on file://): select the command for Ctrl-C.
      const done = (ok: boolean): void => {
        btn.textContent = ok ? "copied" : "selected: press Ctrl-C";
        if (!ok) {
          const r = document.createRange();
          r.selectNodeContents(code);
          const sel = window.getSelection();
          sel?.removeAllRanges();
          sel?.addRange(r);
        }
      };
      if (navigator.clipboard) navigator.clipboard.writeText(cmd).then(() => done(true), () => done(false));
      else done(false);
    });
    header.append(el("div", {}, "replay: ", code, " ", btn));
  }
  header.append(prov);

  // ---- toolbar ----
  const bar = el("div", { class: "toolbar", role: "toolbar" });
  const button = (id: string, text: string, title: string, f: () => void): HTMLButtonElement => {
    const b = el("button", { id, type: "button", title }, text);
    b.addEventListener("click", f);
    bar.append(b);
    return b;
  };
  const pos = el("span", { id: "position", class: "mono" });
  button("first", "Home", "initial state (Home)", () => select(-1));
  button("prev", "◀ back", "previous step (← or ↑)", () => move(-1));
  button("next", "step ▶", "next step (→ or ↓)", () => move(1));
  button("last", "End", "last step (End)", () => select(nSteps - 1));
  const jd = button("jump-divergence", "first divergence", "the first step after which an entry disagrees with no window open on it (d)", () => T.firstDivergence !== null && select(T.firstDivergence, true));
  if (T.firstDivergence === null) jd.disabled = true;
  const jv = button("jump-violation", "violation", "the step that revealed the violation (v)", () => T.violation && select(Math.max(-1, T.violation.step), true));
  if (!T.violation) jv.disabled = true;
  bar.append(pos);
  const co = el("input", { type: "checkbox", id: "changed-only" });
  co.addEventListener("change", () => {
    changedOnly = co.checked;
    renderState();
  });
  bar.append(el("label", {}, co, " changed only"));
  const fi = el("input", { type: "search", id: "state-filter", placeholder: "filter state (e.g. gfn 0, lock)", size: "22" });
  fi.addEventListener("input", () => {
    filter = fi.value.trim().toLowerCase();
    renderState();
  });
  bar.append(fi);
  T.threads.forEach((name, t) => {
    const c = el("input", { type: "checkbox", "data-thread": String(t) });
    c.checked = true;
    c.addEventListener("change", () => {
      if (c.checked) hiddenThreads.delete(t);
      else hiddenThreads.add(t);
      renderLanes();
    });
    bar.append(el("label", { title: "show this thread's lane" }, c, ` ${name}`));
  });
  const legend = el("div", { class: "legend muted", id: "legend" });
  legend.append(
    el("span", {}, badge("divergent", "divergence", ""), " agreement fails, no window open"),
    el("span", {}, badge("transient", "transient", ""), " agreement fails inside an open window (install or removal in progress)"),
    el("span", {}, badge("window", "window", ""), " a window is open on the entry"),
  );

  // ---- lanes ----
  const lanes = el("div", { id: "lanes", tabindex: "0" });
  const stateDiv = el("div", { id: "state" });
  const main = el("main");
  main.append(lanes, stateDiv);
  app.append(header, bar, legend, main);

  let units: Unit[] = [];
  // A badge where a divergence or a transient disagreement starts (the row's left bar marks every step it lasts).
  const starts = (k: number, f: "div" | "tr"): boolean => {
    const now = T.steps[k]![f];
    const was = statusAt(k - 1)[f];
    return now.some((i) => !was.includes(i));
  };
  const stepBadges = (k: number, td: HTMLElement): void => {
    const s = T.steps[k]!;
    if (starts(k, "div")) td.append(badge("divergent", "divergence", s.div.map(entryName).join(", ")));
    else if (starts(k, "tr")) td.append(badge("transient", "transient", s.tr.map(entryName).join(", ")));
    if (T.violation && T.violation.step === k) td.append(badge("violation", "violation", T.violation.property));
    if (T.cycleStart === k) td.append(badge("window", "cycle starts", "the steps from here repeat forever"));
  };
  const rowClass = (from: number, to: number): string => {
    const c: string[] = [];
    for (let k = from; k <= to; k++) {
      if (T.steps[k]!.div.length) c.push("divergent");
      else if (T.steps[k]!.tr.length) c.push("transient");
    }
    if (T.violation && from <= T.violation.step && T.violation.step <= to) c.push("violation");
    return [...new Set(c)].join(" ");
  };

  function renderLanes(): void {
    const shown = T.threads.map((_, t) => t).filter((t) => !hiddenThreads.has(t));
    const tbl = el("table", { class: "lane", id: "lane-table" });
    const head = el("tr", {}, el("th", {}, "#"));
    for (const t of shown) head.append(el("th", { "data-thread": String(t) }, T.threads[t]!));
    tbl.append(el("thead", {}, head));
    const body = el("tbody");
    units = [];
    const init = el("tr", { "data-step": "-1" }, el("td", { class: "idx" }, ""), el("td", { colspan: String(Math.max(1, shown.length)), class: "cell muted" }, "(initial state)"));
    init.addEventListener("click", () => select(-1));
    body.append(init);
    units.push({ row: -1, step: -1, sub: false });
    T.rows.forEach((r: TraceRow, i) => {
      if (hiddenThreads.has(r.t)) return;
      const tr = el("tr", { "data-row": String(i), "data-step": String(r.to), class: rowClass(r.from, r.to) });
      const cells = shown.map(() => el("td", { class: "cell" }));
      const c = cells[shown.indexOf(r.t)]!;
      if (r.seamcall) {
        const f = el("span", { class: "fold", title: "show the module's internal steps" }, expanded.has(i) ? "▾" : "▸");
        f.addEventListener("click", (e) => {
          e.stopPropagation();
          if (expanded.has(i)) expanded.delete(i);
          else expanded.add(i);
          renderLanes();
        });
        c.append(f);
      }
      c.append(r.label);
      if (r.src) c.append(el("div", { class: "src" }, r.fn === r.label ? r.src : `${r.fn} · ${r.src}`));
      if (!r.seamcall || !expanded.has(i)) stepBadgesRange(r.from, r.to, c);
      tr.append(el("td", { class: "idx" }, String(i + 1)), ...cells);
      tr.addEventListener("click", () => select(r.to));
      body.append(tr);
      units.push({ row: i, step: r.to, sub: false });
      if (r.seamcall && expanded.has(i))
        for (let k = r.from; k <= r.to; k++) {
          const s = T.steps[k]!;
          const sub = el("tr", { class: `sub ${rowClass(k, k)}`, "data-step": String(k), "data-row": String(i) });
          const sc = shown.map(() => el("td", { class: "cell" }));
          const cc = sc[shown.indexOf(r.t)]!;
          cc.append(`${s.label}${s.written !== undefined ? ` → ${s.written}` : s.read !== undefined ? ` (read ${s.read})` : ""}`);
          stepBadges(k, cc);
          sub.append(el("td", { class: "idx muted" }, `${i + 1}.${k - r.from + 1}`), ...sc);
          sub.addEventListener("click", () => select(k));
          body.append(sub);
          units.push({ row: i, step: k, sub: true });
        }
    });
    tbl.append(body);
    lanes.replaceChildren(tbl);
    highlight();
  }
  function stepBadgesRange(from: number, to: number, td: HTMLElement): void {
    let div = false;
    let tr = false;
    for (let k = from; k <= to; k++) {
      div ||= starts(k, "div");
      tr ||= starts(k, "tr");
    }
    if (div) td.append(badge("divergent", "divergence", "an entry disagrees with no window open"));
    else if (tr) td.append(badge("transient", "transient", "an entry disagrees inside an open window"));
    if (T.violation && from <= T.violation.step && T.violation.step <= to) td.append(badge("violation", "violation", T.violation.property));
    if (T.cycleStart !== null && from <= T.cycleStart && T.cycleStart <= to) td.append(badge("window", "cycle starts", "the steps from here repeat forever"));
  }

  function highlight(): void {
    for (const r of lanes.querySelectorAll("tr.sel")) r.classList.remove("sel");
    const u = currentUnit();
    const sel = u.row < 0 ? lanes.querySelector('tr[data-step="-1"]') : u.sub ? lanes.querySelector(`tr.sub[data-step="${u.step}"]`) : lanes.querySelector(`tr[data-row="${u.row}"]:not(.sub)`);
    if (sel) {
      sel.classList.add("sel");
      // Scroll the lanes only (not the page): keep the selected row below the sticky header.
      const r = sel as HTMLElement;
      const head = lanes.querySelector("thead")?.getBoundingClientRect().height ?? 0;
      const far = r.offsetTop - head < lanes.scrollTop - lanes.clientHeight || r.offsetTop > lanes.scrollTop + 2 * lanes.clientHeight;
      if (far) lanes.scrollTop = Math.max(0, r.offsetTop - lanes.clientHeight / 2);
      else if (r.offsetTop - head < lanes.scrollTop) lanes.scrollTop = Math.max(0, r.offsetTop - head - 4);
      else if (r.offsetTop + r.offsetHeight > lanes.scrollTop + lanes.clientHeight) lanes.scrollTop = r.offsetTop + r.offsetHeight - lanes.clientHeight + 4;
    }
  }
  function currentUnit(): Unit {
    return units.find((u) => u.step === cur) ?? units.find((u) => u.row === rowOfStep(cur)) ?? units[0]!;
  }

  // ---- state panel ----
  function renderState(): void {
    const k = cur;
    const vals = states[k + 1]!;
    const before = states[Math.max(0, k)]!;
    const st = statusAt(k);
    const inv = new Set(k >= 0 ? T.steps[k]!.inv : []);
    const changed = new Set(k >= 0 ? T.steps[k]!.d.map(([j]) => j) : []);
    const want = (name: string, j: number): boolean => (!changedOnly || changed.has(j)) && (filter === "" || name.toLowerCase().includes(filter));
    const out: Node[] = [];
    const s = k >= 0 ? T.steps[k]! : null;
    const what = s ? `after step ${k + 1} of ${nSteps} (${T.threads[s.t]}): ${s.label}` : `initial state (${nSteps} steps)`;
    out.push(el("div", { class: "mono", id: "state-title" }, what));
    pos.textContent = k < 0 ? `initial / ${nSteps}` : `step ${k + 1} / ${nSteps}`;

    if (T.entries.length) {
      out.push(el("h2", {}, "mirror (KVM) and S-EPT (TDX module), side by side"));
      const tbl = el("table", { class: "trees", id: "trees" });
      tbl.append(el("tr", {}, el("th", {}, "entry"), el("th", {}, "mirror SPTE"), el("th", {}, "S-EPT entry"), el("th", {}, "")));
      const top = T.geometry?.levels ?? 3;
      T.entries.forEach((e, i) => {
        const name = entryName(i);
        const mv = vals[e.mirror]!;
        const sv = vals[e.sept]!;
        const ch = changed.has(e.mirror) || changed.has(e.sept);
        if (changedOnly && !ch) return;
        if (filter && !`${name} mirror s-ept ${mv} ${sv}`.toLowerCase().includes(filter)) return;
        const cls = [inv.has(i) ? "involved" : "", st.div.includes(i) ? "divergent" : "", st.tr.includes(i) ? "transient" : ""].filter(Boolean).join(" ");
        const tr = el("tr", { class: cls, "data-entry": name });
        const label = el("td", { class: "mono", style: `padding-left:${6 + 14 * (top - e.level)}px` }, `${e.level === top ? "root " : "└ "}${name}`);
        const mTd = el("td", { class: `val mirror${changed.has(e.mirror) ? " changed" : ""}`, title: mv === "—" ? "not reached from the root (no table above it)" : `was ${before[e.mirror]}` }, mv === "NP" ? "NP (not present)" : mv);
        const sTd = el("td", { class: `val sept${changed.has(e.sept) ? " changed" : ""}`, title: `was ${before[e.sept]}` }, sv);
        const marks = el("td", { class: "marks" });
        if (st.div.includes(i)) marks.append(badge("divergent", "divergence", "the agreement check fails and no window is open on this entry"));
        if (st.tr.includes(i)) marks.append(badge("transient", "transient", "the agreement check fails, but a thread is between its mirror update and the end of its S-EPT update"));
        if (st.win.includes(i)) marks.append(badge("window", "window", "a window is open on this entry"));
        tr.append(label, mTd, sTd, marks);
        tbl.append(tr);
      });
      out.push(tbl);
    }
    const groups: [VarGroup, string][] = [["lock", "locks held"], ["vcpu", "vCPU modes"], ["page", "pages (guest_memfd ownership and pins)"], ["pamt", "PAMT (the module's page ownership)"], ["kvm", T.geometry ? "KVM state" : "state"], ["module", "TDX module state"]];
    for (const [g, title] of groups) {
      const rows: HTMLElement[] = [];
      T.vars.forEach((v, j) => {
        if (v.group !== g || !want(v.name, j)) return;
        const tr = el("tr", { "data-var": v.name }, el("td", {}, v.name), el("td", { class: `val${changed.has(j) ? " changed" : ""}`, title: `was ${before[j]}` }, vals[j]!));
        rows.push(tr);
      });
      if (g === "lock") {
        // Entry locks: the TDEL bit of S-EPT entries (sept_lock_acquire_host / _guest).
        T.entries.forEach((e, i) => {
          const v = vals[e.sept]!;
          const name = `S-EPT entry lock ${entryName(i)}`;
          if (/\bTDEL\b/.test(v) && want(name, e.sept)) rows.push(el("tr", { "data-var": name }, el("td", {}, name), el("td", { class: "val" }, "held (TDEL)")));
        });
        const wins = st.win.map(entryName);
        if (wins.length && (filter === "" || "window".includes(filter))) rows.push(el("tr", { "data-var": "windows" }, el("td", {}, "windows open"), el("td", { class: "val" }, wins.join(", "))));
      }
      if (rows.length === 0) continue;
      const tbl = el("table", { class: "kv", id: `group-${g}` });
      tbl.append(...rows);
      out.push(el("h2", {}, title), tbl);
    }
    stateDiv.replaceChildren(...out);
  }

  function select(k: number, reveal = false): void {
    cur = Math.max(-1, Math.min(nSteps - 1, k));
    if (reveal && cur >= 0) {
      const r = rowOfStep(cur);
      if (r >= 0 && T.rows[r]!.seamcall && T.rows[r]!.to !== cur && !expanded.has(r)) {
        expanded.add(r);
        hiddenThreads.delete(T.rows[r]!.t);
        renderLanes();
      }
    }
    highlight();
    renderState();
  }
  function move(d: number): void {
    const u = currentUnit();
    const i = units.indexOf(u);
    const n = units[Math.max(0, Math.min(units.length - 1, i + d))]!;
    select(n.step);
  }
  document.addEventListener("keydown", (e) => {
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA") && (t as HTMLInputElement).type !== "checkbox") return;
    const keys: Record<string, () => void> = {
      ArrowDown: () => move(1),
      ArrowRight: () => move(1),
      ArrowUp: () => move(-1),
      ArrowLeft: () => move(-1),
      Home: () => select(-1),
      End: () => select(nSteps - 1),
      d: () => T.firstDivergence !== null && select(T.firstDivergence, true),
      v: () => T.violation && select(Math.max(-1, T.violation.step), true),
    };
    const f = keys[e.key];
    if (f) {
      e.preventDefault();
      f();
    }
  });
  renderLanes();
  select(-1);
  document.body.setAttribute("data-ready", "1");
}

start();
