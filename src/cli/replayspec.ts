// Replay strings and counterexample files: how a counterexample names what it was recorded against.
//
//   replay string:  TARGET[@PRESET[+SWITCH=VALUE,...][/mVERSION]]:FINGERPRINT:SCHEDULE
//     seed-race@seed:1f2e3d4c5b6a7980:z1:0x18.1x21.0x11
//   SCHEDULE is the engine's (v1:...) or the same with runs of one item written ITEMxCOUNT (z1:...).
//     demo:lost-update:0a1b2c3d4e5f6071:v1:0.1.0.1
//   TARGET is a built-in scenario, a scenario file path, or demo:NAME.
//
//   counterexample file (JSON): { format: "tdxmc-counterexample", formatVersion, provenance,
//     scenario (the scenario definition itself), property, message, preemptions, schedule, replay }
import type { Counterexample } from "../engine/index.js";
import type { Scenario } from "../kvm/index.js";
import { UsageError } from "./errors.js";
import type { Provenance } from "./provenance.js";

export interface ReplayRef {
  target: string;
  preset?: string;
  overrides: Record<string, string>;
  moduleVersion?: string;
  fingerprint: string;
  schedule: string;
}

/** v1 schedule → z1 (runs of 3 or more equal items as ITEMxCOUNT). */
export function compressSchedule(v1: string): string {
  if (!v1.startsWith("v1:")) return v1;
  const items = v1.slice(3) === "" ? [] : v1.slice(3).split(".");
  const out: string[] = [];
  for (let i = 0; i < items.length; ) {
    let j = i;
    while (j + 1 < items.length && items[j + 1] === items[i]) j++;
    const n = j - i + 1;
    if (n >= 3 && !items[i]!.startsWith("*")) out.push(`${items[i]}x${n}`);
    else for (let k = i; k <= j; k++) out.push(items[k]!);
    i = j + 1;
  }
  return `z1:${out.join(".")}`;
}

/** z1 schedule → v1 (v1 passes through). */
export function expandSchedule(s: string): string {
  if (!s.startsWith("z1:")) return s;
  const out: string[] = [];
  for (const it of s.slice(3) === "" ? [] : s.slice(3).split(".")) {
    const m = /^([^x]+)x(\d{1,6})$/.exec(it);
    if (m) for (let k = 0; k < Number(m[2]); k++) out.push(m[1]!);
    else out.push(it);
  }
  return `v1:${out.join(".")}`;
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

export function parseReplayRef(s: string): ReplayRef {
  const m = /:(v1|z1):/.exec(s);
  if (!m) throw new UsageError(`replay: '${s.length > 40 ? s.slice(0, 40) + "..." : s}' is neither a file nor a replay string (TARGET@PRESET:FINGERPRINT:z1:...)`);
  const i = m.index;
  const head = s.slice(0, i);
  const schedule = expandSchedule(s.slice(i + 1));
  const j = head.lastIndexOf(":");
  if (j < 0 || !/^[0-9a-f]{16}$/.test(head.slice(j + 1))) throw new UsageError(`replay: the replay string has no fingerprint (TARGET@PRESET:FINGERPRINT:z1:...)`);
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
        if (!k || !v) throw new UsageError(`replay: bad switch override '${kv}' in the replay string`);
        out.overrides[k] = v;
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
  /** The scenario definition as run (absent for engine demos). */
  scenario?: Scenario;
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
