// Step tables of KVM counterexamples, in the style of the seed email: one column per thread, one
// row per KVM-level step (a SEAMCALL's module steps folded into one row), plus columns for the state
// that matters — the mirror SPTE and S-EPT entry of every entry the trace changes, the KVM locks
// held, and the few KVM flags it changes. A state cell shows the value when the row changes it.
// Runs of steps that touch none of that state fold into one row unless asked to expand them.
// The text renderer of the trace data layer (src/trace/).
import type { Program, StepRecord } from "../engine/index.js";
import type { KvmStep } from "../kvm/index.js";
import { baseRows, classify, functionOf, LOCK_OPS, MIRROR_ROOT, MIRROR_SP, MODULE_OBJ, SEPT, sourceOf, type Col } from "../trace/rows.js";

export { functionOf, sourceOf };

const MAX_STATE_COLS = 8;

export interface TableOptions {
  /** Do not fold SEAMCALLs into one row (show the module's internal steps). */
  raw?: boolean;
  /** Do not fold runs of steps that touch no state column. */
  expand?: boolean;
  /** Livelocks: the raw index of the first step of the repeating cycle. */
  cycleStart?: number;
  /** Paging fan-out (to name mirror entries by GFN). */
  fanout?: number;
  levels?: number;
  /** The violation's message: entries it names get columns. */
  message?: string;
}

function stateColumns(program: Program, steps: readonly StepRecord[], moduleSteps: ReadonlySet<number>, o: TableOptions): Col[] {
  const written = new Map<string, Col>();
  const locks = new Map<string, Col>();
  for (const s of steps) {
    if (LOCK_OPS.has(s.op) && !MODULE_OBJ.test(s.object)) {
      if (!locks.has(s.object)) locks.set(s.object, { obj: s.object, header: s.object, kind: "lock", sortKey: `1 ${s.object}` });
      continue;
    }
    if (s.written === undefined || s.object.includes(",") || written.has(s.object)) continue;
    const c = classify(s.object, o);
    // The TDX module's own bookkeeping stays inside its SEAMCALL rows; only its S-EPT entries show.
    if (c && (c.kind === "sept" || !moduleSteps.has(s.index))) written.set(s.object, c);
  }
  // The entries a violation message names ("L1 gfn 0: ...") show even when no step wrote them, and
  // every mirror entry shown gets its S-EPT entry beside it (and the other way round).
  const wanted = [...(o.message ?? "").matchAll(/\bL(\d+) gfn (\d+)\b/g)].map((m) => [m[1]!, m[2]!] as const);
  for (const c of [...written.values()]) {
    const m = /L(\d+) gfn (\d+)$/.exec(c.header);
    if ((c.kind === "mirror" || c.kind === "sept") && m) wanted.push([m[1]!, m[2]!]);
  }
  for (const [lv, gf] of wanted) {
    for (const kind of ["mirror", "S-EPT"]) {
      const header = `${kind} L${lv} gfn ${gf}`;
      if ([...written.values()].some((c) => c.header === header)) continue;
      const cands = program.world.objs.map((x) => classify(x.name, o)).filter((c): c is Col => c !== null && c.header === header);
      // Of several candidate mirror tables, only one the trace touched is known to be the linked one.
      const touched = cands.find((c) => steps.some((s) => s.object === c.obj)) ?? (cands.length === 1 ? cands[0] : undefined);
      if (touched) written.set(touched.obj, touched);
    }
  }
  const cols = [...written.values(), ...locks.values()].sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  return cols.slice(0, MAX_STATE_COLS);
}

export interface Row {
  thread: string;
  text: string;
  raw: number[];
  /** New values of state columns this row changed. */
  changes: Map<string, string>;
}

/** Compute the rows: KVM-level steps, their state changes, and folded runs. */
export function tableRows(program: Program, steps: readonly StepRecord[], o: TableOptions = {}): { cols: Col[]; rows: Row[]; initial: Map<string, string>; final: Map<string, string> } {
  const base = baseRows(steps, o);
  const moduleSteps = new Set(base.filter((k) => k.label.startsWith("SEAMCALL ") || k.label.startsWith("guest") || k.label.startsWith("TD exit")).flatMap((k) => k.raw));
  const cols = stateColumns(program, steps, moduleSteps, o);
  const colSet = new Set(cols.map((c) => c.obj));
  const w = program.world;
  const byName = new Map(w.objs.map((x) => [x.name, x]));
  const current = new Map<string, string>();
  const holders = new Map<string, string[]>();
  const lockText = (obj: string): string => {
    const h = holders.get(obj) ?? [];
    return h.length ? h.join(", ") : "-";
  };
  for (const c of cols) {
    if (c.kind === "lock") current.set(c.obj, "-");
    else {
      const info = byName.get(c.obj);
      current.set(c.obj, info ? info.fmt(w.initial[info.base]!) : "?");
    }
  }
  const initial = new Map(current);
  const touches = (k: KvmStep): boolean => k.raw.some((i) => colSet.has(steps[i]!.object)) || k.label.startsWith("SEAMCALL ");
  const rows: Row[] = [];
  const apply = (k: KvmStep): Map<string, string> => {
    const ch = new Map<string, string>();
    for (const i of k.raw) {
      const s = steps[i]!;
      if (!colSet.has(s.object)) continue;
      if (LOCK_OPS.has(s.op)) {
        const h = holders.get(s.object) ?? [];
        const mode = s.op.startsWith("read") ? "R" : s.op.startsWith("write") ? "W" : "held";
        const tag = mode === "held" ? s.threadName : `${mode} ${s.threadName}`;
        if (s.op.endsWith("unlock")) {
          const j = h.indexOf(tag);
          if (j >= 0) h.splice(j, 1);
        } else h.push(tag);
        holders.set(s.object, h);
        ch.set(s.object, lockText(s.object));
      } else if (s.written !== undefined) ch.set(s.object, s.written);
    }
    for (const [obj, v] of ch) {
      if (current.get(obj) === v) ch.delete(obj);
      else current.set(obj, v);
    }
    return ch;
  };
  let i = 0;
  const lastIdx = base.length - 1;
  const cycleRow = o.cycleStart === undefined ? -1 : base.findIndex((k) => k.raw.includes(o.cycleStart!));
  while (i < base.length) {
    const k = base[i]!;
    if (!o.expand && !touches(k) && i !== lastIdx && i !== cycleRow) {
      // Fold a run of same-thread rows that touch no state column.
      let j = i;
      while (j + 1 < base.length && j + 1 !== lastIdx && j + 1 !== cycleRow && base[j + 1]!.thread === k.thread && !touches(base[j + 1]!)) j++;
      if (j > i) {
        const run = base.slice(i, j + 1);
        const fns = [...new Set(run.map((r) => functionOf(r.label)))];
        const n = run.reduce((a, r) => a + r.raw.length, 0);
        const ch = new Map<string, string>();
        for (const r of run) for (const [a, b] of apply(r)) ch.set(a, b);
        rows.push({ thread: k.thread, text: `... ${n} steps: ${fns.join(", ")}`, raw: run.flatMap((r) => r.raw), changes: ch });
        i = j + 1;
        continue;
      }
    }
    const queued = k.raw.length === 1 && steps[k.raw[0]!]!.op === "write_lock(queue)";
    rows.push({ thread: k.thread, text: queued ? `${k.label} [waits]` : k.label, raw: k.raw, changes: apply(k) });
    i++;
  }
  return { cols, rows: o.expand ? rows : foldRepeats(rows, o.cycleStart), initial, final: new Map(current) };
}

/** A block of 1..4 rows repeated three times or more (a retry loop) shows once plus one summary row. */
function foldRepeats(rows: Row[], cycleStart: number | undefined): Row[] {
  const out: Row[] = [];
  let i = 0;
  const same = (a: Row, b: Row): boolean => a.thread === b.thread && a.text === b.text;
  const last = rows.length - 1;
  while (i < rows.length) {
    let done = false;
    for (let p = 1; p <= 4 && !done; p++) {
      let k = 0;
      while (i + (k + 2) * p <= rows.length && rows.slice(i + (k + 1) * p, i + (k + 2) * p).every((r, j) => same(r, rows[i + j]!))) k++;
      // Keep the violating row and the cycle start visible.
      while (k > 0 && (i + (k + 1) * p - 1 >= last || rows.slice(i + p, i + (k + 1) * p).some((r) => cycleStart !== undefined && r.raw.includes(cycleStart)))) k--;
      if (k >= 2) {
        const block = rows.slice(i, i + p);
        const rep = rows.slice(i + p, i + (k + 1) * p);
        out.push(...block);
        const ch = new Map<string, string>();
        for (const r of rep) for (const [a, b] of r.changes) ch.set(a, b);
        const n = out.length;
        out.push({ thread: block[0]!.thread, text: `... ${p === 1 ? `row ${n}` : `rows ${n - p + 1}-${n}`} again ${k} more time${k === 1 ? "" : "s"}`, raw: rep.flatMap((r) => r.raw), changes: ch });
        i += (k + 1) * p;
        done = true;
      }
    }
    if (!done) out.push(rows[i++]!);
  }
  return out;
}

/** Render the table. */
export function formatKvmTable(program: Program, steps: readonly StepRecord[], o: TableOptions = {}): string {
  const threads = program.threads.map((t) => t.name);
  const { cols, rows, initial } = tableRows(program, steps, o);
  const headers = [...threads, ...cols.map((c) => c.header)];
  const cells: string[][] = [];
  cells.push([...threads.map((_, j) => (j === 0 ? "(initial state)" : "")), ...cols.map((c) => initial.get(c.obj)!)]);
  for (const r of rows) cells.push([...threads.map((t) => (t === r.thread ? r.text : "")), ...cols.map((c) => r.changes.get(c.obj) ?? "")]);
  const widths = headers.map((h, j) => Math.max(h.length, ...cells.map((r) => r[j]!.length)));
  const idxW = Math.max(1, String(rows.length).length);
  const line = (idx: string, cs: string[]): string => `${idx.padStart(idxW)} | ${cs.map((c, j) => c.padEnd(widths[j]!)).join(" | ")}`.trimEnd();
  const out = [line("#", headers), `${"-".repeat(idxW)}-+-${widths.map((x) => "-".repeat(x)).join("-+-")}`];
  out.push(line("", cells[0]!));
  const cycleRow = o.cycleStart === undefined ? -1 : rows.findIndex((r) => r.raw.includes(o.cycleStart!));
  rows.forEach((_, i) => {
    if (i === cycleRow) out.push(`${" ".repeat(idxW)} | -- cycle starts here; the steps below repeat forever --`);
    out.push(line(String(i + 1), cells[i + 1]!));
  });
  return out.join("\n");
}

/** --explain: per row, the function it models and what it did to the mirror and S-EPT (and KVM state). */
export function formatExplain(program: Program, steps: readonly StepRecord[], o: TableOptions = {}): string {
  const { rows } = tableRows(program, steps, { ...o, expand: true });
  const fan = o.fanout ?? 2;
  const nameOf = (obj: string): string => classify(obj, { ...o, fanout: fan })?.header ?? obj;
  const out: string[] = [];
  const w = String(rows.length).length;
  rows.forEach((r, i) => {
    const fn = r.text.startsWith("SEAMCALL ") ? r.text : functionOf(r.text);
    const src = sourceOf(fn);
    out.push(`${String(i + 1).padStart(w)}. ${r.thread}: ${fn}${src ? `  [${src}]` : ""}`);
    const rest = r.text.startsWith("SEAMCALL ") ? "" : r.text.slice(fn.length).replace(/^:\s*/, "");
    if (rest) out.push(`${" ".repeat(w + 2)}${rest}`);
    const effects: string[] = [];
    for (const k of r.raw) {
      const s = steps[k]!;
      const c = s.object.includes(",") ? null : /^pamt\[/.test(s.object) ? { header: s.object.replace(/^pamt/, "PAMT") } : classify(s.object, { ...o, fanout: fan });
      if (!c) continue;
      if (LOCK_OPS.has(s.op)) effects.push(`${s.op} ${s.object}`);
      else if (s.written !== undefined) effects.push(`${/^pamt\[/.test(s.object) ? (c as { header: string }).header : nameOf(s.object)}: ${s.read !== undefined ? `${s.read} -> ` : ""}${s.written}`);
      else if (s.read !== undefined && !r.text.startsWith("SEAMCALL ") && (SEPT.test(s.object) || MIRROR_SP.test(s.object) || MIRROR_ROOT.test(s.object))) effects.push(`reads ${nameOf(s.object)} = ${s.read}`);
    }
    // Inside a SEAMCALL, keep only the last value written to each entry (the module's entry lock comes and goes).
    const seen = new Map<string, string>();
    for (const e of effects) {
      const key = e.includes(": ") ? e.slice(0, e.indexOf(": ")) : e;
      if (r.text.startsWith("SEAMCALL ") && seen.has(key)) {
        const first = seen.get(key)!;
        const from = first.slice(first.indexOf(": ") + 2).split(" -> ")[0];
        const to = e.slice(e.indexOf(": ") + 2).split(" -> ").pop();
        seen.set(key, `${key}: ${from} -> ${to}`);
      } else seen.set(key, e);
    }
    const shown = [...seen.values()].filter((e) => {
      const m = /: (.*) -> (.*)$/.exec(e);
      return !m || m[1] !== m[2];
    });
    for (const e of shown) out.push(`${" ".repeat(w + 2)}- ${e}`);
    if (r.text.startsWith("SEAMCALL ") && shown.length === 0) {
      // Say what it found: the last S-EPT entry it read.
      const lastRead = [...r.raw].reverse().map((k) => steps[k]!).find((x) => SEPT.test(x.object) && x.read !== undefined);
      const firstRead = lastRead ? r.raw.map((k) => steps[k]!).find((x) => x.object === lastRead.object && x.read !== undefined) : undefined;
      out.push(`${" ".repeat(w + 2)}- no entry changed${firstRead ? ` (found ${nameOf(firstRead.object)} = ${firstRead.read})` : ""}`);
    }
  });
  return out.join("\n");
}
