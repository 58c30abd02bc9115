// ITF renderer of the trace data layer: the Informal Trace Format of Apalache and Quint (Apalache
// ADR-015, "Informal Trace Format in JSON"), so that their trace viewers open tdxmc traces.
// One ITF state per tdxmc state: the initial state, then the state after every step. Variables:
// the step number, the thread and action of the step that led to the state, and one map per
// state-panel group (entry or object name -> value as tdxmc prints it), plus the entries with a
// window open, and those that disagree (divergent: no window open; transient: inside one).
// A livelock's trace is a lasso: "loop" is the index of the state the last state returns to.
import type { TraceData, VarGroup } from "../trace/types.js";

export const ITF_FORMAT_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html";

type ItfValue = boolean | string | number | ItfValue[] | { [k: string]: ItfValue };

const GROUPS: [VarGroup, string][] = [
  ["mirror", "mirror"],
  ["sept", "sept"],
  ["lock", "locks"],
  ["vcpu", "vcpus"],
  ["page", "pages"],
  ["pamt", "pamt"],
  ["kvm", "kvm"],
  ["module", "module"],
];

export function toItf(t: TraceData): Record<string, unknown> {
  const groups = GROUPS.filter(([g]) => t.vars.some((v) => v.group === g));
  const vars = ["step", "thread", "action", ...groups.map(([, n]) => n), ...(t.entries.length ? ["windows", "divergent", "transient"] : [])];
  const entryName = (i: number): string => `L${t.entries[i]!.level} gfn ${t.entries[i]!.gfn}`;
  const keyOf = (name: string, g: VarGroup): string => (g === "mirror" || g === "sept" ? name.replace(/^(mirror|S-EPT) /, "") : name);
  const cur = t.initial.slice();
  const states: Record<string, ItfValue>[] = [];
  const push = (k: number): void => {
    const s: Record<string, ItfValue> = { "#meta": { index: k + 1 }, step: k + 1 };
    const st = k < 0 ? null : t.steps[k]!;
    s.thread = st ? t.threads[st.t]! : "";
    s.action = st ? st.label : "init";
    for (const [g, n] of groups) s[n] = { "#map": t.vars.flatMap((v, j) => (v.group === g ? [[keyOf(v.name, g), cur[j]!]] : [])) };
    if (t.entries.length) {
      const status = st ?? t.init;
      s.windows = { "#set": status.win.map(entryName) };
      s.divergent = { "#set": status.div.map(entryName) };
      s.transient = { "#set": status.tr.map(entryName) };
    }
    states.push(s);
  };
  push(-1);
  t.steps.forEach((s, k) => {
    for (const [j, v] of s.d) cur[j] = v;
    push(k);
  });
  states.forEach((s, i) => ((s["#meta"] as Record<string, ItfValue>).index = i));
  const p = t.provenance;
  const meta: Record<string, ItfValue> = {
    format: "ITF",
    "format-description": ITF_FORMAT_DESCRIPTION,
    source: t.replay ?? t.title,
    description: `tdxmc trace: ${t.title}${t.violation ? `; violated ${t.violation.property}: ${t.violation.message}` : ""}`,
  };
  if (p) meta["tdxmc"] = { version: p.tdxmc, scenario: p.scenario, preset: p.preset ?? "", moduleVersion: p.moduleVersion ?? "", fingerprint: p.fingerprint, overrides: { "#map": Object.entries(p.overrides) } };
  if (t.violation) meta["violation"] = { property: t.violation.property, message: t.violation.message, state: t.violation.step + 1 };
  const out: Record<string, unknown> = { "#meta": meta, vars, states };
  if (t.cycleStart !== null) out["loop"] = t.cycleStart;
  return out;
}

export function formatItf(t: TraceData): string {
  return JSON.stringify(toItf(t), null, 1) + "\n";
}
