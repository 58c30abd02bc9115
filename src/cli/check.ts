// `tdxmc check`: explore targets, print a verdict matrix and the minimized counterexamples.
import { explore, formatStepTable, minimize, type Counterexample, type ExploreResult, type StrategyName } from "../engine/index.js";
import { DEMOS, type DemoTarget } from "./demo.js";
import { EXIT, UsageError } from "./errors.js";

export interface CheckOptions {
  strategy?: string;
  preemptions?: number;
  seed?: number;
  maxExecutions?: number;
  maxStates?: number;
  timeLimit?: number;
  allViolations?: boolean;
  json?: boolean;
  timings?: boolean;
}

function verdictOf(r: ExploreResult): string {
  if (r.violations.length > 0) return r.violations.map((v) => v.property).join(",");
  if (r.verdict === "verified") return "verified";
  return r.verdict === "incomplete" ? `incomplete (${r.stopReason})` : "no violation found";
}

export async function runCheck(names: string[], o: CheckOptions, out: (s: string) => void): Promise<number> {
  const targets: DemoTarget[] = names.length === 0 ? DEMOS : names.map((n) => {
    const t = DEMOS.find((d) => d.name === n);
    if (!t) throw new UsageError(`unknown target '${n}' (built-in: ${DEMOS.map((d) => d.name).join(", ")})`);
    return t;
  });
  // Stateful search is the default here: it is sound for every property, livelock included.
  const strategy = (o.strategy ?? "cache") as StrategyName;
  const opts = {
    strategy,
    ...(o.preemptions !== undefined ? { preemptions: o.preemptions } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.maxExecutions !== undefined ? { maxExecutions: o.maxExecutions } : {}),
    ...(o.maxStates !== undefined ? { maxStates: o.maxStates } : {}),
    ...(o.timeLimit !== undefined ? { timeLimitMs: o.timeLimit * 1000 } : {}),
    allViolations: o.allViolations === true,
  };
  const rows: { t: DemoTarget; r: ExploreResult; verdict: string; ok: boolean; cex: Counterexample[] }[] = [];
  let code: number = EXIT.ok;
  for (const t of targets) {
    const p = t.make();
    const r = explore(p, opts);
    const verdict = verdictOf(r);
    const ok = t.expected === "verified" ? r.verdict === "verified" : r.violations.some((v) => v.property === t.expected);
    // A cell stopped by a limit counts as 3; a wrong verdict as 1, which wins over 3.
    if (!ok) code = r.verdict === "incomplete" && r.violations.length === 0 ? (code === EXIT.violation ? code : EXIT.limit) : EXIT.violation;
    const cex = r.violations.map((v) => minimize(p, v));
    rows.push({ t, r, verdict, ok, cex });
  }
  if (o.json) {
    out(JSON.stringify({
      tool: "tdxmc", format: 1, strategy,
      results: rows.map(({ t, r, verdict, ok, cex }) => ({
        target: t.name, expected: t.expected, verdict, asExpected: ok, exhaustive: r.exhaustive, stopReason: r.stopReason ?? null,
        stats: o.timings ? r.stats : { ...r.stats, wallMs: undefined, firstViolationMs: undefined },
        counterexamples: cex,
      })),
    }, null, 2) + "\n");
    return code;
  }
  const w = Math.max(6, ...rows.map((x) => x.t.name.length));
  const vw = Math.max(7, ...rows.map((x) => x.verdict.length));
  out(`tdxmc check — strategy ${strategy}\n\n`);
  out(`${"target".padEnd(w)}  ${"verdict".padEnd(vw)}  expected  executions  states${o.timings ? "   time" : ""}\n`);
  for (const { t, r, verdict, ok } of rows) {
    out(`${t.name.padEnd(w)}  ${verdict.padEnd(vw)}  ${(ok ? "yes" : "NO").padEnd(8)}  ${String(r.stats.executions).padStart(10)}  ${String(r.stats.statesStored).padStart(6)}${o.timings ? `  ${(r.stats.wallMs / 1000).toFixed(2).padStart(5)}s` : ""}\n`);
  }
  for (const { t, cex } of rows) {
    for (const c of cex) {
      const names = t.make().threads.map((x) => x.name);
      out(`\n${t.name}: ${c.property} — ${c.message}\n  ${c.steps.length} steps, ${c.preemptions} preemption(s); replay: tdxmc replay ${t.name} ${c.schedule}\n\n`);
      out(formatStepTable(names, c.steps, c.cycleStart !== undefined ? { cycleStart: c.cycleStart } : {}) + "\n");
    }
  }
  const bad = rows.filter((x) => !x.ok).length;
  out(`\n${rows.length - bad} of ${rows.length} targets have their expected verdict.\n`);
  return code;
}
