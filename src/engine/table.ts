// Generic step table: one column per thread, one row per step.
import type { StepRecord } from "./result.js";

export function describeStep(s: StepRecord): string {
  let txt = `${s.op} ${s.object}`;
  if (s.read !== undefined && s.written !== undefined) txt += ` ${s.read}→${s.written}`;
  else if (s.read !== undefined) txt += ` = ${s.read}`;
  else if (s.written !== undefined) txt += ` := ${s.written}`;
  if (s.choices) txt += ` [choice ${s.choices.join(",")}${s.envFailure ? ": injected failure" : ""}]`;
  return txt;
}

export function formatStepTable(threadNames: readonly string[], steps: readonly StepRecord[], opts: { cycleStart?: number; labels?: boolean } = {}): string {
  const labels = opts.labels ?? true;
  const cells = steps.map((s) => (labels ? `${describeStep(s)}  (${s.label})` : describeStep(s)));
  const widths = threadNames.map((n, t) => Math.max(n.length, ...cells.filter((_, i) => steps[i]!.thread === t).map((c) => c.length)));
  const idxW = Math.max(1, String(steps.length).length);
  const row = (idx: string, cols: string[]): string => `${idx.padStart(idxW)} | ${cols.map((c, t) => c.padEnd(widths[t]!)).join(" | ")}`.trimEnd();
  const out = [row("#", threadNames.slice()), `${"-".repeat(idxW)}-+-${widths.map((w) => "-".repeat(w)).join("-+-")}`];
  steps.forEach((s, i) => {
    if (opts.cycleStart === i) out.push(`${" ".repeat(idxW)} | -- cycle starts here; the steps below repeat forever --`);
    out.push(row(String(i + 1), threadNames.map((_, t) => (t === s.thread ? cells[i]! : ""))));
  });
  return out.join("\n");
}
