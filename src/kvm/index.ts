// The KVM model's public interface: built-in scenarios, presets, switches, and the program builder.
//
//   SCENARIOS                      name → Scenario (built-ins)
//   PRESETS, SWITCHES              the protocol presets and the switches they set (protocol.ts)
//   buildProgram(scenario, preset?, overrides?) → Program   (default preset "upstream-7.2")
//   checkScenario(scenario, preset, opts?) → CheckResult    explore + witnesses + expected verdict
//   kvmSteps(counterexample)       the KVM-level steps: each SEAMCALL's module steps folded into one row
import { explore, minimize, type Counterexample, type ExploreResult, type StepRecord, type StrategyOptions } from "../engine/index.js";
import { PROP } from "./context.js";
import { buildProgram, type Expect, type Scenario } from "./scenario.js";

export { SCENARIOS } from "./scenarios.js";
export { ABLATIONS, ABLATION_PRESET, CANNOT_MATTER, NO_VERDICT_CHANGE, noVerdictChangeReason, cannotMatterReason, type Ablation } from "./ablations.js";
export { PRESETS, SWITCHES, DEFAULT_PRESET, resolveProtocol, Protocol, type Preset, type Switch, type SwitchValue } from "./protocol.js";
export { buildProgram, buildProgramWithModel, agreementMessage, type BuildOptions, type BuiltModel, type Scenario, type ThreadDecl, type Expect } from "./scenario.js";
export { PROP, KVM_PROPERTY_NAMES } from "./context.js";
export { symmetryGenerators, type SymmetryDecl } from "./symmetry.js";
export { DEFAULT_GEOMETRY, type Geometry } from "./geometry.js";
export type { GuestAction } from "./vcpu.js";

/** Every property the KVM model can report (beyond the engine's deadlock / livelock / assertion). */
export const KVM_PROPERTIES: readonly string[] = [...Object.values(PROP), "deadlock", "livelock"];

export interface CheckResult {
  scenario: string;
  preset: string;
  result: ExploreResult;
  /** Witness label substrings never reached (a verification that misses one does not count). */
  missingWitnesses: string[];
  /** verified | violated:<property> | incomplete | vacuous (verified with witnesses missing). */
  verdict: string;
  expected?: string;
  /** The observed verdict matches the expected one (undefined if no expectation). */
  ok?: boolean;
  /** The (minimized) counterexample of the expected property, if any. */
  counterexample?: Counterexample;
}

function expectString(e: Expect | undefined): string | undefined {
  if (e === undefined) return undefined;
  return e === "verified" ? "verified" : `violated:${e.violated}`;
}

/**
 * Explore `scenario` under `preset` and compare with its expected verdict. When a violation of a
 * property is expected, only that property is checked (and its counterexample is minimized);
 * otherwise every property the scenario selects is checked and the witnesses must be reached.
 */
export function checkScenario(
  scenario: Scenario,
  preset: string,
  opts: StrategyOptions & { overrides?: Record<string, string>; minimize?: boolean; inject?: string[] } = {},
): CheckResult {
  if (opts.inject) scenario = { ...scenario, inject: opts.inject };
  const program = buildProgram(scenario, preset, opts.overrides ?? {});
  const exp = scenario.expected[preset];
  const expectedProp = exp !== undefined && exp !== "verified" && !opts.overrides ? exp.violated : undefined;
  const properties = opts.properties ?? (expectedProp ? [expectedProp] : scenario.properties);
  const result = explore(program, { ...opts, strategy: opts.strategy ?? scenario.strategy ?? "cache", properties });
  const cov = result.coverage;
  const missingWitnesses = (scenario.witnesses ?? []).filter((w) => !cov.some((l) => l.includes(w)));
  let verdict: string;
  let counterexample: Counterexample | undefined;
  if (result.verdict === "violated") {
    counterexample = result.violations[0]!;
    verdict = `violated:${counterexample.property}`;
    if (opts.minimize !== false) counterexample = minimize(program, counterexample, { properties, ...(opts.fusion === false ? { fusion: false } : {}) });
  } else if (result.verdict === "verified") verdict = missingWitnesses.length ? "vacuous" : "verified";
  else verdict = result.verdict;
  const expected = opts.overrides ? undefined : expectString(exp);
  const out: CheckResult = { scenario: scenario.name, preset, result, missingWitnesses, verdict };
  if (expected !== undefined) {
    out.expected = expected;
    out.ok = expected === verdict;
  }
  if (counterexample) out.counterexample = counterexample;
  return out;
}

/** Module (TDX) step labels start with the leaf's function name. */
const MODULE_STEP = /^(tdh_|tdg_|td_exit|td_ept_violation|guest walk|tdx_td_dispatcher)/;

export interface KvmStep {
  thread: string;
  /** The KVM step's label, or "SEAMCALL <leaf>" for a folded run of module steps. */
  label: string;
  /** Indices (0-based) of the raw steps this row stands for. */
  raw: number[];
}

/** The KVM-level steps of a counterexample: consecutive module steps of one thread and leaf fold into one row. */
export function kvmSteps(steps: readonly StepRecord[]): KvmStep[] {
  const out: KvmStep[] = [];
  for (const s of steps) {
    if (MODULE_STEP.test(s.label)) {
      const leaf = s.label.split(":")[0]!.trim();
      const last = out[out.length - 1];
      if (last && last.thread === s.threadName && last.label === `SEAMCALL ${leaf}`) {
        last.raw.push(s.index);
        continue;
      }
      out.push({ thread: s.threadName, label: `SEAMCALL ${leaf}`, raw: [s.index] });
    } else out.push({ thread: s.threadName, label: s.label, raw: [s.index] });
  }
  return out;
}

/** A folded step table (one column per thread). */
export function formatKvmSteps(threadNames: readonly string[], rows: readonly KvmStep[]): string {
  const w = threadNames.map((n) => Math.max(n.length, ...rows.filter((r) => r.thread === n).map((r) => r.label.length)));
  const line = (i: string, cols: string[]) => `${i.padStart(3)} | ${cols.map((c, j) => c.padEnd(w[j]!)).join(" | ")}`.trimEnd();
  const out = [line("#", [...threadNames]), `----+-${w.map((x) => "-".repeat(x)).join("-+-")}`];
  rows.forEach((r, i) => out.push(line(String(i + 1), threadNames.map((n) => (n === r.thread ? r.label : "")))));
  return out.join("\n");
}
