// What rebuilds a simulation's finding (issue: "a KVM_BUG_ON or a violation found in a simulation is
// a finding: it is reported with a replayable schedule that `tdxmc replay` opens").
//
// A simulation builds its program differently from the checker: pools sized for the scenario (the
// Dynamic PAMT page pool above 3 vCPUs), up to 255 threads, and, at size, the mirror's tables from a
// pool (BuildOptions.simulation / lazyTables). A finding therefore records everything its program
// and its run were made from: the workload point (or the scenario a scenario file gave), the
// literal (at size) mode, preset, switch overrides, module version and zero-step threshold, and the
// run's seed, cost model (it decides choices and timing, hence the schedule) and counted budgets;
// plus the step it was found at and a digest of the schedule up to it.
//
// `tdxmc replay` rebuilds the program from the record (the fingerprint, over the program's objects
// and sizes and the scenario definition, must match: a pool of another size is another fingerprint)
// and then either follows the recorded schedule with the engine's replay (a program of at most 30
// threads, not at size: the step table, `tdxmc view` and the ITF export work as for a checker
// counterexample) or re-runs the timed simulation from the seed and checks that it reaches the same
// property at the same step along the same schedule (digest): src/cli/simreplay.ts.
import { createHash } from "node:crypto";
import { formatSchedule, type Schedule } from "../engine/index.js";
import { UsageError } from "../cli/errors.js";
import { quote } from "../cli/safe-input.js";
import type { CostModel } from "./costs.js";
import { WORKLOAD_KINDS, type WorkloadPoint } from "./workloads.js";

/** The `simulation` field of a finding file: format 1. */
export const SIM_RECORD_FORMAT = 1;

export interface CostsRecord {
  cpus: number;
  slice: number;
  handoff: number;
  jitter: number;
  seamcall: Record<string, { ok: number; busy: number }>;
  kvmStep: number;
  rules: { match: string; value: number }[];
  kickBase: number;
  kickPerVcpu: number;
  think: number;
  prob: CostModel["prob"];
}

export interface SimRecord {
  format: number;
  /**
   * The workload point the scenario was built from (buildWorkload()); absent for a scenario given
   * as such (a scenario file): the finding file's `scenario` is then the one run.
   */
  workload?: WorkloadPoint;
  /** The point the run was told (kick and VP.FLUSH charges scale with its vCPUs). */
  point: WorkloadPoint;
  vcpuThreads: number;
  /** Built at size (LITERAL_GEOMETRY, the mirror's tables from a pool). */
  literal: boolean;
  preset: string;
  overrides: Record<string, string>;
  module?: "1.5.16" | "1.5.20" | "1.5.25";
  zeroStepThreshold?: number;
  seed: number;
  maxSteps: number;
  stallSteps?: number;
  invariantStride: number;
  costs: CostsRecord;
  /** Threads of the program (informational: the fingerprint decides). */
  threads: number;
  /** The Dynamic PAMT page pool the program was built with (null: no Dynamic PAMT). */
  pamtPoolPages: number | null;
  /** Steps run when the finding was made (its schedule's length). */
  step: number;
  /** sha256 (16 hex digits) of the v2 schedule up to the finding. */
  scheduleDigest: string;
}

export function scheduleDigest(s: Schedule): string {
  return createHash("sha256").update(formatSchedule(s)).digest("hex").slice(0, 16);
}

export function costsRecord(m: CostModel): CostsRecord {
  const seamcall: CostsRecord["seamcall"] = {};
  for (const [k, v] of [...m.seamcall].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) seamcall[k] = { ok: v.ok, busy: v.busy };
  return {
    cpus: m.cpus,
    slice: m.slice,
    handoff: m.handoff,
    jitter: m.jitter,
    seamcall,
    kvmStep: m.kvmStep,
    rules: m.rules.map((r) => ({ match: r.match, value: r.value })),
    kickBase: m.kickBase,
    kickPerVcpu: m.kickPerVcpu,
    think: m.think,
    prob: { ...m.prob },
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Reads a finding file's `simulation` field; a UsageError naming `where` and the field otherwise. */
export function readSimRecord(v: unknown, where: string): SimRecord {
  const bad = (field: string, what: string): never => {
    throw new UsageError(`${where}: "simulation.${field}" ${what}`);
  };
  if (!isObj(v)) throw new UsageError(`${where}: "simulation" is not an object`);
  if (v.format !== SIM_RECORD_FORMAT) bad("format", `is ${quote(String(v.format), 12)}; this tdxmc reads ${SIM_RECORD_FORMAT}`);
  const num = (o: Record<string, unknown>, k: string, path: string, min = 0, int = true): number => {
    const x = o[k];
    if (typeof x !== "number" || !Number.isFinite(x) || x < min || (int && !Number.isInteger(x))) return bad(path, `is not a${int ? " whole" : ""} number${min > 0 ? ` >= ${min}` : " >= 0"}`);
    return x;
  };
  const point = (x: unknown, path: string): WorkloadPoint => {
    if (!isObj(x)) return bad(path, "is not a workload point");
    if (typeof x.kind !== "string" || !(WORKLOAD_KINDS as readonly string[]).includes(x.kind)) bad(`${path}.kind`, `is not a workload (${WORKLOAD_KINDS.join(", ")})`);
    const p: WorkloadPoint = { kind: x.kind as WorkloadPoint["kind"], vcpus: num(x, "vcpus", `${path}.vcpus`, 1), pages: num(x, "pages", `${path}.pages`, 1) };
    if (x.writers !== undefined) p.writers = num(x, "writers", `${path}.writers`, 1);
    return p;
  };
  const strRecord = (x: unknown, path: string): Record<string, string> => {
    if (!isObj(x)) return bad(path, "is not an object of strings");
    const out: Record<string, string> = {};
    for (const [k, s] of Object.entries(x)) {
      if (typeof s !== "string") bad(`${path}.${k}`, "is not a string");
      Object.defineProperty(out, k, { value: s, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  if (typeof v.preset !== "string") bad("preset", "is not a preset name");
  if (typeof v.literal !== "boolean") bad("literal", "is not true or false");
  if (v.module !== undefined && !["1.5.16", "1.5.20", "1.5.25"].includes(v.module as string)) bad("module", "is not a module version (1.5.16, 1.5.20, 1.5.25)");
  if (typeof v.scheduleDigest !== "string" || !/^[0-9a-f]{16}$/.test(v.scheduleDigest)) bad("scheduleDigest", "is not 16 hex digits");
  if (v.pamtPoolPages !== null && (typeof v.pamtPoolPages !== "number" || !Number.isInteger(v.pamtPoolPages))) bad("pamtPoolPages", "is neither a whole number nor null");
  const c = v.costs;
  if (!isObj(c)) return bad("costs", "is not a cost model");
  const seamcall: CostsRecord["seamcall"] = {};
  if (!isObj(c.seamcall)) bad("costs.seamcall", "is not an object");
  for (const [k, e] of Object.entries(c.seamcall as Record<string, unknown>)) {
    if (!isObj(e)) bad(`costs.seamcall.${k}`, "is not { ok, busy }");
    Object.defineProperty(seamcall, k, { value: { ok: num(e as Record<string, unknown>, "ok", `costs.seamcall.${k}.ok`), busy: num(e as Record<string, unknown>, "busy", `costs.seamcall.${k}.busy`) }, enumerable: true, writable: true, configurable: true });
  }
  if (!Array.isArray(c.rules)) bad("costs.rules", "is not a list");
  const rules = (c.rules as unknown[]).map((r, i) => {
    if (!isObj(r) || typeof r.match !== "string") return bad(`costs.rules.${i}`, "is not { match, value }");
    return { match: r.match, value: num(r, "value", `costs.rules.${i}.value`) };
  });
  if (!isObj(c.prob)) bad("costs.prob", "is not an object");
  const pr = c.prob as Record<string, unknown>;
  const prob = {} as CostModel["prob"];
  for (const k of ["inject-busy", "zap-yield", "events", "accept-interrupt", "hp-timeout"] as const) {
    const x = num(pr, k, `costs.prob.${k}`, 0, false);
    if (x > 1) bad(`costs.prob.${k}`, "is more than 1");
    prob[k] = x;
  }
  const out: SimRecord = {
    format: SIM_RECORD_FORMAT,
    point: point(v.point, "point"),
    vcpuThreads: num(v, "vcpuThreads", "vcpuThreads"),
    literal: v.literal as boolean,
    preset: v.preset as string,
    overrides: strRecord(v.overrides, "overrides"),
    seed: num(v, "seed", "seed", Number.MIN_SAFE_INTEGER),
    maxSteps: num(v, "maxSteps", "maxSteps", 1),
    invariantStride: num(v, "invariantStride", "invariantStride", 1),
    costs: {
      cpus: num(c, "cpus", "costs.cpus"),
      slice: num(c, "slice", "costs.slice", 0, false),
      handoff: num(c, "handoff", "costs.handoff", 0, false),
      jitter: num(c, "jitter", "costs.jitter", 0, false),
      seamcall,
      kvmStep: num(c, "kvmStep", "costs.kvmStep", 0, false),
      rules,
      kickBase: num(c, "kickBase", "costs.kickBase", 0, false),
      kickPerVcpu: num(c, "kickPerVcpu", "costs.kickPerVcpu", 0, false),
      think: num(c, "think", "costs.think", 0, false),
      prob,
    },
    threads: num(v, "threads", "threads", 1),
    pamtPoolPages: v.pamtPoolPages as number | null,
    step: num(v, "step", "step"),
    scheduleDigest: v.scheduleDigest as string,
  };
  if (v.workload !== undefined) out.workload = point(v.workload, "workload");
  if (v.module !== undefined) out.module = v.module as NonNullable<SimRecord["module"]>;
  if (v.zeroStepThreshold !== undefined) out.zeroStepThreshold = num(v, "zeroStepThreshold", "zeroStepThreshold");
  if (v.stallSteps !== undefined) out.stallSteps = num(v, "stallSteps", "stallSteps", 1);
  if (out.costs.jitter > 0.9) bad("costs.jitter", "is more than 0.9");
  return out;
}

/** The cost model a record's run used (figures are not kept: they only label printed output). */
export function costsOf(r: CostsRecord): CostModel {
  return {
    cpus: r.cpus,
    slice: r.slice,
    handoff: r.handoff,
    jitter: r.jitter,
    seamcall: new Map(Object.entries(r.seamcall).map(([k, v]) => [k, { ok: v.ok, busy: v.busy, basis: "assumed" as const }])),
    kvmStep: r.kvmStep,
    rules: r.rules.map((x) => ({ match: x.match, value: x.value, basis: "assumed" as const })),
    kickBase: r.kickBase,
    kickPerVcpu: r.kickPerVcpu,
    think: r.think,
    prob: { ...r.prob },
    figures: [],
  };
}


