// What the command line names: built-in scenarios, scenario files, engine demos; presets, switch
// overrides and properties — each checked before anything runs, so that bad input exits 2 with
// nothing half-done.
import { existsSync } from "node:fs";
import { STRATEGIES, type StrategyName } from "../engine/index.js";
import { KVM_PROPERTIES, PRESETS, SCENARIOS, SWITCHES, type Scenario } from "../kvm/index.js";
import { DEMOS } from "./demo.js";
import { UsageError } from "./errors.js";
import { hasOwn, quote, own, suggest } from "./safe-input.js";
import { loadScenarioFile, type ScenarioFile } from "./scenario-file.js";

export type Target =
  | { kind: "scenario"; name: string; scenario: Scenario; builtin: boolean; source: string; file?: ScenarioFile }
  | { kind: "demo"; name: string };

export const PRESET_ORDER = Object.keys(PRESETS);
export const MODULE_VERSIONS = ["1.0", "1.5.16", "1.5.20", "1.5.25"];

function isFileArg(a: string): boolean {
  return a === "-" || /\.ya?ml$/i.test(a) || a.includes("/") || (own(SCENARIOS, a) === undefined && existsSync(a));
}

export function resolveTarget(arg: string): Target {
  if (arg.startsWith("demo:")) {
    const n = arg.slice(5);
    if (!DEMOS.some((d) => d.name === n)) throw new UsageError(`unknown demo ${quote(n)}${suggest(n, DEMOS.map((d) => d.name))} (demos: ${DEMOS.map((d) => d.name).join(", ")})`);
    return { kind: "demo", name: n };
  }
  if (isFileArg(arg)) {
    const f = loadScenarioFile(arg);
    return { kind: "scenario", name: f.scenario.name, scenario: f.scenario, builtin: false, source: arg, file: f };
  }
  const s = own(SCENARIOS, arg);
  if (s) return { kind: "scenario", name: arg, scenario: s, builtin: true, source: "built-in" };
  if (DEMOS.some((d) => d.name === arg)) return { kind: "demo", name: arg };
  throw new UsageError(`unknown scenario ${quote(arg)}${suggest(arg, Object.keys(SCENARIOS))} (built-in: ${Object.keys(SCENARIOS).join(", ")}; or a .yaml file; or demo:NAME)`);
}

export function parsePresets(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(",").map((x) => x.trim()).filter(Boolean);
  if (list.length === 0) throw new UsageError(`option --protocol: empty preset list`);
  for (const p of list) if (own(PRESETS, p) === undefined) throw new UsageError(`option --protocol: unknown preset ${quote(p)}${suggest(p, PRESET_ORDER)} (presets: ${PRESET_ORDER.join(", ")})`);
  return [...new Set(list)];
}

/**
 * --set SWITCH=VALUE (repeatable) → overrides, each switch and value checked. `where` names what
 * the user actually gave ("option --set", "the replay string", a file), never an option not used.
 */
export function parseSets(sets: readonly string[] | undefined, where = "option --set"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sets ?? []) {
    const m = /^([a-z0-9-]{1,64})=([A-Za-z0-9._-]{1,64})$/.exec(s);
    if (!m) throw new UsageError(`${where}: ${quote(s)} is not SWITCH=VALUE`);
    const sw = SWITCHES.find((x) => x.id === m[1]);
    if (!sw) throw new UsageError(`${where}: unknown switch ${quote(m[1])}${suggest(m[1]!, SWITCHES.map((x) => x.id))} (switches: ${SWITCHES.map((x) => x.id).join(", ")})`);
    if (!sw.values.some((v) => v.value === m[2])) throw new UsageError(`${where}: switch '${sw.id}' has no value ${quote(m[2])}${suggest(m[2]!, sw.values.map((v) => v.value))} (values: ${sw.values.map((v) => v.value).join(", ")})`);
    if (hasOwn(out, sw.id) && out[sw.id] !== m[2]) throw new UsageError(`${where}: switch '${sw.id}' is set twice (${out[sw.id]} and ${m[2]})`);
    out[sw.id] = m[2]!;
  }
  return out;
}

export const ALL_PROPERTIES: readonly string[] = [...KVM_PROPERTIES, "assertion"];

export function parseProperties(v: string | undefined, known: readonly string[] = ALL_PROPERTIES): string[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(",").map((x) => x.trim()).filter(Boolean);
  if (list.length === 0) throw new UsageError(`option --properties: empty property list`);
  for (const p of list) if (!known.includes(p)) throw new UsageError(`option --properties: unknown property ${quote(p)}${suggest(p, known)} (properties: ${known.join(", ")})`);
  return [...new Set(list)];
}

export function parseStrategy(v: string | undefined): StrategyName | undefined {
  if (v === undefined) return undefined;
  if (!(STRATEGIES as readonly string[]).includes(v)) throw new UsageError(`option --strategy: unknown strategy ${quote(v)}${suggest(v, STRATEGIES)} (one of ${STRATEGIES.join(", ")})`);
  return v as StrategyName;
}

export function parseModuleVersion(v: string | undefined, where = "option --module-version"): string | undefined {
  if (v === undefined) return undefined;
  if (!MODULE_VERSIONS.includes(v)) throw new UsageError(`${where}: unknown TDX module version ${quote(v)} (one of ${MODULE_VERSIONS.join(", ")})`);
  return v;
}

/** Most worker threads --jobs starts (each is a whole JavaScript heap). */
export const MAX_JOBS = 64;

/**
 * Commander argument parser for an integer option: decimal digits only (no sign, no 0x, no
 * exponent, no fraction), at least `min`, at most `max` (default the largest integer a double
 * holds exactly, 2^53-1), so that a value is never silently rounded.
 */
export function intOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const kind = min > 0 ? "a positive" : "a non-negative";
    if (!/^[0-9]+$/.test(v)) throw new UsageError(`option ${name}: ${quote(v)} is not ${kind} integer (decimal digits only)`);
    const n = Number(v);
    if (n < min) throw new UsageError(`option ${name}: ${quote(v)} is ${min === 1 ? "not a positive integer" : `less than ${min}`}`);
    if (!Number.isSafeInteger(n) || n > max) throw new UsageError(`option ${name}: ${quote(v)} is too large (at most ${max})`);
    return n;
  };
}

export function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}
