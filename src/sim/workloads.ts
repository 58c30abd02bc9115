// Simulation workloads: each is an ordinary scenario (the model's Scenario: threads, initial state)
// built for a workload point, so that the simulation runs exactly the model code the checker runs.
//
// Size. The model's encodings are sized for the checker; a simulation widens them with the same
// values below the old caps (docs/simulate.md, Size). A workload point larger than the model-sized
// TD (SIM_GEOMETRY, at most SIM_MAX_PAGES pages) is simulated on a sample and its per-page figures
// scaled to the requested size, labelled "extrapolated" everywhere they are printed; or, with
// `literal`, at size on LITERAL_GEOMETRY. vCPU counts above SIM_MAX_VCPUS are not extrapolated
// (contention does not scale linearly): those points are reported as not simulated.
import type { Geometry, Scenario, ThreadDecl } from "../kvm/index.js";

/** 2 levels x fan-out 5: 25 GFNs, one S-EPT table level to link (SEPT.ADD), leaves at 4K. */
export const SIM_GEOMETRY: Geometry = { levels: 2, fanout: 5 };
export const SIM_MAX_PAGES = 25;
/**
 * vCPUs of a point. The module model holds 126 (its association field); a simulation program may
 * have up to 255 threads (the checker's 30 apply to exploration only); the Dynamic PAMT pool is
 * sized for the vCPUs' caches (src/kvm/scenario.ts simPamtPoolPages()).
 */
export const SIM_MAX_VCPUS = 64;
export const PAGES_PER_GIB = 262_144;
/**
 * Literal (un-sampled) simulation of a large TD: the kernel's geometry (a 2M table of 512 4K
 * entries under a root of 512 entries: 1 GiB) with the mirror's tables from a pool
 * (src/kvm/mirror.ts pool mode). Up to this many pages a point can be simulated at size.
 */
export const LITERAL_GEOMETRY: Geometry = { levels: 2, fanout: 512 };
export const SIM_MAX_LITERAL_PAGES = 262_144;

export const WORKLOAD_KINDS = ["boot", "faults", "conversion", "punch-hole", "teardown"] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export interface WorkloadPoint {
  kind: WorkloadKind;
  /** vCPUs (guest threads; for teardown, the vCPUs the TD has: kicks and VP.FLUSH scale with it). */
  vcpus: number;
  /** Pages (4K) the workload covers (boot: accepted; faults: touched; teardown: mapped). */
  pages: number;
  /** conversion / punch-hole: userspace threads, each converting / punching its own range. */
  writers?: number;
}

export interface BuiltWorkload {
  scenario: Scenario;
  /** Built at size on LITERAL_GEOMETRY (the program needs the pool-mode mirror: lazyTables). */
  literal: boolean;
  /** Pages actually simulated (<= SIM_MAX_PAGES). */
  simPages: number;
  /** pages / simPages when > 1 (results per page are scaled), else 1. */
  scale: number;
  /** vCPU threads in the scenario. */
  vcpuThreads: number;
}

export class WorkloadError extends Error {}

/**
 * Build the scenario of one workload point. With `literal`, a point larger than the model-sized TD
 * (up to SIM_MAX_LITERAL_PAGES) is built at size on LITERAL_GEOMETRY instead of being sampled.
 */
export function buildWorkload(w: WorkloadPoint, opts: { literal?: boolean } = {}): BuiltWorkload {
  if (!Number.isInteger(w.vcpus) || w.vcpus < 1) throw new WorkloadError(`vcpus must be a positive integer (got ${w.vcpus})`);
  if (!Number.isInteger(w.pages) || w.pages < 1) throw new WorkloadError(`pages must be a positive integer (got ${w.pages})`);
  const literal = opts.literal === true && w.pages > SIM_MAX_PAGES;
  if (literal && w.pages > SIM_MAX_LITERAL_PAGES) throw new WorkloadError(`${w.pages} pages is more than a literal simulation holds (${SIM_MAX_LITERAL_PAGES})`);
  const simPages = literal ? w.pages : Math.min(w.pages, SIM_MAX_PAGES);
  const scale = w.pages / simPages;
  const n = w.kind === "teardown" ? Math.min(w.vcpus, SIM_MAX_VCPUS) : w.vcpus;
  if (n > SIM_MAX_VCPUS) throw new WorkloadError(`${w.vcpus} vCPUs is more than the model holds (${SIM_MAX_VCPUS}); not simulated`);
  const pages = Array.from({ length: simPages }, (_, i) => i);
  const share = (v: number): number[] => pages.filter((g) => g % n === v);
  const geometry = literal ? LITERAL_GEOMETRY : SIM_GEOMETRY;
  const fanout = geometry.fanout;
  const threads: ThreadDecl[] = [];
  let initial: Scenario["initial"] = {};
  const writers = Math.max(1, Math.min(w.writers ?? 1, 4, simPages));
  const ranges = (): [number, number][] => {
    const out: [number, number][] = [];
    const per = Math.ceil(simPages / writers);
    for (let s = 0; s < simPages; s += per) out.push([s, Math.min(simPages, s + per)]);
    return out;
  };
  switch (w.kind) {
    case "boot":
      // TD boot with lazy acceptance: the guest accepts each page on first use; nothing is mapped
      // yet (not even the level-1 tables), so each page costs a TD exit, a fault (SEPT.ADD for the
      // first page of a table) and an AUG, then the ACCEPT inside the TD.
      for (let v = 0; v < n; v++) if (share(v).length) threads.push({ kind: "vcpu", vcpu: v, actions: share(v).map((gfn) => ({ op: "accept", gfn })) });
      break;
    case "faults":
      // Steady state: tables linked, pages not mapped; the guest touches them (access: EPT
      // violation -> fault -> AUG -> #VE -> ACCEPT).
      initial = { tables: tablesFor(simPages, fanout) };
      for (let v = 0; v < n; v++) if (share(v).length) threads.push({ kind: "vcpu", vcpu: v, actions: share(v).map((gfn) => ({ op: "access", gfn })) });
      break;
    case "conversion":
      // Conversion storm: every page mapped; userspace converts ranges to shared while the vCPUs
      // touch them (the accesses to converted pages fault and find them shared).
      initial = { tables: tablesFor(simPages, fanout), leaves: pages.map((gfn) => ({ gfn, state: "MAPPED" as const })) };
      for (let v = 0; v < n; v++) if (share(v).length) threads.push({ kind: "vcpu", vcpu: v, actions: share(v).map((gfn) => ({ op: "access", gfn })) });
      ranges().forEach(([start, end], i) => threads.push({ kind: "set-attributes", name: `convert${i}`, start, end, to: "shared" }));
      break;
    case "punch-hole":
      initial = { tables: tablesFor(simPages, fanout), leaves: pages.map((gfn) => ({ gfn, state: "MAPPED" as const })) };
      for (let v = 0; v < n; v++) if (share(v).length) threads.push({ kind: "vcpu", vcpu: v, actions: share(v).map((gfn) => ({ op: "access", gfn })) });
      ranges().forEach(([start, end], i) => threads.push({ kind: "punch-hole", name: `punch${i}`, start, end }));
      break;
    case "teardown":
      // Every page mapped and accepted; one thread tears the TD down (the switch teardown-order
      // says whether the HKID is released first). The vCPUs are not running (the VM is being
      // destroyed); they still count for kicks and VP.FLUSH (vp-init threads would run; instead the
      // vCPU count enters through the cost model's per-vCPU kick term).
      initial = { tables: tablesFor(simPages, fanout), leaves: pages.map((gfn) => ({ gfn, state: "MAPPED" as const })) };
      threads.push({ kind: "teardown", name: "teardown" });
      break;
  }
  if (threads.length === 0) throw new WorkloadError(`workload ${w.kind} has no threads`);
  const scenario: Scenario = {
    name: `sim-${w.kind}-v${w.vcpus}-p${w.pages}${w.writers ? `-w${w.writers}` : ""}`,
    description: `simulation workload ${w.kind}: ${w.vcpus} vCPUs, ${w.pages} pages${scale > 1 ? ` (sampled: ${simPages} simulated)` : ""}`,
    geometry,
    initial,
    threads,
    expected: {},
  };
  return { scenario, literal, simPages, scale, vcpuThreads: threads.filter((t) => t.kind === "vcpu").length };
}

/** The level-1 tables covering pages 0..n-1 (linked in steady state). */
function tablesFor(n: number, fanout: number): { level: number; gfn: number }[] {
  const out: { level: number; gfn: number }[] = [];
  for (let g = 0; g < n; g += fanout) out.push({ level: 1, gfn: g });
  return out;
}
