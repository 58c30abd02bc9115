// The trace data layer: re-run a schedule step by step and record, after every step, the state a
// reader needs to watch the mirror and the S-EPT drift apart — every mirror entry as reached from
// the root and its S-EPT entry, lock holders (mmu_lock readers/writer, the module's TDR and tree
// locks; entry locks are the TDEL bit of S-EPT values), vCPU modes, page ownership (guest_memfd and
// PAMT), the KVM and module flags, the windows open on each entry, and which entries disagree
// (a divergence when no window is open on the entry, transient inside one). The text step table,
// the HTML viewer and the ITF writer all read this.
import { Execution, replay, type Oracle, type Program, type Schedule, type StepRecord } from "../engine/index.js";
import type { BuiltModel } from "../kvm/index.js";
import { baseRows, classify, functionOf, MODULE_OBJ, NOISE, sourceOf } from "./rows.js";
import type { TraceData, TraceEntry, TraceProvenance, TraceRow, TraceStep, TraceVar, TraceViolation, VarGroup } from "./types.js";

export interface TraceMeta {
  title: string;
  provenance: TraceProvenance | null;
  replay: string | null;
  /** The recorded property (its violation is the one shown); default: the first violation. */
  property?: string;
  /** Property explanation (PROPERTY_INFO). */
  describe?: (property: string) => { description: string; source: string };
}

/** Value shown for an entry that the walk from the root does not reach (no table above it). */
export const UNREACHED = "—";

const LOCK_KINDS = new Set(["rwlock", "spinlock", "sharex"]);

class ScheduleOracle implements Oracle {
  list: readonly number[] = [];
  pos = 0;
  choose(_tid: number, k: number): number {
    const c = this.list[this.pos++];
    if (c === undefined || c >= k) throw new Error(`trace: the schedule does not replay (choice ${String(c)} of ${k})`);
    return c;
  }
}

/** Lock holders as the steps show them: "R vCPU0, R zapper", "W zapper (queued)", "EX vCPU0". */
function applyLockOp(h: string[], s: StepRecord): void {
  const who = s.threadName;
  const drop = (tag: string): void => {
    const j = h.indexOf(tag);
    if (j >= 0) h.splice(j, 1);
  };
  switch (s.op) {
    case "read_lock":
      h.push(`R ${who}`);
      break;
    case "read_unlock":
      drop(`R ${who}`);
      break;
    case "write_lock(queue)":
      h.push(`W ${who} (queued)`);
      break;
    case "write_lock":
      drop(`W ${who} (queued)`);
      h.push(`W ${who}`);
      break;
    case "write_unlock":
      drop(`W ${who}`);
      break;
    case "lock":
      h.push(who);
      break;
    case "unlock":
      drop(who);
      break;
    case "try_lock_ex":
      if (s.read === "acquired") h.push(`EX ${who}`);
      break;
    case "try_lock_sh":
      if (s.read === "acquired") h.push(`SH ${who}`);
      break;
    case "unlock_ex":
      drop(`EX ${who}`);
      break;
    case "unlock_sh":
      drop(`SH ${who}`);
      break;
  }
}

function groupOf(name: string, kind: string): VarGroup | null {
  if (LOCK_KINDS.has(kind)) return "lock";
  if (/^sept\.L\d+\[/.test(name) || /^mirror_root\[|^sp\d+\(/.test(name)) return null; // shown as entries
  if (/^vcpu\d+\.mode$/.test(name)) return "vcpu";
  if (/^page\[/.test(name)) return "page";
  if (/^pamt\[/.test(name)) return "pamt";
  if (MODULE_OBJ.test(name)) return "module";
  if (NOISE.test(name)) return "kvm";
  return "kvm";
}

/**
 * Build the trace of `schedule` on `program`. With the KVM model (`model`), mirror and S-EPT
 * entries, windows and agreement are per entry; without it (engine demos) every object is a plain
 * state variable.
 */
export function buildTrace(program: Program, model: BuiltModel | null, schedule: Schedule, meta: TraceMeta): TraceData {
  const res = replay(program, schedule, meta.property ? [meta.property] : undefined);
  const steps = res.steps;
  const w = program.world;
  const threads = program.threads.map((t) => t.name);

  // Candidate state: entries (model), plain objects, lock holders.
  const objVars = w.objs.filter((o) => groupOf(o.name, o.kind) !== null);
  const allEntries = model ? model.kvm.mirror.allEntries().map((e) => ({ ...e, key: model.kvm.mirror.key(e.level, e.gfn) })) : [];
  const septObj = new Map(w.objs.filter((o) => /^sept\.L\d+\[gpa \d+\]$/.test(o.name)).map((o) => [o.name, o]));
  const quiescent = program.quiescent;

  const snapshot = (ex: Execution | null): { values: string[]; ent: [string, string][]; failing: boolean[]; open: boolean[] } => {
    const mem = w.mem;
    const values = objVars.map((o) => (LOCK_KINDS.has(o.kind) ? "" : o.fmt(mem[o.base]!)));
    const ent: [string, string][] = [];
    const failing: boolean[] = [];
    const open: boolean[] = [];
    for (const e of allEntries) {
      const m = model!.kvm.mirror.peekEntry(e.level, e.gfn);
      const mv = m ? w.objs[m.cellId]!.fmt(m.value) : UNREACHED;
      const sv0 = model!.tdx.peekEntry(e.level, e.gfn);
      const so = septObj.get(`sept.L${e.level - 1}[gpa ${e.gfn}]`);
      const sv = sv0 === null || !so ? UNREACHED : so.fmt(mem[so.base]!);
      ent.push([mv, sv]);
      failing.push(quiescent.some((q) => q.keys.includes(e.key) && q.check(e.key) !== null));
      open.push(ex ? ex.inWindow(e.key) : false);
    }
    return { values, ent, failing, open };
  };

  // Re-run the schedule one step at a time (the same steps replay() ran), recording each state.
  const oracle = new ScheduleOracle();
  const ex = new Execution(program, oracle, meta.property ? new Set([meta.property]) : null);
  ex.stopOnFatal = false;
  oracle.list = schedule.rootChoices;
  ex.reset();
  const states = [snapshot(ex)];
  for (let i = 0; i < steps.length; i++) {
    // One model step at a time: the schedule may have fused items (v2 "T/N"); the step records
    // carry each model step's thread and choices.
    const st = steps[i]!;
    oracle.list = st.choices ?? [];
    oracle.pos = 0;
    ex.step(st.thread);
    states.push(snapshot(ex));
  }

  // Lock holders, per state.
  const lockIdx = objVars.map((o, i) => (LOCK_KINDS.has(o.kind) ? i : -1)).filter((i) => i >= 0);
  const holders = new Map<string, string[]>(lockIdx.map((i) => [objVars[i]!.name, []]));
  const lockText = (n: string): string => (holders.get(n)!.length ? holders.get(n)!.join(", ") : "-");
  for (const i of lockIdx) states[0]!.values[i] = "-";
  steps.forEach((s, k) => {
    const h = holders.get(s.object);
    if (h) applyLockOp(h, s);
    for (const i of lockIdx) states[k + 1]!.values[i] = lockText(objVars[i]!.name);
  });

  // Which entries to show: any that is ever present in either tree, that a step touches, or that the
  // violation names — and the entries above them (the tree needs its path).
  const fan = model?.kvm.mirror.geo.fanout ?? 2;
  const levels = model?.kvm.mirror.geo.levels ?? 3;
  const entryOfObj = (name: string): number => {
    const c = classify(name, { fanout: fan, levels });
    if (!c || (c.kind !== "mirror" && c.kind !== "sept")) return -1;
    const m = /L(\d+) gfn (\d+)$/.exec(c.header);
    return m ? allEntries.findIndex((e) => e.level === Number(m[1]) && e.gfn === Number(m[2])) : -1;
  };
  const touched = steps.map((s) => [...new Set(s.object.split(",").map(entryOfObj).filter((i) => i >= 0))]);
  const keep = new Set<number>();
  allEntries.forEach((_, i) => {
    if (states.some((st) => st.ent[i]![0] !== "NP" && st.ent[i]![0] !== UNREACHED)) keep.add(i);
    if (states.some((st) => st.ent[i]![1] !== "FREE" && st.ent[i]![1] !== UNREACHED)) keep.add(i);
    if (states.some((st) => st.failing[i])) keep.add(i);
  });
  for (const t of touched) for (const i of t) keep.add(i);
  for (const v of res.violations)
    for (const m of v.message.matchAll(/\bL(\d+) gfn (\d+)\b/g)) {
      const i = allEntries.findIndex((e) => e.level === Number(m[1]) && e.gfn === Number(m[2]));
      if (i >= 0) keep.add(i);
    }
  for (const i of [...keep]) {
    const e = allEntries[i]!;
    for (let l = e.level + 1; l <= levels; l++) {
      const span = fan ** (l - 1);
      const j = allEntries.findIndex((x) => x.level === l && x.gfn === Math.floor(e.gfn / span) * span);
      if (j >= 0) keep.add(j);
    }
  }
  // Tree order: depth first from the root level, by GFN.
  const shown = [...keep].sort((a, b) => {
    const A = allEntries[a]!;
    const B = allEntries[b]!;
    return A.gfn - B.gfn || B.level - A.level;
  });

  // Pages and PAMT entries: those that change, or that a shown entry maps.
  const referenced = new Set<number>();
  for (const st of states) for (const i of shown) for (const v of st.ent[i]!) for (const m of v.matchAll(/pfn[ =](\d+)/g)) referenced.add(Number(m[1]));
  const keepObj = objVars.map((o, i) => {
    const g = groupOf(o.name, o.kind);
    if (g !== "page" && g !== "pamt") return true;
    if (states.some((st) => st.values[i] !== states[0]!.values[i])) return true;
    const m = /pfn (\d+)\]$/.exec(o.name);
    return m !== null && referenced.has(Number(m[1]));
  });

  const vars: TraceVar[] = [];
  const entries: TraceEntry[] = [];
  const entryVarOf: number[][] = [];
  for (const i of shown) {
    const e = allEntries[i]!;
    const mi = vars.push({ name: `mirror L${e.level} gfn ${e.gfn}`, group: "mirror" }) - 1;
    const si = vars.push({ name: `S-EPT L${e.level} gfn ${e.gfn}`, group: "sept", obj: `sept.L${e.level - 1}[gpa ${e.gfn}]` }) - 1;
    entryVarOf[i] = [mi, si];
    entries.push({ level: e.level, gfn: e.gfn, key: e.key, mirror: mi, sept: si });
  }
  const entryIndex = new Map(shown.map((i, k) => [i, k]));
  const objVarIdx: number[] = [];
  const order: VarGroup[] = ["lock", "vcpu", "page", "pamt", "kvm", "module"];
  for (const g of order)
    objVars.forEach((o, i) => {
      if (keepObj[i] && groupOf(o.name, o.kind) === g) objVarIdx[i] = vars.push({ name: o.name, group: g, obj: o.name }) - 1;
    });

  const valuesAt = (k: number): string[] => {
    const st = states[k]!;
    const out = new Array<string>(vars.length);
    for (const i of shown) {
      out[entryVarOf[i]![0]!] = st.ent[i]![0];
      out[entryVarOf[i]![1]!] = st.ent[i]![1];
    }
    objVars.forEach((_, i) => {
      if (objVarIdx[i] !== undefined) out[objVarIdx[i]!] = st.values[i]!;
    });
    return out;
  };
  const statusAt = (k: number): { div: number[]; tr: number[]; win: number[] } => {
    const st = states[k]!;
    const div: number[] = [];
    const tr: number[] = [];
    const win: number[] = [];
    shown.forEach((i, n) => {
      if (st.open[i]) win.push(n);
      if (st.failing[i]) (st.open[i] ? tr : div).push(n);
    });
    return { div, tr, win };
  };

  const initial = valuesAt(0);
  let prev = initial;
  const tsteps: TraceStep[] = steps.map((s, k) => {
    const cur = valuesAt(k + 1);
    const d: [number, string][] = [];
    cur.forEach((v, j) => {
      if (v !== prev[j]) d.push([j, v]);
    });
    prev = cur;
    const ts: TraceStep = { t: s.thread, label: s.label, op: s.op, obj: s.object, d, inv: touched[k]!.map((i) => entryIndex.get(i)).filter((i): i is number => i !== undefined), ...statusAt(k + 1) };
    if (s.read !== undefined) ts.read = s.read;
    if (s.written !== undefined) ts.written = s.written;
    return ts;
  });

  const rows: TraceRow[] = (model ? baseRows(steps, {}) : steps.map((s) => ({ thread: s.threadName, label: s.label, raw: [s.index] }))).map((k) => {
    const seamcall = k.raw.length > 1 && /^(SEAMCALL |guest |TD exit)/.test(k.label);
    const fn = k.label.startsWith("SEAMCALL ") ? k.label.replace(/ \(.*$/, "").replace(/ x\d+.*$| -> BUSY$/, "") : functionOf(k.label);
    return { t: threads.indexOf(k.thread), label: k.label, fn, src: sourceOf(fn), from: k.raw[0]!, to: k.raw[k.raw.length - 1]!, seamcall };
  });

  const v = (meta.property ? res.violations.find((x) => x.property === meta.property) : undefined) ?? res.violations[0];
  let violation: TraceViolation | null = null;
  if (v) {
    const info = meta.describe?.(v.property) ?? { description: "", source: "" };
    // The step that revealed it: the last step of the counterexample (a counterexample ends where its violation is detected).
    violation = { property: v.property, message: v.message, description: info.description, source: info.source, step: v.steps.length - 1 };
  }
  const fd = tsteps.findIndex((s) => s.div.length > 0);
  return {
    format: "tdxmc-trace",
    formatVersion: 1,
    title: meta.title,
    threads,
    provenance: meta.provenance,
    replay: meta.replay,
    geometry: model ? { levels, fanout: fan } : null,
    vars,
    initial,
    entries,
    init: statusAt(0),
    steps: tsteps,
    rows,
    violation,
    cycleStart: v?.cycleStart ?? null,
    firstDivergence: fd >= 0 ? fd : null,
  };
}
