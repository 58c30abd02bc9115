// Output of a sweep: a text table (default), JSON, CSV, and SVG charts. Every number has a fixed
// format and nothing depends on the clock, so a rerun with the same seed is byte-identical.
import type { SimResult } from "./run.js";
import { DEFAULT_STALL_STEPS, type SweepResult } from "./sweep.js";
import type { WorkloadKind } from "./workloads.js";

/** The operation whose latency a workload's table row shows. */
export const PRIMARY_OP: Record<WorkloadKind, string> = { boot: "fault", faults: "fault", conversion: "convert", "punch-hole": "punch", teardown: "teardown" };

export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return "-";
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} us`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

export function fmtRate(x: number): string {
  if (x === 0) return "0";
  if (x < 1e3) return x.toFixed(1);
  if (x < 1e6) return `${(x / 1e3).toFixed(1)}K`;
  return `${(x / 1e6).toFixed(2)}M`;
}

export function fmtCount(x: number): string {
  return Number.isInteger(x) ? String(x) : x < 100 ? x.toFixed(1) : x.toFixed(0);
}

function busyTotal(r: SimResult): number {
  return Object.values(r.busy).reduce((a, b) => a + b, 0);
}

function pagesLabel(p: number): string {
  if (p >= 262_144 && p % 262_144 === 0) return `${p / 262_144}GiB`;
  return String(p);
}

export function protocolOf(r: SimResult): string {
  return r.protocol ?? r.preset;
}

/** The text table: one row per workload point and protocol. */
export function formatTable(sr: SweepResult): string {
  const head = ["workload", "vCPUs", "pages", "protocol", "end", "time", "pages/s", "faults/s", "op", "p50", "p99", "max", "BUSY", "retries", "0-step", "BUG_ON", "mmu R hold", "mmu W hold", "mmu W wait", "module"];
  const rows: string[][] = [];
  for (const r of sr.results) {
    const op = PRIMARY_OP[r.workload.kind];
    const l = r.latency[op] ?? { n: 0, p50: 0, p99: 0, max: 0, mean: 0 };
    rows.push([
      r.workload.kind,
      String(r.workload.vcpus),
      pagesLabel(r.workload.pages) + (r.extrapolated ? "*" : ""),
      protocolOf(r),
      r.end,
      fmtNs(r.timeNs),
      fmtRate(r.pagesPerSec),
      fmtRate(r.faultsPerSec),
      l.n > 0 ? op : "-",
      l.n > 0 ? fmtNs(l.p50) : "-",
      l.n > 0 ? fmtNs(l.p99) : "-",
      l.n > 0 ? fmtNs(l.max) : "-",
      fmtCount(busyTotal(r)),
      fmtCount(r.retries),
      fmtCount(r.zeroStep),
      String(r.kvmBugOns),
      fmtNs(r.mmuLock.readHoldNs),
      fmtNs(r.mmuLock.writeHoldNs),
      fmtNs(r.mmuLock.writeWaitNs),
      `${(r.moduleShare * 100).toFixed(0)}%`,
    ]);
  }
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]): string => c.map((x, i) => (i < 5 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join("  ").trimEnd();
  const out = [line(head), ...rows.map(line)];
  const notes: string[] = [];
  if (sr.results.some((r) => r.extrapolated)) notes.push("* extrapolated: simulated at 9, 13, 17, 21 and 25 pages with 3 seeds each, additive figures fitted by least squares and extended to the size shown (latencies are the 25-page sample's)");
  const limits = [...new Set(sr.results.filter((r) => r.end === "model-limit").map((r) => r.limit ?? ""))];
  if (limits.length)
    notes.push(`model-limit: the point is past a size cap of the model (${limits.join("; ")}); not simulated further, not charted`);
  if (sr.results.some((r) => r.end === "stalled"))
    notes.push(`stalled: no guest operation completed in ${sr.sweep.stallSteps ?? DEFAULT_STALL_STEPS} consecutive steps (a counted budget; KVM faults that let the guest no further do not count): a livelock, the run stopped there; its figures cover the simulated time until then (pages/s 0: the pages were not all done)`);
  if (sr.results.some((r) => r.end === "limit"))
    notes.push("limit: the run used its step budget without finishing (no progress: a livelock or a storm the budget cut); its figures cover the simulated time until then");
  const busyKeys = [...new Set(sr.results.flatMap((r) => Object.keys(r.busy)))].sort();
  if (busyKeys.length > 0) notes.push(`BUSY by leaf and operand (total over the table): ${busyKeys.map((k) => `${k} ${fmtCount(sr.results.reduce((a, r) => a + (r.busy[k] ?? 0), 0))}`).join(", ")}`);
  return out.join("\n") + "\n" + (notes.length ? "\n" + notes.join("\n") + "\n" : "");
}

/** CSV: one row per result, every metric (latencies of every op kind that occurs). */
export function formatCsv(sr: SweepResult): string {
  const ops = [...new Set(sr.results.flatMap((r) => Object.keys(r.latency)))].sort();
  const busyKeys = [...new Set(sr.results.flatMap((r) => Object.keys(r.busy)))].sort();
  const head = [
    "sweep", "workload", "vcpus", "pages", "protocol", "preset", "overrides", "module", "seed", "extrapolated", "sim_pages", "steps", "end",
    "time_ns", "pages_per_s", "faults_per_s", "faults", "retries", "vp_enter_busy", "zero_step", "kvm_bug_on",
    "mmu_read_hold_ns", "mmu_write_hold_ns", "mmu_read_wait_ns", "mmu_write_wait_ns", "mmu_write_acquisitions", "mmu_max_write_hold_ns", "module_ns", "module_share",
    ...ops.flatMap((o) => [`${o}_n`, `${o}_p50_ns`, `${o}_p99_ns`, `${o}_max_ns`]),
    ...busyKeys.map((k) => `busy:${k}`),
    "findings",
  ];
  const q = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const n = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(3));
  const lines = [head.map(q).join(",")];
  for (const r of sr.results) {
    const row = [
      sr.sweep.name, r.workload.kind, String(r.workload.vcpus), String(r.workload.pages), protocolOf(r), r.preset,
      Object.entries(r.overrides).map(([k, v]) => `${k}=${v}`).join(" "), r.module ?? "", String(r.seed), r.extrapolated ? "1" : "0", String(r.simPages), String(r.steps), r.end,
      n(r.timeNs), n(r.pagesPerSec), n(r.faultsPerSec), n(r.faults), n(r.retries), n(r.vpEnterBusy), n(r.zeroStep), String(r.kvmBugOns),
      n(r.mmuLock.readHoldNs), n(r.mmuLock.writeHoldNs), n(r.mmuLock.readWaitNs), n(r.mmuLock.writeWaitNs), String(r.mmuLock.writeAcquisitions), n(r.mmuLock.maxWriteHoldNs), n(r.moduleNs), n(r.moduleShare),
      ...ops.flatMap((o) => {
        const l = r.latency[o];
        return l ? [String(l.n), n(l.p50), n(l.p99), n(l.max)] : ["0", "", "", ""];
      }),
      ...busyKeys.map((k) => n(r.busy[k] ?? 0)),
      String(r.findings.length),
    ];
    lines.push(row.map(q).join(","));
  }
  return lines.join("\n") + "\n";
}

/** JSON-ready form of a sweep (findings without their scenario object, which the finding files hold). */
export function jsonOf(sr: SweepResult, findingFiles: string[]): unknown {
  let fi = 0;
  return {
    sweep: { name: sr.sweep.name, description: sr.sweep.description, x: sr.sweep.x, xs: sr.sweep.xs, workloads: sr.sweep.workloads, protocols: sr.sweep.protocols },
    seed: sr.seed,
    results: sr.results.map((r) => ({
      workload: r.workload,
      protocol: protocolOf(r),
      preset: r.preset,
      overrides: r.overrides,
      module: r.module ?? null,
      extrapolated: r.extrapolated,
      simPages: r.simPages,
      steps: r.steps,
      end: r.end,
      timeNs: r.timeNs,
      pagesPerSec: r.pagesPerSec,
      faultsPerSec: r.faultsPerSec,
      faults: r.faults,
      latencyNs: r.latency,
      busy: r.busy,
      retries: r.retries,
      vpEnterBusy: r.vpEnterBusy,
      zeroStepTriggers: r.zeroStep,
      kvmBugOns: r.kvmBugOns,
      mmuLock: r.mmuLock,
      moduleNs: r.moduleNs,
      moduleShare: r.moduleShare,
      findings: r.findings.map((f) => ({ property: f.property, message: f.message, thread: f.thread, step: f.step, timeNs: f.timeNs, file: findingFiles[fi++] ?? null })),
    })),
  };
}
