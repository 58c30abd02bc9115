// `tdxmc replay` of a simulation's finding (a counterexample file written by `tdxmc simulate`, with a
// `simulation` record: src/sim/record.ts).
//
// The program is rebuilt as the simulation built it (pools sized for the scenario, up to 255
// threads, at size the mirror's tables from a pool: BuildOptions.simulation / lazyTables), from the
// workload point or the scenario the file carries, and its fingerprint must be the recorded one.
// Then, one of:
//  - engine: the recorded schedule is followed by the engine's replay, as for a checker
//    counterexample (step table, --explain, `tdxmc view`, --format itf). For a program the engine's
//    replay can run: at most 30 threads (it keeps thread sets in 31-bit masks), not at size (a
//    pool-mode program runs once, under the timed scheduler only), a schedule written in the file;
//  - re-simulation: the timed simulation is run again from the recorded seed, cost model and
//    budgets (deterministic given them), and must reach the recorded property at the recorded step
//    along the recorded schedule (its digest). For everything else (more than 30 threads, at size,
//    a schedule too long to write), or when asked (--resimulate).
// Either way the same violation at the same step, or it is not reproduced.
import { MAX_THREADS, parseSchedule, ScheduleSyntaxError, type Program } from "../engine/index.js";
import { DEFAULT_BUDGETS } from "./budgets.js";
import { expandSchedule } from "./replayspec.js";
import { buildWorkload, WorkloadError } from "../sim/workloads.js";
import { costsOf, readSimRecord, scheduleDigest, type SimRecord } from "../sim/record.js";
import { simFingerprint, simScenario, simulateBuilt, simProgram } from "../sim/run.js";
import { PRESETS, type Scenario } from "../kvm/index.js";
import { UsageError } from "./errors.js";
import { hasOwn, quote, safeText } from "./safe-input.js";
import { parseScenarioText } from "./scenario-file.js";
import { parseSets } from "./targets.js";
import { jsonHeader } from "./provenance.js";
import { EXIT } from "./errors.js";

/** Longest schedule the engine's replay follows for a simulation's finding (longer ones are re-simulated). */
export const ENGINE_REPLAY_MAX_STEPS = 100_000;

export interface SimReplay {
  record: SimRecord;
  /** The scenario as the simulation ran it (module, injection, zap yields applied). */
  scenario: Scenario;
  /** The scenario before simScenario() (what simProgram() is given). */
  base: Scenario;
  mode: "engine" | "resimulate";
  /** Why the engine's replay does not follow it (mode resimulate). */
  why?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Resolve a finding file's `simulation` record (`name`: the file as the user named it). */
export function resolveSim(f: Record<string, unknown>, name: string, resimulate: boolean): SimReplay {
  const record = readSimRecord(f.simulation, name);
  if (!hasOwn(PRESETS, record.preset)) throw new UsageError(`${name}: unknown preset ${quote(record.preset)} (presets: ${Object.keys(PRESETS).join(", ")})`);
  parseSets(Object.entries(record.overrides).map(([k, v]) => `${k}=${v}`), name);
  const prov = f.provenance as Record<string, unknown>;
  if (prov.preset !== record.preset) throw new UsageError(`${name}: the provenance's preset ${quote(String(prov.preset))} is not the simulation's ${quote(record.preset)}`);
  let base: Scenario;
  if (record.workload !== undefined) {
    try {
      const built = buildWorkload(record.workload, { literal: record.literal });
      if (built.literal !== record.literal || built.scale !== 1) throw new UsageError(`${name}: the workload point ${record.workload.kind} ${record.workload.vcpus} vCPUs ${record.workload.pages} pages is not one a simulation runs as recorded (literal: ${record.literal})`);
      base = built.scenario;
    } catch (e) {
      if (e instanceof WorkloadError) throw new UsageError(`${name}: the simulation's workload: ${e.message}`);
      throw e;
    }
  } else {
    if (!isObj(f.scenario)) throw new UsageError(`${name}: a simulation's finding without its workload point or its scenario`);
    // The scenario inside the file goes through the one validator, like any scenario file.
    const checked = parseScenarioText(JSON.stringify(f.scenario), `${name} (its scenario)`);
    if (checked.problems.length > 0) throw new UsageError(`${checked.problems[0]!.file}: ${checked.problems[0]!.message}`);
    base = f.scenario as unknown as Scenario;
  }
  const scenario = simScenario(base, { ...(record.module ? { module: record.module } : {}), ...(record.zeroStepThreshold !== undefined ? { zeroStepThreshold: record.zeroStepThreshold } : {}), costs: costsOf(record.costs) });
  // The schedule written in the file must be the one the simulation recorded (its digest).
  if (typeof f.schedule === "string" && f.schedule !== "") {
    let digest: string;
    try {
      digest = scheduleDigest(parseSchedule(expandSchedule(f.schedule, Math.max(DEFAULT_BUDGETS.maxSteps, record.step), `${name}: the schedule`)));
    } catch (e) {
      if (e instanceof ScheduleSyntaxError) throw new UsageError(`${name}: the schedule: ${e.message}`);
      throw e;
    }
    if (digest !== record.scheduleDigest) throw new UsageError(`${name}: the schedule is not the one the simulation recorded (digest ${digest}; "simulation.scheduleDigest" is ${record.scheduleDigest})`);
  }
  let why: string | undefined;
  if (resimulate) why = "as asked: --resimulate";
  else if (record.threads > MAX_THREADS) why = `${record.threads} threads; the engine's replay follows at most ${MAX_THREADS}`;
  else if (record.literal) why = "simulated at size; its mirror tables come from a pool, so the program runs once, under the timed scheduler";
  else if (typeof f.schedule !== "string" || f.schedule === "") why = "the file carries no schedule; it was too long to write";
  else if (record.step > ENGINE_REPLAY_MAX_STEPS) why = `${record.step} steps; the engine's replay follows at most ${ENGINE_REPLAY_MAX_STEPS}`;
  // The engine checks every invariant after every step: a run that checked them every n-th step
  // may have found its violation later than the engine would.
  else if (record.invariantStride !== 1) why = `invariants were checked every ${record.invariantStride} steps`;
  return { record, scenario, base, mode: why === undefined ? "engine" : "resimulate", ...(why !== undefined ? { why } : {}) };
}

export interface ResimOptions {
  json?: boolean;
  format?: string;
  explain?: boolean;
  expand?: boolean;
  raw?: boolean;
}

/** Steps of the re-simulation shown before the finding. */
const TAIL = 24;

/**
 * Re-run the simulation of a finding and check it reaches the recorded property at the recorded
 * step along the recorded schedule. Exit 1 when it does (the violation is reproduced), 0 when the
 * run ends without it; a run that diverges from the recorded schedule, or a fingerprint that does
 * not match, is a mismatched input (one line, exit 2).
 */
export function runResimulate(s: SimReplay, label: string, property: string | undefined, recordedFp: string, o: ResimOptions, out: (s: string) => void): number {
  if (o.format === "itf") throw new UsageError(`replay: --format itf follows the engine's replay; this simulation's finding is re-simulated (${s.why})`);
  const rec = s.record;
  let built: { scenario: Scenario; program: Program; pamtPoolPages: number | null };
  const costs = costsOf(rec.costs);
  const opts = {
    preset: rec.preset,
    overrides: rec.overrides,
    costs,
    seed: rec.seed,
    literal: rec.literal,
    maxSteps: rec.maxSteps,
    invariantStride: rec.invariantStride,
    ...(rec.module ? { module: rec.module } : {}),
    ...(rec.zeroStepThreshold !== undefined ? { zeroStepThreshold: rec.zeroStepThreshold } : {}),
    ...(rec.stallSteps !== undefined ? { stallSteps: rec.stallSteps } : {}),
  };
  try {
    built = simProgram(s.base, opts);
  } catch (e) {
    throw new UsageError(`replay: ${safeText((e as Error).message.split("\n")[0]!)}`);
  }
  const fp = simFingerprint(built.program, built.scenario, rec.preset, rec.overrides);
  if (fp !== recordedFp) throw new UsageError(`replay: the finding was recorded against another model or scenario (fingerprint ${recordedFp}; ${label} here is ${fp})`);
  // The last TAIL steps, kept in a ring.
  const ring: { thread: string; label: string; ns: number }[] = [];
  let n = 0;
  // Up to the finding's step (a KVM_BUG_ON or a WARN does not end a run): the step budget is only
  // read between steps, so the run up to it is the recorded one; a finding of the final checks
  // (its step is the run's last) still gets them, as the run ends `done` before the budget is read.
  const r = simulateBuilt(built, rec.point, rec.vcpuThreads, {
    ...opts,
    maxSteps: Math.min(rec.maxSteps, Math.max(1, rec.step)),
    trace: (thread, l, ns) => {
      ring[n++ % TAIL] = { thread, label: l, ns };
    },
  }, rec.workload !== undefined);
  const tail = n <= TAIL ? ring.slice(0, n) : [...ring.slice(n % TAIL), ...ring.slice(0, n % TAIL)];
  const hit = property === undefined ? undefined : r.findings.find((f) => f.property === property);
  if (hit && hit.step === rec.step && hit.sim.scheduleDigest !== rec.scheduleDigest)
    throw new UsageError(`replay: the re-simulation reached ${property} at step ${rec.step} along another schedule (digest ${hit.sim.scheduleDigest}, recorded ${rec.scheduleDigest})`);
  const reproduced = hit !== undefined && hit.step === rec.step;
  const code = r.findings.length > 0 ? EXIT.violation : EXIT.ok;
  const firstTail = n - tail.length;
  if (o.json) {
    out(
      JSON.stringify(
        {
          ...jsonHeader("replay"),
          target: label,
          fingerprint: fp,
          mode: "re-simulated",
          why: s.why,
          seed: rec.seed,
          end: r.end,
          steps: r.steps,
          recordedProperty: property ?? null,
          recordedStep: rec.step,
          reproduced,
          violations: r.findings.map((f) => ({ property: f.property, message: f.message, step: f.step, thread: f.thread })),
          lastSteps: tail.map((t, i) => ({ step: firstTail + i + 1, thread: t.thread, label: t.label, costNs: t.ns })),
          exitCode: code,
        },
        null,
        2,
      ) + "\n",
    );
    return code;
  }
  const lines: string[] = [];
  lines.push(`replay: ${label}, re-simulated (${s.why}): seed ${rec.seed}, ${r.steps} steps, fingerprint ${fp} (matches)`);
  if (o.explain || o.expand || o.raw) lines.push("(--explain, --expand and --raw shape the engine's step table; a re-simulation prints the steps before the finding)");
  lines.push("", `The last ${tail.length} steps:`, "");
  const w = Math.max(6, ...tail.map((t) => t.thread.length));
  lines.push(`${"step".padStart(9)}  ${"thread".padEnd(w)}  label`);
  tail.forEach((t, i) => lines.push(`${String(firstTail + i + 1).padStart(9)}  ${t.thread.padEnd(w)}  ${t.label}`));
  lines.push("");
  if (r.findings.length === 0) lines.push(`no violation (run ended: ${r.end})`);
  for (const f of r.findings) lines.push(`violated: ${f.property} at step ${f.step} — ${f.message}`);
  if (property !== undefined && !reproduced) lines.push(`the recorded violation (${property} at step ${rec.step}) did not happen${hit ? ` (it happened at step ${hit.step})` : ""}`);
  out(lines.join("\n").split("\n").map(safeText).join("\n") + "\n");
  return code;
}
