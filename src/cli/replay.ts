// `tdxmc replay FILE|STRING`: re-run a counterexample and print its step table (--explain: what
// each step models and what it did to the mirror and the S-EPT).
import { existsSync, readFileSync } from "node:fs";
import { formatStepTable, parseSchedule, replay, ReplayDivergence, ScheduleSyntaxError, type ReplayResult } from "../engine/index.js";
import { DEFAULT_GEOMETRY, DEFAULT_PRESET, kvmSteps, PRESETS, type Scenario } from "../kvm/index.js";
import { cellFingerprint, cellProgram, type CellSpec } from "./cell.js";
import { EXIT, UsageError } from "./errors.js";
import { FORMAT_VERSION, jsonHeader } from "./provenance.js";
import { CEX_FORMAT, expandSchedule, parseReplayRef, type CounterexampleFile } from "./replayspec.js";
import { formatItf } from "./itf.js";
import { formatExplain, formatKvmTable } from "./steptable.js";
import { parseModuleVersion, parsePresets, parseSets, resolveTarget } from "./targets.js";
import { replayString, replayTrace, type ReplayResolver } from "./view.js";

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
}

export interface Resolved {
  spec: CellSpec;
  label: string;
  schedule: string;
  /** Fingerprint recorded with the counterexample (none for TARGET SCHEDULE). */
  recorded?: string;
  /** Property the counterexample file records. */
  property?: string;
}

const opts0 = { strategy: "dpor" as const };

function specFor(target: string, preset: string | undefined, overrides: Record<string, string>, moduleVersion: string | undefined): { spec: CellSpec; label: string } {
  const t = resolveTarget(target);
  if (t.kind === "demo") return { spec: { kind: "demo", demo: t.name, opts: opts0 }, label: `demo:${t.name}` };
  const p = preset ?? t.file?.presets?.[0] ?? DEFAULT_PRESET;
  if (!PRESETS[p]) throw new UsageError(`replay: unknown preset '${p}' (presets: ${Object.keys(PRESETS).join(", ")})`);
  parseSets(Object.entries(overrides).map(([k, v]) => `${k}=${v}`));
  const mv = parseModuleVersion(moduleVersion);
  const sc: Scenario = mv ? { ...t.scenario, module: { ...(t.scenario.module ?? {}), version: mv as NonNullable<Scenario["module"]>["version"] } } : t.scenario;
  return { spec: { kind: "scenario", scenario: sc, builtin: t.builtin, source: t.source, preset: p, overrides, opts: opts0 }, label: `${t.name} on ${p}` };
}

function fromFile(path: string): Resolved {
  let f: CounterexampleFile;
  try {
    f = JSON.parse(readFileSync(path, "utf8")) as CounterexampleFile;
  } catch (e) {
    throw new UsageError(`${path}: not a tdxmc counterexample file (${e instanceof SyntaxError ? "not JSON" : ((e as NodeJS.ErrnoException).code ?? (e as Error).message)})`);
  }
  if (f === null || typeof f !== "object" || f.format !== CEX_FORMAT) throw new UsageError(`${path}: not a tdxmc counterexample file (no "format": "${CEX_FORMAT}")`);
  if (f.formatVersion !== FORMAT_VERSION) throw new UsageError(`${path}: counterexample format version ${String(f.formatVersion)}; this tdxmc reads version ${FORMAT_VERSION}`);
  if (typeof f.schedule !== "string" || !f.provenance || typeof f.provenance.fingerprint !== "string") throw new UsageError(`${path}: counterexample file without schedule or provenance`);
  if (f.demo !== undefined) {
    const { spec, label } = specFor(`demo:${f.demo}`, undefined, {}, undefined);
    return { spec, label, schedule: f.schedule, recorded: f.provenance.fingerprint, property: f.property };
  }
  if (!f.scenario || typeof f.scenario !== "object" || !f.provenance.preset) throw new UsageError(`${path}: counterexample file without its scenario definition`);
  const preset = f.provenance.preset;
  if (!PRESETS[preset]) throw new UsageError(`${path}: unknown preset '${preset}' (presets: ${Object.keys(PRESETS).join(", ")})`);
  const overrides = f.provenance.overrides ?? {};
  parseSets(Object.entries(overrides).map(([k, v]) => `${k}=${v}`));
  return {
    spec: { kind: "scenario", scenario: f.scenario, builtin: false, source: path, preset, overrides, opts: opts0 },
    label: `${f.scenario.name} on ${preset}`,
    schedule: f.schedule,
    recorded: f.provenance.fingerprint,
    property: f.property,
  };
}

export function resolve(args: string[], o: ReplayOptions): Resolved {
  if (args.length === 2) {
    const presets = parsePresets(o.protocol);
    if (presets && presets.length > 1) throw new UsageError(`replay: --protocol takes one preset`);
    const { spec, label } = specFor(args[0]!, presets?.[0], parseSets(o.set), o.moduleVersion);
    return { spec, label, schedule: expandSchedule(args[1]!) };
  }
  const a = args[0]!;
  if (existsSync(a) && !/:(v1|z1):/.test(a)) return fromFile(a);
  const r = parseReplayRef(a);
  const { spec, label } = specFor(r.target, r.preset, r.overrides, r.moduleVersion);
  return { spec, label, schedule: r.schedule, recorded: r.fingerprint };
}

/** What `tdxmc view` shows: a FILE or replay string resolved and checked as `replay` does. */
export function resolveForView(arg: string): ReturnType<ReplayResolver> {
  const r = resolve([arg], {});
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
  let program;
  try {
    program = cellProgram(r.spec);
  } catch (e) {
    throw new UsageError(`replay: ${(e as Error).message.split("\n")[0]}`);
  }
  const fp = cellFingerprint(r.spec, program);
  if (r.recorded !== undefined && r.recorded !== fp)
    throw new UsageError(`replay: the counterexample was recorded against another model or scenario (fingerprint ${r.recorded}; ${r.label} here is ${fp})`);
  let res: ReplayResult;
  try {
    res = replay(program, parseSchedule(r.schedule), r.property ? [r.property] : undefined);
  } catch (e) {
    if (e instanceof ScheduleSyntaxError || e instanceof ReplayDivergence) throw new UsageError(`replay: ${e.message}`);
    throw e;
  }
  const code = res.violations.length > 0 ? EXIT.violation : EXIT.ok;
  if (o.format === "itf") {
    out(formatItf(replayTrace(r.spec, r.label, r.schedule, fp, r.property, replayString(args, r, fp))));
    return code;
  }
  const reproduced = r.property === undefined ? null : res.violations.some((v) => v.property === r.property);
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
  if (reproduced === false) lines.push(`the recorded violation (${r.property}) did not happen`);
  out(lines.join("\n") + "\n");
  return code;
}
