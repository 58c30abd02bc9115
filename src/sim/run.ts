// One simulation: a workload point under a preset (+ switch settings), the engine's timed
// scheduler driving the model's own program, and the KVM/TDX reading of its steps: what each step
// costs (the cost model) and what it means for the metrics (BUSY, retries, mmu_lock, module time).
import { formatSchedule, K, type Op, type Program } from "../engine/index.js";
import { timedRun, type TimedCosts, type TimedObserver, type TimedResult } from "../engine/schedulers/timed.js";
import { buildProgramWithModel, type Scenario } from "../kvm/index.js";
import { fingerprint, scenarioDefinition } from "../cli/provenance.js";
import { safeText } from "../cli/safe-input.js";
import { costsRecord, scheduleDigest, SIM_RECORD_FORMAT, type SimRecord } from "./record.js";
import { modeOf, VCPU_MODE } from "../kvm/kvm.js";
import { TDEL } from "../tdx/sept.js";
import { leafCost, type CostModel } from "./costs.js";
import { buildWorkload, SIM_MAX_LITERAL_PAGES, SIM_MAX_PAGES, type WorkloadPoint } from "./workloads.js";

/** Distinct step labels whose reading is kept (the model-sized TD has a few hundred). */
const LABEL_CACHE = 4096;

/** Module (TDX) step labels start with the leaf's function name (as kvmSteps() in src/kvm). */
const MODULE_STEP = /^(tdh_|tdg_|td_exit|td_ept_violation|guest walk|tdx_td_dispatcher)/;

/** The SEAMCALL leaf (or guest-side module flow) a step label belongs to; null for a KVM step. */
function leafOf(label: string): string | null {
  if (!MODULE_STEP.test(label)) return null;
  const i = label.indexOf(":");
  const head = i < 0 ? label : label.slice(0, i);
  return head.startsWith("guest walk") ? "guest walk" : head.trim();
}

/** Latency samples and percentiles. */
export class Samples {
  private v: number[] = [];
  add(x: number): void {
    this.v.push(x);
  }
  get count(): number {
    return this.v.length;
  }
  summary(): { n: number; p50: number; p99: number; max: number; mean: number } {
    const a = this.v.slice().sort((x, y) => x - y);
    const n = a.length;
    if (n === 0) return { n: 0, p50: 0, p99: 0, max: 0, mean: 0 };
    const q = (p: number): number => a[Math.min(n - 1, Math.ceil(p * n) - 1)]!;
    return { n, p50: q(0.5), p99: q(0.99), max: a[n - 1]!, mean: a.reduce((s, x) => s + x, 0) / n };
  }
}

export interface SimOptions {
  preset: string;
  /**
   * Simulate a point above the model-sized TD at size (up to SIM_MAX_LITERAL_PAGES pages, on the
   * kernel's geometry with pool-mode mirror tables) instead of sampling and extrapolating.
   */
  literal?: boolean;
  overrides?: Record<string, string>;
  seed?: number;
  costs: CostModel;
  /** Module version (default: the model's). */
  module?: "1.5.16" | "1.5.20" | "1.5.25";
  zeroStepThreshold?: number;
  maxSteps?: number;
  /** End a run with `stalled` after this many steps without a completed operation (counted; default none). */
  stallSteps?: number;
  invariantStride?: number;
  /** Called for every step with its thread, label and the cost charged for it (tests, debugging). */
  trace?: (thread: string, label: string, costNs: number) => void;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface SimResult {
  workload: WorkloadPoint;
  /** The sweep's name for the protocol (preset + switches + module). */
  protocol?: string;
  preset: string;
  overrides: Record<string, string>;
  module?: string;
  seed: number;
  /** Pages simulated and the factor applied to per-page totals (1 = not extrapolated). */
  simPages: number;
  scale: number;
  extrapolated: boolean;
  /** How the run ended; `model-limit`: a size cap of the model was reached (see `limit`). */
  end: TimedResult["end"] | "model-limit";
  /** The model-limit assertion's message, when end is `model-limit`. */
  limit?: string;
  steps: number;
  /** Simulated makespan of the simulated sample (ns) and its extrapolation to the requested size. */
  simTimeNs: number;
  timeNs: number;
  pagesPerSec: number;
  faultsPerSec: number;
  faults: number;
  latency: Record<string, LatencySummary>;
  busy: Record<string, number>;
  retries: number;
  vpEnterBusy: number;
  zeroStep: number;
  kvmBugOns: number;
  mmuLock: { readHoldNs: number; writeHoldNs: number; readWaitNs: number; writeWaitNs: number; writeAcquisitions: number; maxWriteHoldNs: number };
  moduleNs: number;
  /** Fraction of the threads' busy time spent inside the module. */
  moduleShare: number;
  /** Violations found (KVM_BUG_ON, agreement, freed-while-mapped, ...), each with its replayable schedule. */
  findings: Finding[];
}

export interface Finding {
  property: string;
  message: string;
  thread: string;
  step: number;
  timeNs: number;
  /** The engine schedule (v1:...) that `tdxmc replay` re-runs on `scenario` under the same preset and switches. */
  schedule: string;
  scenario: Scenario;
  preset: string;
  overrides: Record<string, string>;
  /** Fingerprint of the simulation's program and scenario definition (what `tdxmc replay` rebuilds must match it). */
  fingerprint: string;
  /** Everything that rebuilds the program and re-runs the simulation (src/sim/record.ts). */
  sim: SimRecord;
}

/**
 * The scenario and program a simulation runs: the scenario with the run's module version, zero-step
 * threshold and environment (injected BUSY, zap yields, from the cost model's probabilities), built
 * for the timed scheduler (pools sized for the scenario; at size, the mirror's tables from a pool).
 * `tdxmc replay` rebuilds a finding's program with this same function.
 */
export function simProgram(base: Scenario, o: Pick<SimOptions, "preset" | "overrides" | "module" | "zeroStepThreshold" | "literal" | "costs">): { scenario: Scenario; program: Program; pamtPoolPages: number | null } {
  const scenario = simScenario(base, o);
  const { program, model } = buildProgramWithModel(scenario, o.preset, o.overrides ?? {}, { lazyTables: o.literal === true, simulation: true });
  return { scenario, program, pamtPoolPages: model.kvm.pamt?.poolPages ?? null };
}

/** The scenario of simProgram(). */
export function simScenario(base: Scenario, o: Pick<SimOptions, "module" | "zeroStepThreshold" | "costs">): Scenario {
  const scenario: Scenario = { ...base };
  if (o.module || o.zeroStepThreshold !== undefined)
    scenario.module = { ...(o.module ? { version: o.module } : {}), ...(o.zeroStepThreshold !== undefined ? { zeroStepThreshold: o.zeroStepThreshold } : {}) };
  if (o.costs.prob["inject-busy"] > 0) scenario.inject = ["TDH.MEM.PAGE.AUG", "TDH.MEM.SEPT.ADD", "TDH.MEM.RANGE.BLOCK", "TDH.MEM.PAGE.REMOVE"];
  if (o.costs.prob["zap-yield"] > 0) scenario.zapYields = true;
  return scenario;
}

/** The fingerprint `tdxmc replay` computes for a program (thread names as its guarded program has them). */
export function simFingerprint(program: Program, scenario: Scenario, preset: string, overrides: Record<string, string>): string {
  const named = { ...program, threads: program.threads.map((t) => ({ ...t, name: safeText(t.name) })) };
  return fingerprint(named, scenarioDefinition(scenario, preset, overrides));
}

/** Run one workload point at model size (pages <= SIM_MAX_PAGES; see simulatePoint for larger). */
export function simulate(w: WorkloadPoint, o: SimOptions): SimResult & { scenario: Scenario; program: Program } {
  const built = buildWorkload(w, { literal: o.literal === true });
  if (built.scale !== 1) throw new Error(`simulate: ${w.pages} pages is more than the model holds; use simulatePoint()`);
  return simulateScenario(built.scenario, w, built.vcpuThreads, { ...o, literal: built.literal }, true);
}

/**
 * Run a scenario (a workload's, or a scenario file's) under the timed scheduler. `fromWorkload`:
 * `base` is buildWorkload(w)'s scenario (a finding then records the point, not the scenario).
 */
export function simulateScenario(base: Scenario, w: WorkloadPoint, vcpuThreads: number, o: SimOptions, fromWorkload = false): SimResult & { scenario: Scenario; program: Program } {
  return simulateBuilt(simProgram(base, o), w, vcpuThreads, o, fromWorkload);
}

/** simulateScenario() on a program simProgram() built (`tdxmc replay` builds it once, to check its fingerprint first). */
export function simulateBuilt(b: { scenario: Scenario; program: Program; pamtPoolPages: number | null }, w: WorkloadPoint, vcpuThreads: number, o: SimOptions, fromWorkload = false): SimResult & { scenario: Scenario; program: Program } {
  const built = { simPages: w.pages, scale: 1, vcpuThreads };
  const overrides = o.overrides ?? {};
  const { scenario, program, pamtPoolPages } = b;
  const m = o.costs;
  const n = program.threads.length;
  const seed = o.seed ?? 1;
  const kickNs = m.kickBase + m.kickPerVcpu * w.vcpus;
  const vpFlushNs = leafCost(m, "tdh_vp_flush", false) * w.vcpus;
  // The model kicks the vCPUs itself (kickAllVcpus() in src/kvm/tdx.ts: one step per vCPU, then the
  // wait for acknowledgements, each charged by the kvm rules) whenever the scenario has vCPUs, i.e.
  // any thread bound to a vCPU (vcpu, fault, pre-fault, vp-init): the model's nVcpus. Only a TD
  // without modelled vCPUs (the teardown workload) gets the kick charged after TRACK from the cost
  // model's kick terms. Deciding this on the vCPU/fault threads alone charged both for a teardown
  // beside vp-init or pre-fault threads.
  const modelKicks = scenario.threads.some((t) => "vcpu" in t);
  const noVcpuThreads = !modelKicks;
  const trace = o.trace;

  // Per-thread state of the SEAMCALL being executed.
  const curLeaf: (string | null)[] = new Array<string | null>(n).fill(null);
  const charged = new Uint8Array(n);
  const busyNow = new Uint8Array(n);
  // Metrics.
  const busy = new Map<string, number>();
  let retries = 0;
  let vpEnterBusy = 0;
  let zeroStep = 0;
  let kvmBugOns = 0;
  let faults = 0;
  let moduleNs = 0;
  let activeNs = 0;
  const mmu = { readHoldNs: 0, writeHoldNs: 0, readWaitNs: 0, writeWaitNs: 0, writeAcquisitions: 0, maxWriteHoldNs: 0 };
  const mmuSince = new Float64Array(n).fill(-1);
  const mmuMode = new Uint8Array(n);
  const lat = new Map<string, Samples>();
  const opStart = new Float64Array(n);
  // Per thread: the reading of the label of the step that ran last (null before its first step).
  const lastInfo: ({ leaf: string | null } | null)[] = new Array<{ leaf: string | null } | null>(n).fill(null);
  const stepInfo: ({ leaf: string | null } | null)[] = new Array<{ leaf: string | null } | null>(n).fill(null);
  const kindOf = program.threads.map((t) => t.name.replace(/\d+$/, ""));
  const sample = (k: string, x: number): void => {
    let s = lat.get(k);
    if (!s) lat.set(k, (s = new Samples()));
    s.add(x);
  };

  // What a step's label says, computed once per distinct label (labels repeat; a few carry
  // counters, hence the cap): the SEAMCALL leaf (or guest-side module flow) it belongs to and that
  // leaf's costs, or the KVM step's cost and what it counts. One map lookup per step replaces the
  // prefix tests and the regular expression. The model's hot labels are interned (lbl, src/engine/
  // label.ts): the same string object each time, its hash computed once, so the lookup is cheap; a
  // label built fresh would be copied flat and hashed on every step (≈ 15 % of a run before).
  const F_RETRY = 1;
  const F_VPBUSY = 2;
  const F_BUGON = 4;
  const F_SEPT_ACQ = 8;
  const F_RELEASE = 16;
  const F_ZERO_STEP = 32;
  const F_KICK_VCPU = 64;
  interface LabelInfo {
    leaf: string | null;
    /** KVM step: its cost; module step: the leaf's cost when it does its work. */
    cost: number;
    busyCost: number;
    flags: number;
  }
  const leafNames = new Map<string, string>();
  const labelInfo = new Map<string, LabelInfo>();
  const computeInfo = (label: string): LabelInfo => {
    let leaf = leafOf(label);
    if (leaf !== null) {
      const canon = leafNames.get(leaf);
      if (canon === undefined) leafNames.set(leaf, leaf);
      else leaf = canon;
      let flags = 0;
      if (label.endsWith("sept_lock_acquire_host") || label.endsWith("sept_lock_acquire_guest")) flags |= F_SEPT_ACQ;
      if (label.endsWith("sept_lock_release") || label.endsWith("commit entry")) flags |= F_RELEASE;
      if (label.includes("stepping filter: secure_ept_lock")) flags |= F_ZERO_STEP;
      return { leaf, cost: leafCost(m, leaf, false), busyCost: leafCost(m, leaf, true), flags };
    }
    let cost = m.kvmStep;
    for (const rule of m.rules)
      if (label.includes(rule.match)) {
        cost = rule.value;
        break;
      }
    let flags = 0;
    // The local retry loop's VM-dead check runs once per RET_PF_RETRY (vcpu.ts tdxHandleEptViolation).
    if (label.startsWith("tdx_handle_ept_violation: kvm_check_request")) flags |= F_RETRY;
    if (label.startsWith("vcpu_enter_guest: TDH.VP.ENTER") && label.includes("BUSY")) flags |= F_VPBUSY;
    if (label.startsWith("kvm_vm_bugged()")) flags |= F_BUGON;
    if (label.includes("kvm_request_needs_ipi")) flags |= F_KICK_VCPU;
    return { leaf: null, cost, busyCost: cost, flags };
  };
  const infoOf = (label: string): LabelInfo => {
    let i = labelInfo.get(label);
    if (i === undefined) {
      i = computeInfo(label);
      // Capped small: a literal TD's labels that carry a GFN or PFN are each seen a few times only,
      // and a table of 100 000 of them made every lookup a cache miss.
      if (labelInfo.size < LABEL_CACHE) labelInfo.set(label, i);
    }
    return i;
  };

  // A thread's next op is the op of its next step: the reading of its label is kept and reused
  // then (one label lookup per step instead of two).
  const nextOp: (Op | null)[] = new Array<Op | null>(n).fill(null);
  const nextInfo: (LabelInfo | null)[] = new Array<LabelInfo | null>(n).fill(null);
  const costs: TimedCosts = {
    stepCost(t, op, r, next) {
      const li = nextOp[t] === op ? nextInfo[t]! : infoOf(op.label);
      stepInfo[t] = li;
      const leaf = li.leaf;
      let d = 0;
      if (leaf !== null) {
        if (curLeaf[t] !== leaf) {
          curLeaf[t] = leaf;
          charged[t] = 0;
          busyNow[t] = 0;
        }
        // A failed try-lock or entry lock: this call returns TDX_OPERAND_BUSY (on that operand).
        const tryLock = op.k === K.TryEx || op.k === K.TryShared;
        if ((tryLock && r === 0) || (op.k === K.Rmw && (li.flags & F_SEPT_ACQ) !== 0 && (r & TDEL) !== 0)) {
          busyNow[t] = 1;
          const operand = op.k === K.Rmw ? "S-EPT entry" : program.world.name(op.o);
          const key = `${leaf} ${operand}`;
          busy.set(key, (busy.get(key) ?? 0) + 1);
        }
        if (tryLock && (li.flags & F_ZERO_STEP) !== 0) zeroStep++;
        const ni = next !== null ? infoOf(next.label) : null;
        nextOp[t] = next;
        nextInfo[t] = ni;
        const sameNext = ni !== null && ni.leaf === leaf;
        // The leaf's cost goes on the step before its first lock release (or its last step).
        if (!charged[t] && (!sameNext || next!.k === K.ReleaseEx || next!.k === K.ReleaseShared || (next!.k === K.Rmw && (ni!.flags & F_RELEASE) !== 0))) {
          charged[t] = 1;
          d += busyNow[t] === 1 ? li.busyCost : li.cost;
          if (leaf === "guest walk" || leaf === "tdg_mem_page_accept") d += m.think;
        }
        if (!sameNext) {
          curLeaf[t] = null;
          if (leaf === "tdh_mem_track" && noVcpuThreads) d += kickNs;
          // tdx_mmu_release_hkid() runs TDH.VP.FLUSH for every vCPU before TDH.MNG.VPFLUSHDONE;
          // without modelled vCPUs (the teardown workload) the loop has no steps: charge it here.
          if (leaf === "tdh_mng_vpflushdone" && noVcpuThreads) d += vpFlushNs;
        }
        moduleNs += d;
      } else {
        curLeaf[t] = null;
        nextOp[t] = null;
        d = li.cost;
        const f = li.flags;
        if (f !== 0) {
          // kvm_make_vcpu_request() (virt/kvm/kvm_main.c, kvm-x86/linux@09c6f74ecb86): a vCPU
          // that kvm_request_needs_ipi() finds OUTSIDE_GUEST_MODE goes into no IPI mask; only
          // the request bit and the mode cmpxchg are paid for it (the step), not an IPI (the rule).
          if (f & F_KICK_VCPU && modeOf(r) === VCPU_MODE.OUTSIDE) d = m.kvmStep;
          if (f & F_RETRY) retries++;
          if (f & F_VPBUSY) vpEnterBusy++;
          if (f & F_BUGON) kvmBugOns++;
        }
      }
      activeNs += d;
      return d;
    },
    spins(op) {
      // Sleeping waits: a mutex (slots_lock), synchronize_srcu. Everything else spins: mmu_lock
      // (an rwlock), spinlocks, the vCPU kick's wait for acknowledgements, the entry gate.
      if (op.k === K.Lock && program.world.name(op.o) === "slots_lock") return false;
      if (op.label.includes("synchronize_srcu")) return false;
      return true;
    },
    choose(_t, k, op, u) {
      const l = op.label;
      let p = 0;
      if (l.startsWith("inject TDX_OPERAND_BUSY")) {
        p = m.prob["inject-busy"];
        if (u < p) {
          // An environment-injected BUSY (another agent): counted under the leaf it was injected into.
          const key = `${l.slice("inject TDX_OPERAND_BUSY into ".length).toLowerCase().replace(/\./g, "_")} (injected)`;
          busy.set(key, (busy.get(key) ?? 0) + 1);
        }
      }
      else if (l.startsWith("tdp_mmu_iter_cond_resched")) p = m.prob["zap-yield"];
      else if (l.includes("kvm_vcpu_has_events")) p = m.prob.events;
      else if (l.includes("is_interrupt_pending_guest_side")) p = m.prob["accept-interrupt"];
      else if (l.includes("hp_lock_timeout")) p = m.prob["hp-timeout"];
      return u < p ? Math.min(1, k - 1) : 0;
    },
  };

  const mmuLockId = program.world.objs.find((x) => x.name === "mmu_lock")?.id ?? -2;
  const observer: TimedObserver = {
    step(t, op, _r, start, dur, waited) {
      lastInfo[t] = stepInfo[t]!;
      if (trace) trace(program.threads[t]!.name, op.label, dur);
      if (op.o === mmuLockId && (op.k === K.RLock || op.k === K.RUnlock || op.k === K.WAnnounce || op.k === K.WAcquire || op.k === K.WUnlock)) {
        switch (op.k) {
          case K.RLock:
            mmu.readWaitNs += waited;
            mmuSince[t] = start;
            mmuMode[t] = 1;
            break;
          case K.WAnnounce:
            mmu.writeWaitNs += waited;
            break;
          case K.WAcquire:
            mmu.writeWaitNs += waited;
            mmuSince[t] = start;
            mmuMode[t] = 2;
            mmu.writeAcquisitions++;
            break;
          case K.RUnlock:
            if (mmuSince[t]! >= 0) mmu.readHoldNs += start - mmuSince[t]!;
            mmuSince[t] = -1;
            break;
          case K.WUnlock:
            if (mmuSince[t]! >= 0) {
              const h = start - mmuSince[t]!;
              mmu.writeHoldNs += h;
              if (h > mmu.maxWriteHoldNs) mmu.maxWriteHoldNs = h;
            }
            mmuSince[t] = -1;
            break;
        }
      }
    },
    progress(t, time) {
      // The operation that just completed: a fault (KVM side) or a guest action (module side), or
      // the thread's flow (conversion, punch hole, teardown).
      let k = kindOf[t]!;
      if (k === "vCPU") {
        const fault = (lastInfo[t]?.leaf ?? null) === null;
        k = fault ? "fault" : "accept";
        if (fault) faults++;
      }
      sample(k, time - opStart[t]!);
      opStart[t] = time;
      // For the stall budget, only the guest's progress counts on a vCPU thread: a KVM fault that
      // re-enters the guest without the guest getting further (a spurious fault after a
      // stepping-filter exit, a BUSY re-entry) is not progress; the accept or access it leads to is.
      return k !== "fault";
    },
  };

  const maxSteps = o.maxSteps ?? 2_000_000;
  const invariantStride = o.invariantStride ?? 1;
  const r = timedRun(program, {
    costs,
    observer,
    seed,
    cpus: m.cpus > 0 ? m.cpus : n,
    jitter: m.jitter,
    slice: m.slice,
    handoff: m.handoff,
    maxSteps,
    ...(o.stallSteps !== undefined ? { stallSteps: o.stallSteps } : {}),
    invariantStride,
  });
  const scale = 1;
  const timeNs = r.time * scale;
  const latency: Record<string, LatencySummary> = {};
  for (const [k, s] of [...lat].sort(([a], [b]) => a.localeCompare(b))) latency[k] = s.summary();
  const busyOut: Record<string, number> = {};
  for (const [k, v] of [...busy].sort(([a], [b]) => a.localeCompare(b))) busyOut[k] = v;
  // An assertion that names a model limit (a fixed-size pool or encoding of the model, e.g. the
  // Dynamic PAMT page pool) is not a finding about the protocol: the point is past what the model
  // holds, and the run ends as `model-limit` (reported, not charted, not a failure).
  const limitHit = r.violations.find((v) => v.message.startsWith("model limit:"));
  const found = r.violations.filter((v) => v !== limitHit);
  // Computed only when there is a finding (it hashes every object of the program).
  const fp = found.length > 0 ? simFingerprint(program, scenario, o.preset, overrides) : "";
  const findings: Finding[] = found.map((v) => ({
    property: v.property,
    message: v.message,
    thread: v.thread >= 0 ? program.threads[v.thread]!.name : "-",
    step: v.step,
    timeNs: v.time,
    schedule: v.schedule ? formatSchedule(v.schedule) : "",
    scenario,
    preset: o.preset,
    overrides,
    fingerprint: fp,
    sim: {
      format: SIM_RECORD_FORMAT,
      ...(fromWorkload ? { workload: { ...w } } : {}),
      point: { ...w },
      vcpuThreads,
      literal: o.literal === true,
      preset: o.preset,
      overrides: { ...overrides },
      ...(o.module ? { module: o.module } : {}),
      ...(o.zeroStepThreshold !== undefined ? { zeroStepThreshold: o.zeroStepThreshold } : {}),
      seed,
      maxSteps,
      ...(o.stallSteps !== undefined ? { stallSteps: o.stallSteps } : {}),
      invariantStride,
      costs: costsRecord(m),
      threads: n,
      pamtPoolPages,
      step: v.step,
      scheduleDigest: v.schedule ? scheduleDigest(v.schedule) : "",
    },
  }));
  return {
    scenario,
    program,
    workload: w,
    preset: o.preset,
    overrides,
    ...(o.module ? { module: o.module } : {}),
    seed,
    simPages: built.simPages,
    scale,
    extrapolated: scale > 1,
    end: limitHit ? "model-limit" : r.end,
    ...(limitHit ? { limit: limitHit.message } : {}),
    steps: r.steps,
    simTimeNs: r.time,
    timeNs,
    // Pages per second only for a run that completed its pages (a stalled or cut run did not).
    pagesPerSec: r.time > 0 && r.end === "done" ? (built.simPages / r.time) * 1e9 : 0,
    faultsPerSec: r.time > 0 ? (faults / r.time) * 1e9 : 0,
    faults: faults * scale,
    latency,
    busy: busyOut,
    retries: retries * scale,
    vpEnterBusy: vpEnterBusy * scale,
    zeroStep: zeroStep * scale,
    kvmBugOns,
    mmuLock: {
      readHoldNs: mmu.readHoldNs * scale,
      writeHoldNs: mmu.writeHoldNs * scale,
      readWaitNs: mmu.readWaitNs * scale,
      writeWaitNs: mmu.writeWaitNs * scale,
      writeAcquisitions: mmu.writeAcquisitions,
      maxWriteHoldNs: mmu.maxWriteHoldNs,
    },
    moduleNs: moduleNs * scale,
    moduleShare: activeNs > 0 ? moduleNs / activeNs : 0,
    findings,
  };
}

/** Sample sizes and seeds (offsets from the run's seed) fitted for an extrapolated point. */
const FIT_PAGES = [9, 13, 17, 21, SIM_MAX_PAGES];
const FIT_SEEDS = [0, 1, 2];

/**
 * One workload point at any size. Up to SIM_MAX_PAGES pages it is simulated as is. Beyond, it is
 * simulated at several model sizes (FIT_PAGES, each with FIT_SEEDS) and every additive figure
 * (time, counts, lock hold and wait, module time) is extrapolated along the least-squares line
 * through them (fixed costs such as a TD-wide cache flush stay fixed, per-page costs scale; several
 * sizes and seeds keep the jitter out of the slope); latency percentiles are those of the
 * SIM_MAX_PAGES sample with the run's seed. The result says `extrapolated`.
 */
export function simulatePoint(w: WorkloadPoint, o: SimOptions): SimResult {
  if (w.pages <= SIM_MAX_PAGES || (o.literal === true && w.pages <= SIM_MAX_LITERAL_PAGES)) {
    const { scenario: _s, program: _p, ...r } = simulate(w, o);
    return r;
  }
  const seed = o.seed ?? 1;
  const runs: { pages: number; r: SimResult }[] = [];
  for (const pages of FIT_PAGES)
    for (const ds of FIT_SEEDS) {
      const { scenario: _a, program: _b, ...r } = simulate({ ...w, pages }, { ...o, seed: seed + ds });
      runs.push({ pages, r });
    }
  const hi = runs.find((x) => x.pages === SIM_MAX_PAGES && x.r.seed === seed)!.r;
  const xs = runs.map((x) => x.pages);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) * (x - mx), 0);
  const fit = (get: (r: SimResult) => number): number => {
    const ys = runs.map((x) => get(x.r));
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / sxx;
    return Math.max(0, my + slope * (w.pages - mx));
  };
  const busy: Record<string, number> = {};
  for (const k of [...new Set(runs.flatMap((x) => Object.keys(x.r.busy)))].sort()) busy[k] = fit((r) => r.busy[k] ?? 0);
  const timeNs = fit((r) => r.simTimeNs);
  const faults = fit((r) => r.faults);
  return {
    ...hi,
    workload: w,
    simPages: SIM_MAX_PAGES,
    scale: w.pages / SIM_MAX_PAGES,
    extrapolated: true,
    timeNs,
    pagesPerSec: timeNs > 0 ? (w.pages / timeNs) * 1e9 : 0,
    faultsPerSec: timeNs > 0 ? (faults / timeNs) * 1e9 : 0,
    faults,
    busy,
    retries: fit((r) => r.retries),
    vpEnterBusy: fit((r) => r.vpEnterBusy),
    zeroStep: fit((r) => r.zeroStep),
    mmuLock: {
      readHoldNs: fit((r) => r.mmuLock.readHoldNs),
      writeHoldNs: fit((r) => r.mmuLock.writeHoldNs),
      readWaitNs: fit((r) => r.mmuLock.readWaitNs),
      writeWaitNs: fit((r) => r.mmuLock.writeWaitNs),
      writeAcquisitions: hi.mmuLock.writeAcquisitions,
      maxWriteHoldNs: fit((r) => r.mmuLock.maxWriteHoldNs),
    },
    moduleNs: fit((r) => r.moduleNs),
    steps: runs.reduce((a, x) => a + x.r.steps, 0),
    findings: runs.flatMap((x) => x.r.findings),
  };
}
