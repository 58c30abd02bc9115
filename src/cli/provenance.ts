// Provenance of results and counterexample files: tool and format versions, a fingerprint of the
// model and scenario, preset, switches, module version, strategy and bounds.
import { createHash } from "node:crypto";
import type { Program } from "../engine/index.js";
import { resolveProtocol, type Scenario } from "../kvm/index.js";

export const VERSION = "0.1.0";
/** Version of the JSON formats (check --json, counterexample files, list --json, validate --json). */
export const FORMAT_VERSION = 1;
/** The TDX module model's default version (src/tdx/td.ts). */
export { DEFAULT_MODULE_VERSION } from "../kvm/protocol.js";

/** The fields every `--json` document starts with. */
export function jsonHeader(command: string): { tool: "tdxmc"; version: string; formatVersion: number; command: string } {
  return { tool: "tdxmc", version: VERSION, formatVersion: FORMAT_VERSION, command };
}

/** JSON with object keys sorted (so equal values hash equally). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(",")}}`;
}

/**
 * Fingerprint of a built program plus what it was built from: the object layout (names, kinds,
 * sizes, initial values), thread names, and the definition (scenario, preset, resolved switches).
 * A schedule recorded against one fingerprint is only meaningful for the same fingerprint.
 */
export function fingerprint(program: Program, definition: unknown): string {
  const h = createHash("sha256");
  h.update(program.name + "\n");
  for (const o of program.world.objs) h.update(`${o.name}\t${o.kind}\t${o.size}\n`);
  h.update(program.world.initial.join(",") + "\n");
  h.update(program.threads.map((t) => t.name).join("\t") + "\n");
  h.update(program.properties.join(",") + "\n");
  h.update(canonicalJson(definition));
  return h.digest("hex").slice(0, 16);
}

export interface Provenance {
  tdxmc: string;
  formatVersion: number;
  fingerprint: string;
  scenario: string;
  preset: string | null;
  /** Switch overrides given on the command line (on top of the preset and the scenario's own). */
  overrides: Record<string, string>;
  /** Every switch's resolved value. */
  switches: Record<string, string>;
  moduleVersion: string | null;
  strategy: string;
  bounds: Record<string, number | boolean | string[]>;
  /** The engine's reductions as run (each can be switched off: --no-fusion, --no-restore). */
  reductions?: { fusion: boolean; restore?: boolean; symmetry?: boolean; por?: "sleep-sets" | "persistent-sets" | "off" };
  /** Cells run in parallel (--jobs) and threads per cell (--workers; 1 unless given). */
  parallel?: { jobs: number; workers: number };
}

export function scenarioDefinition(s: Scenario, preset: string, overrides: Record<string, string>): unknown {
  return { scenario: s, preset, switches: resolveProtocol(preset, { ...(s.overrides ?? {}), ...overrides }).values };
}

export function resolvedSwitches(s: Scenario, preset: string, overrides: Record<string, string>): Record<string, string> {
  return { ...resolveProtocol(preset, { ...(s.overrides ?? {}), ...overrides }).values };
}
