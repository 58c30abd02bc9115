// `tdxmc replay FILE|STRING`: re-run a counterexample and print its step table (--explain: what
// each step models and what it did to the mirror and the S-EPT).
import { existsSync, statSync } from "node:fs";
import { formatStepTable, parseSchedule, replay, ReplayDivergence, ScheduleSyntaxError, type ReplayResult } from "../engine/index.js";
import { DEFAULT_GEOMETRY, DEFAULT_PRESET, kvmSteps, PRESETS, type Scenario } from "../kvm/index.js";
import { DEFAULT_BUDGETS } from "./budgets.js";
import { hasOwn, quote, readInput, safeText, suggest } from "./safe-input.js";
import { displayName, parseScenarioText } from "./scenario-file.js";
import { cellFingerprint, cellProgram, type CellSpec } from "./cell.js";
import { EXIT, UsageError } from "./errors.js";
import { FORMAT_VERSION, jsonHeader } from "./provenance.js";
import { CEX_FORMAT, expandSchedule, parseReplayRef, type CounterexampleFile } from "./replayspec.js";
import { formatItf } from "./itf.js";
import { formatExplain, formatKvmTable } from "./steptable.js";
import { parseModuleVersion, parsePresets, parseSets, resolveTarget } from "./targets.js";
import { replayString, replayTrace, type ReplayResolver } from "./view.js";
import { resolveSim, runResimulate, type SimReplay } from "./simreplay.js";

export interface ReplayOptions {
  explain?: boolean;
  expand?: boolean;
  raw?: boolean;
  json?: boolean;
  protocol?: string;
  set?: string[];
  moduleVersion?: string;
  /** itf: the Informal Trace Format (Apalache ADR-015) instead of the step table. */
  format?: string;
  maxSteps?: number;
  /** A simulation's finding: re-run the simulation from its seed instead of following the schedule. */
  resimulate?: boolean;
}

export interface Resolved {
  spec: CellSpec;
  label: string;
  schedule: string;
  /** Fingerprint recorded with the counterexample (none for TARGET SCHEDULE). */
  recorded?: string;
  /** Property the counterexample file records. */
  property?: string;
  /** Steps the counterexample file records. */
  steps?: number;
  /** A simulation's finding (src/cli/simreplay.ts). */
  sim?: SimReplay;
}

const opts0 = { strategy: "dpor" as const };

/**
 * `where` names what the user gave: one place for a replay string or file, or, for TARGET
 * SCHEDULE, the option each value came from (--protocol, --set, --module-version).
 */
function specFor(target: string, preset: string | undefined, overrides: Record<string, string>, moduleVersion: string | undefined, where: string | { preset: string; set: string; moduleVersion: string }): { spec: CellSpec; label: string } {
  const w = typeof where === "string" ? { preset: where, set: where, moduleVersion: where } : where;
  const t = resolveTarget(target);
  if (t.kind === "demo") return { spec: { kind: "demo", demo: t.name, opts: opts0 }, label: `demo:${t.name}` };
  const p = preset ?? t.file?.presets?.[0] ?? DEFAULT_PRESET;
  if (!hasOwn(PRESETS, p)) throw new UsageError(`replay: ${w.preset}: unknown preset ${quote(p)}${suggest(p, Object.keys(PRESETS))} (presets: ${Object.keys(PRESETS).join(", ")})`);
  parseSets(Object.entries(overrides).map(([k, v]) => `${k}=${v}`), `replay: ${w.set}`);
  const mv = parseModuleVersion(moduleVersion, `replay: ${w.moduleVersion}`);
  const sc: Scenario = mv ? { ...t.scenario, module: { ...(t.scenario.module ?? {}), version: mv as NonNullable<Scenario["module"]>["version"] } } : t.scenario;
  return { spec: { kind: "scenario", scenario: sc, builtin: t.builtin, source: t.source, preset: p, overrides, opts: opts0 }, label: `${t.name} on ${p}` };
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function fromFile(path: string, maxSteps: number, resimulate = false): Resolved {
  const name = displayName(path);
  let f: CounterexampleFile;
  const text = readInput(path, "counterexample file");
  try {
    f = JSON.parse(text) as CounterexampleFile;
  } catch {
    throw new UsageError(`${name}: not a tdxmc counterexample file (not JSON)`);
  }
  if (!isObj(f) || f.format !== CEX_FORMAT) throw new UsageError(`${name}: not a tdxmc counterexample file (no "format": "${CEX_FORMAT}")`);
  if (f.formatVersion !== FORMAT_VERSION) throw new UsageError(`${name}: counterexample format version ${quote(String(f.formatVersion), 20)}; this tdxmc reads version ${FORMAT_VERSION}`);
  if (typeof f.schedule !== "string" || !isObj(f.provenance) || typeof f.provenance.fingerprint !== "string") throw new UsageError(`${name}: counterexample file without schedule or provenance`);
  if (typeof f.property !== "string") throw new UsageError(`${name}: counterexample file without its property`);
  if (f.simulation !== undefined) return fromSimFile(f, path, name, maxSteps, resimulate);
  if (resimulate) throw new UsageError(`${name}: --resimulate applies to a simulation's finding (tdxmc simulate); this is a checker counterexample`);
  const schedule = expandSchedule(f.schedule, maxSteps, `${name}: the schedule`);
  const steps = typeof f.steps === "number" ? f.steps : undefined;
  if (f.demo !== undefined) {
    if (typeof f.demo !== "string") throw new UsageError(`${name}: "demo" is not a name`);
    const { spec, label } = specFor(`demo:${f.demo}`, undefined, {}, undefined, name);
    return { spec, label, schedule, recorded: f.provenance.fingerprint, property: f.property, ...(steps !== undefined ? { steps } : {}) };
  }
  if (!isObj(f.scenario) || typeof f.provenance.preset !== "string") throw new UsageError(`${name}: counterexample file without its scenario definition`);
  const preset = f.provenance.preset;
  if (!hasOwn(PRESETS, preset)) throw new UsageError(`${name}: unknown preset ${quote(preset)} (presets: ${Object.keys(PRESETS).join(", ")})`);
  const overrides = isObj(f.provenance.overrides) ? (f.provenance.overrides as Record<string, string>) : {};
  parseSets(Object.entries(overrides).map(([k, v]) => `${k}=${String(v)}`), name);
  // The scenario inside the file goes through the one validator, like any scenario file.
  const checked = parseScenarioText(JSON.stringify(f.scenario), `${name} (its scenario)`);
  if (checked.problems.length > 0) throw new UsageError(`${checked.problems[0]!.file}: ${checked.problems[0]!.message}`);
  return {
    // As recorded (the fingerprint covers it), now that it is known to be a valid scenario.
    spec: { kind: "scenario", scenario: f.scenario as unknown as Scenario, builtin: false, source: path, preset, overrides, opts: opts0 },
    label: `${safeText(f.scenario.name as string)} on ${preset}`,
    schedule,
    recorded: f.provenance.fingerprint,
    property: f.property,
    ...(steps !== undefined ? { steps } : {}),
  };
}

/**
 * A simulation's finding: its program rebuilt as simulated (pools, threads, at size), followed by the
 * engine's replay when it can, else re-simulated (src/cli/simreplay.ts).
 */
function fromSimFile(f: CounterexampleFile, path: string, name: string, maxSteps: number, resimulate: boolean): Resolved {
  const sim = resolveSim(f as unknown as Record<string, unknown>, name, resimulate);
  const rec = sim.record;
  const what = rec.workload ? `${rec.workload.kind} ${rec.workload.vcpus} vCPUs ${rec.workload.pages} pages${rec.literal ? " at size" : ""}` : safeText(sim.scenario.name);
  return {
    spec: { kind: "scenario", scenario: sim.scenario, builtin: false, source: path, preset: rec.preset, overrides: rec.overrides, opts: opts0, build: { simulation: true, lazyTables: rec.literal } },
    label: `simulation ${what} on ${rec.preset}${Object.keys(rec.overrides).length ? "+" + Object.entries(rec.overrides).map(([k, v]) => `${k}=${v}`).join(",") : ""}`,
    // The recorded steps are the finding's: the schedule is as long as the run was up to it.
    schedule: sim.mode === "engine" ? expandSchedule(f.schedule, Math.max(maxSteps, rec.step), `${name}: the schedule`) : "",
    recorded: f.provenance.fingerprint,
    property: f.property,
    steps: rec.step,
    sim,
  };
}

function isRegularFile(a: string): boolean {
  try {
    return statSync(a).isFile();
  } catch {
    return false;
  }
}

export function resolve(args: string[], o: ReplayOptions): Resolved {
  const maxSteps = o.maxSteps ?? DEFAULT_BUDGETS.maxSteps;
  if (args.length === 2) {
    const presets = parsePresets(o.protocol);
    if (presets && presets.length > 1) throw new UsageError(`replay: --protocol takes one preset`);
    const { spec, label } = specFor(args[0]!, presets?.[0], parseSets(o.set), o.moduleVersion, { preset: "option --protocol", set: "option --set", moduleVersion: "option --module-version" });
    return { spec, label, schedule: expandSchedule(args[1]!, maxSteps, "the SCHEDULE argument") };
  }
  // A file or a replay string carries its preset, switches and module version: options that would
  // change them conflict with it.
  const given = [o.protocol !== undefined ? "--protocol" : "", o.set !== undefined ? "--set" : "", o.moduleVersion !== undefined ? "--module-version" : ""].filter(Boolean);
  if (given.length) throw new UsageError(`replay: ${given.join(", ")} only go with TARGET SCHEDULE; a counterexample file or replay string records its own preset, switches and module version`);
  const a = args[0]!;
  const isString = /:(v1|v2|z1|z2):/.test(a);
  if ((a === "-" || isRegularFile(a)) && !isString) return fromFile(a, maxSteps, o.resimulate === true);
  if (o.resimulate) throw new UsageError(`replay: --resimulate applies to a simulation's finding file (tdxmc simulate), not to a replay string`);
  // Not a replay string, and something that exists or reads as a path (a directory, a device, a
  // missing file): say what is wrong with that file, not that it is no replay string.
  if (!isString && (existsSync(a) || a.includes("/") || /\.json$/i.test(a))) readInput(a, "counterexample file");
  const r = parseReplayRef(a, maxSteps);
  const { spec, label } = specFor(r.target, r.preset, r.overrides, r.moduleVersion, "the replay string");
  return { spec, label, schedule: r.schedule, recorded: r.fingerprint };
}

/** What `tdxmc view` shows: a FILE or replay string resolved and checked as `replay` does. */
export function resolveForView(arg: string): ReturnType<ReplayResolver> {
  let r: Resolved;
  try {
    r = resolve([arg], {});
  } catch (e) {
    // The shared resolver speaks as `replay`; here the user ran `view`.
    if (e instanceof UsageError) throw new UsageError(`view: ${e.message.replace(/^replay: /, "")}`);
    throw e;
  }
  if (r.sim?.mode === "resimulate") throw new UsageError(`view: the viewer follows the engine's replay; this simulation's finding is re-simulated (${r.sim.why}): tdxmc replay ${arg}`);
  let program;
  try {
    program = cellProgram(r.spec);
  } catch (e) {
    throw new UsageError(`view: ${(e as Error).message.split("\n")[0]}`);
  }
  const fp = cellFingerprint(r.spec, program);
  if (r.recorded !== undefined && r.recorded !== fp)
    throw new UsageError(`view: the counterexample was recorded against another model or scenario (fingerprint ${r.recorded}; ${r.label} here is ${fp})`);
  try {
    replay(program, parseSchedule(r.schedule), r.property ? [r.property] : undefined);
  } catch (e) {
    if (e instanceof ScheduleSyntaxError || e instanceof ReplayDivergence) throw new UsageError(`view: ${e.message}`);
    throw e;
  }
  return { spec: r.spec, label: r.label, schedule: r.schedule, fingerprint: fp, ...(r.property ? { property: r.property } : {}), replay: replayString([arg], r, fp) };
}

export function runReplay(args: string[], o: ReplayOptions, out: (s: string) => void): number {
  if (args.length === 0 || args.length > 2) throw new UsageError(`replay: expects FILE, a replay string, or TARGET SCHEDULE`);
  const r = resolve(args, o);
  if (r.sim?.mode === "resimulate") return runResimulate(r.sim, r.label, r.property, r.recorded!, o, out);
  let program;
  try {
    program = cellProgram(r.spec);
  } catch (e) {
    throw new UsageError(`replay: ${safeText((e as Error).message.split("\n")[0]!)}`);
  }
  const fp = cellFingerprint(r.spec, program);
  if (r.recorded !== undefined && r.recorded !== fp)
    throw new UsageError(`replay: the counterexample was recorded against another model or scenario (fingerprint ${r.recorded}; ${r.label} here is ${fp})`);
  let res: ReplayResult;
  try {
    res = replay(program, parseSchedule(r.schedule), r.property ? [r.property] : undefined);
  } catch (e) {
    if (e instanceof ScheduleSyntaxError || e instanceof ReplayDivergence) throw new UsageError(`replay: ${safeText(e.message)}`);
    throw e;
  }
  // A counterexample cut short: the schedule ends before the execution does and before any
  // violation. That is not "no violation" (exit 0): it is a counterexample that proves nothing.
  if (res.violations.length === 0 && res.end === "picker-stop") {
    const n = res.steps.length;
    throw new UsageError(`replay: schedule ended after ${n}${r.steps !== undefined && r.steps > n ? ` of ${r.steps}` : ""} steps, before the violation${r.property ? ` (${r.property})` : ""}: the counterexample is truncated`);
  }
  const code = res.violations.length > 0 ? EXIT.violation : EXIT.ok;
  if (o.format === "itf") {
    out(formatItf(replayTrace(r.spec, r.label, r.schedule, fp, r.property, replayString(args, r, fp))));
    return code;
  }
  // A simulation's finding is reproduced at the step it was found at (its schedule runs to it).
  const hit = r.property === undefined ? undefined : res.violations.find((v) => v.property === r.property);
  const reproduced = r.property === undefined ? null : hit !== undefined && (r.sim === undefined || hit.steps.length === r.sim.record.step);
  if (o.json) {
    out(
      JSON.stringify(
        {
          ...jsonHeader("replay"),
          target: r.label,
          fingerprint: fp,
          schedule: r.schedule,
          end: res.end,
          recordedProperty: r.property ?? null,
          reproduced,
          ...(r.sim ? { mode: "engine", recordedStep: r.sim.record.step, step: hit?.steps.length ?? null } : {}),
          violations: res.violations.map((v) => ({ property: v.property, message: v.message, ...(v.cycleStart !== undefined ? { cycleStart: v.cycleStart } : {}) })),
          steps: res.steps,
          ...(r.spec.kind === "scenario" ? { kvmSteps: kvmSteps(res.steps) } : {}),
          exitCode: code,
        },
        null,
        2,
      ) + "\n",
    );
    return code;
  }
  const cyc = res.violations.find((v) => v.cycleStart !== undefined)?.cycleStart;
  const lines: string[] = [];
  lines.push(`replay: ${r.label}, ${res.steps.length} steps${r.recorded ? `, fingerprint ${fp} (matches)` : ""}`, "");
  if (r.spec.kind === "demo") lines.push(formatStepTable(program.threads.map((t) => t.name), res.steps, cyc !== undefined ? { cycleStart: cyc } : {}));
  else {
    const g = r.spec.scenario.geometry ?? DEFAULT_GEOMETRY;
    const to = { fanout: g.fanout, levels: g.levels, message: res.violations.map((v) => v.message).join("; "), ...(cyc !== undefined ? { cycleStart: cyc } : {}), ...(o.expand ? { expand: true } : {}), ...(o.raw ? { raw: true } : {}) };
    lines.push(formatKvmTable(program, res.steps, to));
    if (o.explain) lines.push("", "What each step models and does:", "", formatExplain(program, res.steps, to));
  }
  if (r.spec.kind === "demo" && o.explain) lines.push("", "(--explain describes KVM scenarios; demo steps are described in the table)");
  lines.push("");
  if (res.violations.length === 0) lines.push(`no violation (execution ended: ${res.end})`);
  for (const v of res.violations) lines.push(`violated: ${v.property} — ${v.message}`);
  if (reproduced === false) lines.push(`the recorded violation (${r.property}${r.sim ? ` at step ${r.sim.record.step}` : ""}) did not happen${hit ? ` (it happened at step ${hit.steps.length})` : ""}`);
  // Control characters from scenario files never reach the terminal raw.
  out(lines.join("\n").split("\n").map(safeText).join("\n") + "\n");
  return code;
}
