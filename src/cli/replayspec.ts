// Replay strings and counterexample files: how a counterexample names what it was recorded against.
//
//   replay string:  TARGET[@PRESET[+SWITCH=VALUE,...][/mVERSION]]:FINGERPRINT:SCHEDULE
//     seed-race@seed:1f2e3d4c5b6a7980:z2:0/18.1x21.0/3x4
//   SCHEDULE is the engine's (v2:..., whose item "T/N" is N model steps of thread T run as one fused
//   step) or the same with runs of one item written ITEMxCOUNT (z2:...). Older strings (v1:, and z1:,
//   the v1 items with ITEMxCOUNT runs) name one model step per item and replay unchanged: replay
//   never fuses, so a schedule means the same whatever fusion recorded it.
//     demo:lost-update:0a1b2c3d4e5f6071:v1:0.1.0.1
//   TARGET is a built-in scenario, a scenario file path, or demo:NAME.
//
//   counterexample file (JSON): { format: "tdxmc-counterexample", formatVersion, provenance,
//     scenario (the scenario definition itself), property, message, preemptions, schedule, replay }
import type { Counterexample } from "../engine/index.js";
import type { Scenario } from "../kvm/index.js";
import { DEFAULT_BUDGETS } from "./budgets.js";
import { UsageError } from "./errors.js";
import { quote } from "./safe-input.js";
import type { Provenance } from "./provenance.js";
import type { SimRecord } from "../sim/record.js";

export interface ReplayRef {
  target: string;
  preset?: string;
  overrides: Record<string, string>;
  moduleVersion?: string;
  fingerprint: string;
  schedule: string;
}

/** v2 (or v1) schedule → z2 (runs of 3 or more equal items as ITEMxCOUNT). */
export function compressSchedule(v: string): string {
  if (!v.startsWith("v1:") && !v.startsWith("v2:")) return v;
  const items = v.slice(3) === "" ? [] : v.slice(3).split(".");
  const out: string[] = [];
  for (let i = 0; i < items.length; ) {
    let j = i;
    while (j + 1 < items.length && items[j + 1] === items[i]) j++;
    const n = j - i + 1;
    if (n >= 3 && !items[i]!.startsWith("*")) out.push(`${items[i]}x${n}`);
    else for (let k = i; k <= j; k++) out.push(items[k]!);
    i = j + 1;
  }
  return `z2:${out.join(".")}`;
}

/** Longest schedule text accepted (characters), before any expansion. */
export const MAX_SCHEDULE_CHARS = 256 * 1024;

/**
 * z2 schedule → v2, z1 → v1 (v2 and v1 pass through). The model steps (run lengths times the
 * "/N" of fused items) are summed and checked against the per-execution step budget BEFORE
 * anything is expanded, so that "0x999999.1x999999..." costs nothing. `where` names what the user
 * gave (the replay string, a file, the SCHEDULE argument).
 */
export function expandSchedule(s: string, maxSteps: number = DEFAULT_BUDGETS.maxSteps, where = "the schedule"): string {
  if (s.length > MAX_SCHEDULE_CHARS) throw new UsageError(`replay: ${where} is too long (${s.length} characters; at most ${MAX_SCHEDULE_CHARS})`);
  const z = s.startsWith("z1:") || s.startsWith("z2:");
  const v2 = s.startsWith("z2:") || s.startsWith("v2:");
  if (!z && !s.startsWith("v1:") && !v2) throw new UsageError(`replay: ${where} must start with z2:, z1:, v2: or v1: (got ${quote(s, 12)})`);
  const items = s.slice(3) === "" ? [] : s.slice(3).split(".");
  let total = 0;
  const runs: [string, number][] = [];
  for (const it of items) {
    const m = z ? /^([^x]+)x(\d{1,9})$/.exec(it) : null;
    const n = m ? Number(m[2]) : 1;
    if (m && n < 1) throw new UsageError(`replay: ${where}: run length 0 in ${quote(it)}`);
    const item = m ? m[1]! : it;
    const f = v2 ? /\/(\d{1,9})$/.exec(item) : null;
    total += item.startsWith("*") ? 0 : n * (f ? Number(f[1]) : 1);
    if (total > maxSteps) throw new UsageError(`replay: ${where} has more than ${maxSteps} steps (the per-execution step budget; raise it with --max-steps)`);
    runs.push([item, n]);
  }
  if (!z) return s;
  const out: string[] = [];
  for (const [it, n] of runs) for (let k = 0; k < n; k++) out.push(it);
  return `${v2 ? "v2" : "v1"}:${out.join(".")}`;
}

export function formatReplayRef(r: ReplayRef): string {
  let t = r.target;
  if (r.preset !== undefined) {
    t += `@${r.preset}`;
    const ov = Object.entries(r.overrides);
    if (ov.length) t += `+${ov.map(([k, v]) => `${k}=${v}`).join(",")}`;
    if (r.moduleVersion) t += `/m${r.moduleVersion}`;
  }
  return `${t}:${r.fingerprint}:${compressSchedule(r.schedule)}`;
}

export function parseReplayRef(s: string, maxSteps: number = DEFAULT_BUDGETS.maxSteps): ReplayRef {
  const m = /:(v1|v2|z1|z2):/.exec(s);
  if (!m) throw new UsageError(`replay: ${quote(s, 40)} is neither a file nor a replay string (TARGET@PRESET:FINGERPRINT:z2:...)`);
  const i = m.index;
  const head = s.slice(0, i);
  const schedule = expandSchedule(s.slice(i + 1), maxSteps, "the replay string's schedule");
  const j = head.lastIndexOf(":");
  if (j < 0 || !/^[0-9a-f]{16}$/.test(head.slice(j + 1))) throw new UsageError(`replay: the replay string has no fingerprint (TARGET@PRESET:FINGERPRINT:z2:...)`);
  const fingerprint = head.slice(j + 1);
  let target = head.slice(0, j);
  const out: ReplayRef = { target, overrides: {}, fingerprint, schedule };
  const at = target.lastIndexOf("@");
  if (at > 0) {
    let rest = target.slice(at + 1);
    target = target.slice(0, at);
    const m = /\/m([0-9.]+)$/.exec(rest);
    if (m) {
      out.moduleVersion = m[1]!;
      rest = rest.slice(0, m.index);
    }
    const plus = rest.indexOf("+");
    out.preset = plus < 0 ? rest : rest.slice(0, plus);
    if (plus >= 0)
      for (const kv of rest.slice(plus + 1).split(",")) {
        const [k, v] = kv.split("=");
        if (!k || !v) throw new UsageError(`replay: bad switch override ${quote(kv)} in the replay string`);
        if (Object.prototype.hasOwnProperty.call(out.overrides, k)) throw new UsageError(`replay: switch ${quote(k)} is set twice in the replay string`);
        Object.defineProperty(out.overrides, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
  }
  out.target = target;
  return out;
}

export const CEX_FORMAT = "tdxmc-counterexample";

export interface CounterexampleFile {
  format: typeof CEX_FORMAT;
  formatVersion: number;
  provenance: Provenance;
  /**
   * The scenario definition as run (absent for engine demos, and for a simulation at size, whose
   * scenario `simulation.workload` rebuilds).
   */
  scenario?: Scenario;
  /** A simulation's finding: what rebuilds its program and re-runs it (src/sim/record.ts). */
  simulation?: SimRecord;
  demo?: string;
  property: string;
  message: string;
  preemptions: number;
  steps: number;
  schedule: string;
  replay: string;
}

export function counterexampleFile(p: Provenance, scenario: Scenario | undefined, demo: string | undefined, c: Counterexample, replay: string): CounterexampleFile {
  const f: CounterexampleFile = {
    format: CEX_FORMAT,
    formatVersion: p.formatVersion,
    provenance: p,
    property: c.property,
    message: c.message,
    preemptions: c.preemptions,
    steps: c.steps.length,
    schedule: c.schedule,
    replay,
  };
  if (scenario) f.scenario = scenario;
  if (demo) f.demo = demo;
  return f;
}
