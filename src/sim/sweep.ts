// Sweeps: protocols (preset + switch settings + module) x workload points, run in a fixed order,
// and the built-in ones the documentation shows.
import { PRESETS } from "../kvm/index.js";
import type { CostModel } from "./costs.js";
import { simulatePoint, type SimResult } from "./run.js";
import { SIM_MAX_LITERAL_PAGES, SIM_MAX_PAGES, type WorkloadKind, type WorkloadPoint } from "./workloads.js";

export interface Protocol {
  /** Name of the line in charts and the column in tables. */
  label: string;
  preset: string;
  overrides?: Record<string, string>;
  module?: "1.5.16" | "1.5.20" | "1.5.25";
  zeroStepThreshold?: number;
}

export interface Sweep {
  name: string;
  description: string;
  protocols: Protocol[];
  /** Workload kinds, each run at every x value. */
  workloads: WorkloadKind[];
  /** What varies along a chart's x axis. */
  x: "vcpus" | "pages";
  xs: number[];
  /** The other dimension, fixed. */
  vcpus?: number;
  pages?: number;
  writers?: number;
  /** Environment probabilities this sweep sets on top of the cost model's. */
  prob?: Partial<CostModel["prob"]>;
  /** Step budget per run (counted; a run that uses it up ends with `limit`). */
  maxSteps?: number;
  /** Steps without any completed operation after which a run ends as `stalled` (counted). */
  stallSteps?: number;
  /**
   * Simulate points above the model-sized TD at size (up to SIM_MAX_LITERAL_PAGES pages) instead of
   * sampling and extrapolating them (`tdxmc simulate --literal`).
   */
  literal?: boolean;
}

/** Default step budget per simulated run. */
export const DEFAULT_MAX_STEPS = 2_000_000;
/**
 * Step budget of a literal run, per page on top of DEFAULT_MAX_STEPS (counted): a lazy-accept boot
 * takes about 77 steps a page (20.2 M for 1 GiB with 16 vCPUs), steady-state faults about as many.
 */
export const LITERAL_STEPS_PER_PAGE = 400;
/**
 * Workloads a literal (at size) point may use: all of them (conversion and punch hole since the
 * invalidation range of a VM above 255 GFNs has cells of its own; teardown since bepoch is compared
 * with td_epoch by distance: docs/simulate.md, Size).
 */
export const LITERAL_KINDS: readonly WorkloadKind[] = ["boot", "faults", "conversion", "punch-hole", "teardown"];

/** Why a sweep cannot run its points above the model-sized TD literally (null: it can; points of up to SIM_MAX_PAGES are simulated as they are either way). */
export function literalProblem(s: Sweep): string | null {
  const big = pointsOf(s).filter((w) => w.pages > SIM_MAX_PAGES);
  for (const k of new Set(big.map((w) => w.kind)))
    if (!LITERAL_KINDS.includes(k))
      return `--literal: workload '${k}' cannot be simulated at size (only ${LITERAL_KINDS.join(", ")}); drop --literal to sample and extrapolate it`;
  for (const w of big)
    if (w.pages > SIM_MAX_LITERAL_PAGES) return `--literal: ${w.pages} pages is more than a literal simulation holds (${SIM_MAX_LITERAL_PAGES} pages, 1 GiB)`;
  return null;
}
/**
 * Pages one operation of a literal point covers, the largest over its threads: a teardown zaps
 * the VM's whole address space in one operation (the literal geometry's 262 144 GFNs, whatever
 * the pages mapped: kvm_gmem_release's invalidation and the root teardown walk all of it), a
 * converter or hole puncher its range (the workload splits the pages among at most 4 writers,
 * src/sim/workloads.ts), a fault or an accept one page.
 */
export function literalOpPages(w: WorkloadPoint): number {
  if (w.kind === "teardown") return SIM_MAX_LITERAL_PAGES;
  if (w.kind === "conversion" || w.kind === "punch-hole") return Math.ceil(w.pages / Math.max(1, Math.min(w.writers ?? 1, 4, w.pages)));
  return 0;
}
/**
 * Default stall budget: a run in which no thread completes an operation (a fault, an accept, a
 * conversion, a teardown) for this many consecutive steps ends as `stalled` (a livelock or a storm
 * that long). The longest operation of the built-in workloads at model size takes a few thousand steps.
 */
export const DEFAULT_STALL_STEPS = 50_000;

export interface SweepResult {
  sweep: Sweep;
  seed: number;
  results: SimResult[];
}

/** The upstream presets present in this build (the fidelity work adds newer ones). */
export function upstreamPresets(): string[] {
  return Object.keys(PRESETS).filter((p) => p.startsWith("upstream-"));
}

function present(names: string[]): string[] {
  return names.filter((p) => PRESETS[p] !== undefined);
}

/** Built-in sweeps: the default comparison and the documented examples. */
export function builtinSweeps(): Record<string, Sweep> {
  const ups = upstreamPresets();
  const latest = ups[ups.length - 1] ?? "upstream-6.19";
  return {
    default: {
      name: "default",
      description: "the upstream presets on a lazy-accept TD boot and a private->shared conversion storm, 1-8 vCPUs, 25 pages",
      protocols: ups.map((p) => ({ label: p, preset: p })),
      workloads: ["boot", "conversion"],
      x: "vcpus",
      xs: [1, 2, 4, 8],
      pages: 25,
      writers: 2,
    },
    "boot-presets": {
      name: "boot-presets",
      description: "TD boot (lazy accept) under 6.19, the newest upstream preset and Dynamic PAMT, when present: 1-16 vCPUs, 25 pages",
      protocols: present(["upstream-6.19", "upstream-7.2", latest, "dpamt"])
        .filter((p, i, a) => a.indexOf(p) === i)
        .map((p) => ({ label: p, preset: p })),
      workloads: ["boot"],
      x: "vcpus",
      xs: [1, 2, 3, 4, 8, 16],
      pages: 25,
    },
    "zero-step": {
      name: "zero-step",
      description:
        "zero-step storm: steady-state faults (access, #VE, accept) with AUG/SEPT.ADD/BLOCK/REMOVE returning BUSY 30% of the time, stepping threshold 1; TDX module 1.5.16 (the filter takes the S-EPT tree lock exclusive and counts a PENDING page as a fault: the vCPU livelocks, ending as stalled) vs 1.5.25, without KVM's local retry (each BUSY re-enters the guest at the same RIP), and 1.5.16 with it (upstream KVM)",
      protocols: [
        { label: "1.5.16", preset: "upstream-6.19", module: "1.5.16", zeroStepThreshold: 1, overrides: { "local-retry": "off" } },
        { label: "1.5.25", preset: "upstream-6.19", module: "1.5.25", zeroStepThreshold: 1, overrides: { "local-retry": "off" } },
        { label: "1.5.16+retry", preset: "upstream-6.19", module: "1.5.16", zeroStepThreshold: 1 },
      ],
      workloads: ["faults"],
      x: "vcpus",
      xs: [1, 2, 4, 8, 16],
      pages: 25,
      prob: { "inject-busy": 0.3 },
      maxSteps: 300_000,
      stallSteps: 20_000,
    },
    teardown: {
      name: "teardown",
      description: "teardown of a TD whose memory is all private and 4K-mapped, with the HKID assigned (leaves-first, upstream) vs released first (hkid-first), 4-64 vCPUs, 18 GiB (extrapolated from 9- to 25-page samples)",
      protocols: [
        { label: "leaves-first", preset: "upstream-6.19", overrides: { "teardown-order": "leaves-first" } },
        { label: "hkid-first", preset: "upstream-6.19", overrides: { "teardown-order": "hkid-first" } },
      ],
      workloads: ["teardown"],
      x: "vcpus",
      xs: [4, 8, 16, 32, 64],
      pages: 18 * 262_144,
    },
  };
}

/** The workload points of a sweep, in run order. */
export function pointsOf(s: Sweep): WorkloadPoint[] {
  const out: WorkloadPoint[] = [];
  for (const kind of s.workloads)
    for (const x of s.xs) {
      const p: WorkloadPoint = { kind, vcpus: s.x === "vcpus" ? x : (s.vcpus ?? 4), pages: s.x === "pages" ? x : (s.pages ?? 25) };
      if (s.writers !== undefined) p.writers = s.writers;
      out.push(p);
    }
  return out;
}

/** Run every protocol at every point. `progress` is told after each run (for a terminal progress line). */
export function runSweep(s: Sweep, costs: CostModel, seed: number, progress?: (done: number, total: number) => void): SweepResult {
  const points = pointsOf(s);
  const total = points.length * s.protocols.length;
  const results: SimResult[] = [];
  const c: CostModel = s.prob ? { ...costs, prob: { ...costs.prob, ...s.prob } } : costs;
  for (const w of points)
    for (const p of s.protocols) {
      const literal = s.literal === true && w.pages > SIM_MAX_PAGES;
      const r = simulatePoint(w, {
        preset: p.preset,
        overrides: p.overrides ?? {},
        costs: c,
        seed,
        maxSteps: (s.maxSteps ?? DEFAULT_MAX_STEPS) + (literal ? LITERAL_STEPS_PER_PAGE * w.pages : 0),
        ...(literal ? { literal: true } : {}),
        // A literal teardown or conversion is one operation of up to 262 144 pages: the stall
        // budget (steps without a completed operation) grows by the step budget of its pages, or
        // the run ends `stalled` in the middle of a zap that is making progress (it did at 1 GiB).
        stallSteps: (s.stallSteps ?? DEFAULT_STALL_STEPS) + (literal ? LITERAL_STEPS_PER_PAGE * literalOpPages(w) : 0),
        ...(p.module ? { module: p.module } : {}),
        ...(p.zeroStepThreshold !== undefined ? { zeroStepThreshold: p.zeroStepThreshold } : {}),
      });
      results.push({ ...r, protocol: p.label } as SimResult);
      progress?.(results.length, total);
    }
  return { sweep: s, seed, results };
}
