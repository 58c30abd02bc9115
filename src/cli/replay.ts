// `tdxmc replay`: re-run a schedule and print its step table.
import { formatStepTable, parseSchedule, replay, ReplayDivergence, ScheduleSyntaxError } from "../engine/index.js";
import { DEMOS } from "./demo.js";
import { EXIT, UsageError } from "./errors.js";

export function runReplay(target: string, schedule: string, out: (s: string) => void): number {
  const t = DEMOS.find((d) => d.name === target);
  if (!t) throw new UsageError(`unknown target '${target}' (built-in: ${DEMOS.map((d) => d.name).join(", ")})`);
  let r;
  try {
    const p = t.make();
    r = replay(p, parseSchedule(schedule));
    const cyc = r.violations.find((v) => v.cycleStart !== undefined)?.cycleStart;
    out(formatStepTable(p.threads.map((x) => x.name), r.steps, cyc !== undefined ? { cycleStart: cyc } : {}) + "\n");
  } catch (e) {
    if (e instanceof ScheduleSyntaxError || e instanceof ReplayDivergence) throw new UsageError(`replay: ${e.message}`);
    throw e;
  }
  if (r.violations.length === 0) {
    out(`\nno violation (execution ended: ${r.end})\n`);
    return EXIT.ok;
  }
  for (const v of r.violations) out(`\nviolated: ${v.property} — ${v.message}\n`);
  return EXIT.violation;
}
