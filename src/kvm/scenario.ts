// Scenarios: geometry, initial state, threads, protocol, properties, witnesses and expected
// verdicts — and the builder that turns one into an engine Program under a preset.
import { Atomic, defineProgram, type IncrementalCheck, type Program, type QuiescentInvariant, type ThreadApi } from "../engine/index.js";
import { PT, pamtPt } from "../tdx/pamt.js";
import { isLeafState, pfnOf, S, stateOf } from "../tdx/sept.js";
import type { TdxVersion } from "../tdx/td.js";
import { PROP, type Ctx } from "./context.js";
import { flowsFor } from "./threads.js";
import { DEFAULT_GEOMETRY, type Geometry } from "./geometry.js";
import { gmemPfn, hugeFolioPfnBase, Kvm, PAGE, staleLeafKey, TD_STATE } from "./kvm.js";
import { pagesPerEntry } from "./geometry.js";
import { hugeInvariants, KvmHuge } from "./hugepage.js";
import { DEFAULT_PRESET, moduleVersionFor, resolveProtocol, type Protocol } from "./protocol.js";
import { formatSpte, isFrozen, isLeaf, isTable, spteToPfn, spteToSp, SPTE_NP } from "./spte.js";
import { SEPT_STATE_PFN_MASK, TdxAdapter, type InitialMapping } from "./tdx_adapter.js";
import { KvmPamt, PoolSet, pamtInvariants } from "./tdx_pamt.js";
import { POOL_MAX_PAGES } from "../tdx/dpamt.js";
import type { GuestAction } from "./vcpu.js";

export type ThreadDecl =
  | { kind: "fault"; name?: string; vcpu: number; gfn: number; events?: boolean }
  | { kind: "vcpu"; name?: string; vcpu: number; actions: GuestAction[] }
  | { kind: "zap"; name?: string; start: number; end: number; slotsLock?: boolean }
  | { kind: "set-attributes"; name?: string; start: number; end: number; to: "private" | "shared" }
  | { kind: "punch-hole"; name?: string; start: number; end: number }
  | { kind: "memslot-delete"; name?: string }
  | { kind: "init-mem-region"; name?: string; gfn: number }
  | { kind: "vp-init"; name?: string; vcpu: number }
  | { kind: "teardown"; name?: string }
  | { kind: "finalize"; name?: string }
  | { kind: "pre-fault"; name?: string; vcpu: number; gfn: number }
  /** Another TD maps or unmaps physical page `pfn` (its PAMT footprint and tdx_pamt_get/put only). */
  | { kind: "other-td"; name?: string; pfn: number; op: "map" | "unmap" };

export type Expect = "verified" | { violated: string };

export interface Scenario {
  name: string;
  description: string;
  geometry?: Geometry;
  initial?: {
    /** TD state: built and runnable (default) or still being built (INITIALIZED). */
    td?: "runnable" | "building";
    /** Mirror tables (and their S-EPT pages) linked: the table at KVM `level` covering `gfn`. */
    tables?: { level: number; gfn: number }[];
    /** Private 4K pages mapped in both the mirror and the S-EPT (PENDING = AUGed, not yet accepted). */
    leaves?: { gfn: number; state?: "MAPPED" | "PENDING" }[];
    /** GFNs whose attribute is shared. */
    shared?: number[];
    /** TDH.VP.INIT already done (default true). */
    vcpusInitialized?: boolean;
    /** PFNs another TD has mapped at the start (they share 2M ranges, refcounts and pairs with this TD). */
    otherTd?: number[];
    /**
     * Dynamic PAMT: the 2M range in which the page allocator's pages for PAMT pairs physically lie
     * (default: ranges no PAMT.ADD/REMOVE targets). PAMT.ADD and DEMOTE then walk that range SH for
     * their pair pages (src/tdx/dpamt.ts), which lets another TD's PAMT.ADD of it race a DEMOTE (R5).
     */
    pamtPairRange?: number;
    /**
     * S-EPT huge pages: base GFNs of 2M blocks (the `fanout` GFNs under one level-2 entry) that
     * guest_memfd backs with one 2M folio (2M-aligned, contiguous PFNs).
     */
    hugeFolios?: number[];
    /**
     * 2M blocks mapped at the start (base GFN; the block must be a huge folio). With hugepage=on
     * one 2M leaf in the mirror and the S-EPT; on every other preset (4K only) each GFN of the block
     * as a 4K leaf under a linked level-1 table — what that kernel maps for the same guest.
     */
    hugeLeaves?: { gfn: number; state?: "MAPPED" | "PENDING" }[];
  };
  threads: ThreadDecl[];
  /** Switch overrides on top of the preset. */
  overrides?: Record<string, string>;
  /** TDX module version (default: the module model's default). */
  module?: {
    version?: TdxVersion;
    zeroStepThreshold?: number;
    pendingVeDisable?: boolean;
    /**
     * TDX_FEATURES0.ENHANCE_DEMOTE_INTERRUPTIBILITY (module 1.5.28.00.972+ per Yan Zhao's v3 cover,
     * lore 20260106101646.24809-1-yan.y.zhao@intel.com, restriction 2). Default true: the huge-page
     * design requires it (v3 turns huge pages off without it), so the model's DEMOTE/PROMOTE see no
     * host interrupt. false: a pending host interrupt may end them with TDX_INTERRUPTED_RESTARTABLE.
     */
    enhancedDemote?: boolean;
  };
  /** SEAMCALL names into which the environment may inject TDX_OPERAND_BUSY (default none). */
  inject?: string[];
  /** Write-lock zap loops may drop and re-take mmu_lock between GFNs (default false). */
  zapYields?: boolean;
  /** Properties checked (default: all). */
  properties?: string[];
  /** Label substrings that must be reached somewhere in the exploration. */
  witnesses?: string[];
  /** Expected verdict per preset. */
  expected: Record<string, Expect>;
  /**
   * Why each expected verdict holds, per preset: the upstream fix or mail for an expected
   * violation, the reason for "verified". Without it an expectation is only a snapshot of the model.
   */
  why?: Record<string, string>;
  /** Strategy hint for runners (default cache: stateful search). */
  strategy?: "dpor" | "exhaustive" | "cache";
  /** Interchangeable threads (symmetry reduction of the stateful search; src/kvm/symmetry.ts). */
  symmetry?: import("./symmetry.js").SymmetryDecl[];
}

export interface BuiltModel {
  kvm: Kvm;
  tdx: TdxAdapter;
  proto: Protocol;
}

/** Check agreement of one entry (a quiescent mirror leaf and its S-EPT entry agree); null when it holds. */
export function agreementMessage(m: BuiltModel, level: number, gfn: number, final: boolean): string | null {
  const { kvm, tdx, proto } = m;
  // Once the HKID is released the TD's S-EPT is dead: only reclaim remains (no agreement to keep).
  if (kvm.hkid.peek() === 0) return null;
  const me = kvm.mirror.peekEntry(level, gfn);
  const mv = me ? me.value : SPTE_NP;
  if (isFrozen(mv)) return final ? `L${level} gfn ${gfn}: mirror entry still ${proto.frozenName} at the end` : null;
  const s = tdx.peekEntry(level, gfn);
  const st = s?.state ?? "FREE";
  // The message parts are built only for a failure (the check runs after every step that writes an
  // entry; module-level helpers, so that a check that holds allocates no closures).
  // S-EPT huge pages (H-1): a mirror 2M leaf ⇔ an S-EPT 2M leaf (PENDING/MAPPED) of the same head PFN.
  if (level > 1 && isLeaf(mv)) {
    if ((st === "PENDING" || st === "MAPPED") && s!.pfn === spteToPfn(mv)) return null;
    return `${agreeWhere(level, gfn)}: mirror ${formatSpte(mv, proto.frozenName)} (2M leaf) but ${agreeSdesc(st, s)}`;
  }
  if (level === 1) {
    if (isLeaf(mv)) {
      const p = spteToPfn(mv);
      if ((st === "PENDING" || st === "MAPPED") && s!.pfn === p) return null;
      // ≤6.18: a pre-mapped entry (mirror LEAF, S-EPT FREE) counted by nr_premapped before RUNNABLE.
      if (st === "FREE" && proto.is("page-add", "premap") && kvm.tdState.peek() !== TD_STATE.RUNNABLE && kvm.nrPremapped.peek() > 0) return null;
      return `${agreeWhere(level, gfn)}: mirror ${formatSpte(mv, proto.frozenName)} but ${agreeSdesc(st, s)}`;
    }
    if (st === "FREE") return null;
    return `${agreeWhere(level, gfn)}: mirror ${formatSpte(mv, proto.frozenName)} (not present) but ${agreeSdesc(st, s)}`;
  }
  if (isTable(mv)) {
    const sp = kvm.mirror.sp(spteToSp(mv));
    if (st === "NL_MAPPED" && s!.pfn === sp.externalPfn) return null;
    return `${agreeWhere(level, gfn)}: mirror ${formatSpte(mv, proto.frozenName)} (external page ${sp.externalPfn}) but ${agreeSdesc(st, s)}`;
  }
  if (st === "FREE" || s === null) return null;
  return `${agreeWhere(level, gfn)}: mirror ${formatSpte(mv, proto.frozenName)} but ${agreeSdesc(st, s)}`;
}

/** Parts of an agreement message. */
function agreeWhere(level: number, gfn: number): string {
  return `L${level} gfn ${gfn}`;
}
function agreeSdesc(st: string, s: { pfn: number } | null): string {
  return `S-EPT ${st}${s && s.pfn >= 0 ? ` pfn ${s.pfn}` : ""}`;
}

/** The no-stale-private-leaf check of one GFN; null when it holds. */
export function staleLeafMessage(m: BuiltModel, gfn: number): string | null {
  const { kvm, tdx } = m;
  if (kvm.hkid.peek() === 0) return null;
  // The 4K leaf of the GFN, or (S-EPT huge pages) the 2M leaf covering it.
  let s = tdx.peekEntry(1, gfn);
  if (!s) s = tdx.peekEntry(2, gfn);
  if (!s || s.state === "FREE" || s.state.startsWith("NL_")) return null;
  if (kvm.attrs[gfn]!.peek() === 0) return `gfn ${gfn}: S-EPT ${s.state} pfn ${s.pfn} but the GFN's memory attribute is shared`;
  // What must hold no private leaf is what an in-progress invalidation zapped (its own range, past
  // its begin section), not the range faults retry on: kvm_mmu_invalidate_range_add()
  // (virt/kvm/kvm_main.c, kvm-x86/linux@69c7916df569) merges concurrent invalidations into one
  // [min start, max end) that persists until the last one ends, so a GFN between two disjoint ranges
  // is in it but was never zapped and is legitimately mapped. With one invalidation in progress at
  // a time the kernel's range is that invalidation's own (and its begin section keeps the window
  // open): it is read directly; otherwise the ghost cells say which ranges are zapped (Kvm.zappedRanges).
  const z = kvm.zappedRanges;
  if (z === null) {
    const u = kvm.peekInvalidate();
    if (u.count > 0 && gfn >= u.start && gfn < u.end) return `gfn ${gfn}: S-EPT ${s.state} pfn ${s.pfn} inside the in-progress invalidation [${u.start},${u.end}) after its zap`;
    return null;
  }
  for (const r of z)
    if (r !== null && gfn >= r.start && gfn < r.end && r.cell.peek() === 1) return `gfn ${gfn}: S-EPT ${s.state} pfn ${s.pfn} inside the in-progress invalidation [${r.start},${r.end}) after its zap`;
  return null;
}

/** How a program is built beyond scenario and preset. */
export interface BuildOptions {
  /**
   * Simulation of a large TD: mirror tables from a pool (mirror.ts pool mode) instead of one slot
   * per position and thread. The program then runs once, under the timed scheduler only.
   */
  lazyTables?: boolean;
  /**
   * Built for a simulation (the timed scheduler): pools sized for the scenario instead of the
   * checker's fixed ones. Today: with Dynamic PAMT and more than 3 vCPUs, the PAMT page pool holds
   * every vCPU's cache (2 × levels pages each) beside a pair per 2M range, instead of 30 pages (which
   * 3 vCPUs never exhaust, so smaller simulations keep the pool, and their results, as they were).
   */
  simulation?: boolean;
}

/** The PAMT page pool of a simulation (BuildOptions.simulation), or undefined for the default 30 pages. */
export function simPamtPoolPages(nVcpus: number, levels: number, fanout: number, pfns: number): number | undefined {
  if (nVcpus <= 3) return undefined;
  // Pairs for every 2M range of the TD's PFNs (with TDR and TDVPR pages), plus every cache full
  // (the vCPUs' and the VM's), plus one pair in flight per vCPU.
  const ranges = Math.ceil((pfns + 1 + nVcpus) / fanout);
  return Math.min(POOL_MAX_PAGES, 2 * ranges + 2 * levels * (nVcpus + 1) + 2 * nVcpus);
}

/** Build the engine program of `scenario` under `preset` (+ overrides). */
export function buildProgram(scenario: Scenario, preset = DEFAULT_PRESET, overrides: Record<string, string> = {}, opts: BuildOptions = {}): Program {
  return buildProgramWithModel(scenario, preset, overrides, opts).program;
}

/** Same, also returning the model objects (for inspection with peek() after an exploration). */
export function buildProgramWithModel(scenario: Scenario, preset = DEFAULT_PRESET, overrides: Record<string, string> = {}, opts: BuildOptions = {}): { program: Program; model: BuiltModel } {
  const geo = scenario.geometry ?? DEFAULT_GEOMETRY;
  const name = `${scenario.name}@${preset}${Object.keys(overrides).length ? "+" + Object.entries(overrides).map(([k, v]) => `${k}=${v}`).join(",") : ""}`;
  let built: BuiltModel | undefined;
  const program = defineProgram(name, (w) => {
    const proto = resolveProtocol(preset, { ...(scenario.overrides ?? {}), ...overrides });
    const init = scenario.initial ?? {};
    const nThreads = scenario.threads.length;
    const vcpuIdx = scenario.threads.flatMap((t) => ("vcpu" in t ? [t.vcpu] : []));
    const nVcpus = vcpuIdx.length ? Math.max(...vcpuIdx) + 1 : 0;
    const building = init.td === "building";
    const huge = proto.values["hugepage"] === "on";
    const ppb = pagesPerEntry(geo, 2);
    const hugeBlocks = new Set((init.hugeFolios ?? []).map((g) => Math.floor(g / ppb)));
    const hugeBase = hugeBlocks.size ? hugeFolioPfnBase(geo, nThreads) : 0;
    const pfnFor = (g: number) => (hugeBlocks.has(Math.floor(g / ppb)) ? hugeBase + g : gmemPfn(g));
    const leaves = (init.leaves ?? []).map((l) => ({ gfn: l.gfn, pfn: pfnFor(l.gfn), state: l.state ?? "MAPPED" }));
    const hugeLeaves = (init.hugeLeaves ?? []).map((l) => ({ gfn: l.gfn, pfn: pfnFor(l.gfn), state: l.state ?? "MAPPED" }));
    const tables = [...(init.tables ?? [])];
    if (!huge) {
      // 4K-only presets map the same guest's block with 4K leaves.
      for (const hl of hugeLeaves) {
        tables.push({ level: 1, gfn: hl.gfn });
        for (let i = 0; i < ppb; i++) leaves.push({ gfn: hl.gfn + i, pfn: hl.pfn + i, state: hl.state });
      }
    }
    const pinning = proto.is("pinning", "on");
    const kvm = new Kvm(w, geo, proto, nThreads, nVcpus, {
      hugeFolios: init.hugeFolios ?? [],
      mirror: { tables, leaves, hugeLeaves: huge ? hugeLeaves : [] },
      shared: init.shared ?? [],
      tdState: building ? TD_STATE.INITIALIZED : TD_STATE.RUNNABLE,
      trackSrcu: scenario.threads.some((t) => t.kind === "memslot-delete"),
      pins: pinning ? leaves.map((l) => ({ pfn: l.pfn, count: 1 })) : [],
      liveVcpus: scenario.threads.filter((t) => t.kind === "fault" || t.kind === "vcpu" || t.kind === "pre-fault").length,
      lazyTables: opts.lazyTables === true,
      vcpuThreads: scenario.threads.flatMap((t, i) => (t.kind === "vcpu" || t.kind === "fault" || t.kind === "pre-fault" || t.kind === "vp-init" ? [i] : [])),
    });
    kvm.liveTeardown = scenario.threads.some((t) => t.kind === "teardown");
    // Two invalidations in progress at once (no-stale-private-leaf's ghost cells, Kvm.zappedRanges):
    // set_memory_attributes and guest_memfd release hold slots_lock across theirs, so they never
    // overlap each other; a punch hole holds the guest_memfd lock (filemap_invalidate_lock, as the
    // release does; gmem-lock=on), so it overlaps a conversion, and with gmem-lock=off another
    // punch hole or the release too.
    const invRange = (t: ThreadDecl): [number, number] | null =>
      t.kind === "set-attributes" || t.kind === "punch-hole" ? [t.start, t.end] : t.kind === "teardown" ? [0, kvm.nGfns] : null;
    const count = (k: ThreadDecl["kind"]) => scenario.threads.filter((t) => t.kind === k).length;
    const punches = count("punch-hole");
    if (punches > 0 && (count("set-attributes") > 0 || (!proto.is("gmem-lock", "on") && punches + count("teardown") >= 2)))
      kvm.zappedRanges = scenario.threads.map((t, i) => {
        const r = invRange(t);
        return r === null ? null : { cell: new Atomic(w, `ghost: ${t.name ?? defaultName(t, i)} invalidated [${r[0]},${r[1]}), in progress`, 0), start: r[0], end: r[1] };
      });
    kvm.vcpuMutexes = proto.is("state-guard", "on") && scenario.threads.some((t) => t.kind === "init-mem-region" || t.kind === "vp-init" || t.kind === "finalize");
    // The S-EPT mirrors the initial mirror: every linked table's parent entry NL_MAPPED, every leaf.
    const initial: InitialMapping[] = [];
    const leafAt = new Map(leaves.map((l) => [l.gfn, l] as const));
    for (const e of kvm.mirror.allEntries()) {
      const mv = kvm.mirror.initialEntry(e.level, e.gfn);
      if (mv === null) continue;
      if (isTable(mv)) {
        const sp = kvm.mirror.sp(spteToSp(mv));
        initial.push({ gpa: e.gfn, level: e.level - 1, state: "NL_MAPPED", pfn: sp.externalPfn });
      } else if (isLeaf(mv) && e.level > 1) {
        const l = hugeLeaves.find((x) => x.gfn === e.gfn)!;
        initial.push({ gpa: e.gfn, level: e.level - 1, state: l.state, pfn: spteToPfn(mv) });
      } else if (isLeaf(mv)) {
        const l = leafAt.get(e.gfn)!;
        initial.push({ gpa: e.gfn, level: 0, state: l.state, pfn: spteToPfn(mv) });
      }
    }
    // Dynamic PAMT needs module support (TDX_FEATURES0.DYNAMIC_PAMT, 1.5.20+; 1.5.16 has stubs):
    // otherwise tdx_supports_dynamic_pamt() is false and every helper is a no-op.
    const version = moduleVersionFor(scenario.module?.version, preset) as TdxVersion;
    const dpamt = proto.values["dpamt"] === "on" && !["1.0", "1.5.16"].includes(version);
    const pfns = Math.max(kvm.mirror.externalBase + kvm.mirror.sps.length, hugeBase ? hugeBase + kvm.nGfns : 0);
    const poolPages = dpamt && opts.simulation === true ? simPamtPoolPages(Math.max(1, nVcpus), geo.levels, geo.fanout, pfns) : undefined;
    const tdx = new TdxAdapter(w, {
      levels: geo.levels,
      fanout: geo.fanout,
      version,
      zeroStepThreshold: scenario.module?.zeroStepThreshold,
      // TD ATTRIBUTES.SEPT_VE_DISABLE (bit 28; the only attribute KVM_SUPPORTED_TDX_TD_ATTRS allows,
      // set by QEMU's default TDX policy): a guest access to a PENDING page exits to KVM instead of #VE.
      pendingVeDisable: scenario.module?.pendingVeDisable,
      demoteHostInterrupts: scenario.module?.enhancedDemote === false,
      vcpus: Math.max(1, nVcpus),
      pfns,
      opState: building ? "INITIALIZED" : "RUNNABLE",
      vcpusInitialized: init.vcpusInitialized ?? true,
      initial,
      dpamt: dpamt && (init.pamtPairRange !== undefined || poolPages !== undefined) ? { ...(init.pamtPairRange !== undefined ? { pairRange: init.pamtPairRange } : {}), ...(poolPages !== undefined ? { poolPages } : {}) } : dpamt,
      foreign: init.otherTd ?? [],
    });
    // Dynamic PAMT: the kernel's refcounts start equal to the module's page counts (tdx_pamt.ts).
    // D-10 needs to know which TD holds a reference: ghost cells only when there is another TD.
    const otherTd = (init.otherTd?.length ?? 0) > 0 || scenario.threads.some((t) => t.kind === "other-td") ? (init.otherTd ?? []) : null;
    if (dpamt) kvm.pamt = new KvmPamt(w, tdx.mod, Math.max(1, nVcpus), geo.levels, otherTd);
    // S-EPT huge pages: lpage_info, folio orders, the per-VM PAMT cache (hugepage=on only).
    // A VM whose guest_memfd has no 2M folio can never map 2M (the max level is bounded by the folio
    // order): the model then runs none of the huge-page code (docs/model.md "hugepage", abstracted).
    if (huge && hugeBlocks.size > 0) {
      kvm.huge = new KvmHuge(w, kvm, init.hugeFolios ?? [], init.shared ?? []);
      if (kvm.pamt) kvm.pamt.vmCache = new PoolSet(w, "kvm_tdx->pamt_cache", kvm.pamt.poolBase, kvm.pamt.poolPages, { initial: [], stack: false, slots: kvm.pamt.topupPairs });
    }
    const pamtInv = kvm.pamt ? pamtInvariants(kvm.pamt, tdx.mod, kvm.huge?.demoting) : { invariants: [], quiescent: [], final: [] };
    const hugeInv = hugeInvariants(kvm, tdx);
    const model: BuiltModel = { kvm, tdx, proto };
    built = model;
    const inject = new Set(scenario.inject ?? []);
    const threads = scenario.threads.map((d, i) => ({
      name: d.name ?? defaultName(d, i),
      // A plain function returning the flow's generator (not a generator delegating to it: one
      // level less to forward on every step); the reset runs when the thread is created, just
      // before its first step, as every caller runs the new generator right away.
      body: (t: ThreadApi) => {
        kvm.mmuLock.resetThread(t.id);
        // KVM_TDX_INIT_MEM_REGION is a vCPU ioctl (tdx_vcpu_unlocked_ioctl → vcpu_load): vCPU 0 is loaded.
        const runningVcpu = d.kind === "init-mem-region" ? 0 : undefined;
        const c: Ctx = { t, kvm, tdx, proto, vcpu: "vcpu" in d ? d.vcpu : -1, inject, zapYields: scenario.zapYields === true, runningVcpu };
        return flowsFor(c, d);
      },
    }));
    const entries = kvm.mirror.allEntries();
    const entryOf = new Map(entries.map((e) => [kvm.mirror.key(e.level, e.gfn), e] as const));
    const quiescent: QuiescentInvariant = {
      name: PROP.agreement,
      keys: entries.map((e) => kvm.mirror.key(e.level, e.gfn)),
      objsOf: (key) => {
        const e = entryOf.get(key)!;
        return [...kvm.mirror.cellsFor(e.level, e.gfn), ...tdx.objsOf(e.level, e.gfn), kvm.tdState.id, kvm.nrPremapped.id];
      },
      // Of the S-EPT entries the check reads only state and PFN (tdx.peekEntry); DPOR does not
      // order a write that changes neither (a lock bit) with the key's other writes (Invariant.masks).
      masksOf: (key) => {
        const e = entryOf.get(key)!;
        return [...kvm.mirror.cellsFor(e.level, e.gfn).map(() => -1), ...tdx.objsOf(e.level, e.gfn).map(() => SEPT_STATE_PFN_MASK), -1, -1];
      },
      check: (key) => {
        const e = entryOf.get(key)!;
        return agreementMessage(model, e.level, e.gfn, false);
      },
    };
    // Pool mode: a pool table's cell holds the entry of the position its table was handed out to.
    if (kvm.mirror.pool)
      quiescent.dynamicKeysOf = (obj) => {
        const e = kvm.mirror.poolCellEntry(obj);
        return e === null ? null : [kvm.mirror.key(e.level, e.gfn)];
      };
    // No private S-EPT leaf for a shared GFN or inside an in-progress invalidation.
    const gfns = Array.from({ length: kvm.nGfns }, (_, g) => g);
    const ghostsOf = (g: number): Atomic[] => (kvm.zappedRanges ?? []).flatMap((r) => (r !== null && g >= r.start && g < r.end ? [r.cell] : []));
    const staleLeaf: QuiescentInvariant = {
      name: PROP.staleLeaf,
      keys: gfns.map((g) => staleLeafKey(g)),
      objsOf: (key) => {
        const g = key - staleLeafKey(0);
        return [kvm.attrs[g]!.id, ...kvm.invalidateIds(), kvm.hkid.id, ...tdx.objsOf(1, g), ...ghostsOf(g).map((c) => c.id)];
      },
      masksOf: (key) => [-1, ...kvm.invalidateIds().map(() => -1), -1, ...tdx.objsOf(1, key - staleLeafKey(0)).map(() => SEPT_STATE_PFN_MASK), ...ghostsOf(key - staleLeafKey(0)).map(() => -1)],
      check: (key) => staleLeafMessage(model, key - staleLeafKey(0)),
    };
    return {
      threads,
      ...(opts.simulation === true ? { simulationOnly: true } : {}),
      quiescent: [quiescent, staleLeaf, ...pamtInv.quiescent, ...hugeInv.quiescent],
      invariants: [
        {
          name: PROP.freedWhileMapped,
          // Its footprint, so that partial-order reduction only orders the writes it can observe,
          // and the bits it reads of each cell: a page's state (PAGE, low 2 bits), an S-EPT
          // entry's state and PFN (stateOf/pfnOf: bits 0-2 and 10-31; not the TDEL/TDHP lock bits
          // nor the accept counter), a PAMT entry's page type (pamtPt: bits 0-2). DPOR does not
          // order a write that changes none of them (engine/program.ts, Invariant.masks).
          objs: [...kvm.pages.map((c) => c.id), ...tdx.allEntryObjs()],
          masks: [...kvm.pages.map(() => 3), ...tdx.allEntryMasks()],
          check: () => {
            for (let p = 1; p < kvm.pages.length; p++)
              if ((kvm.pages[p]!.peek() & 3) === PAGE.FREED && tdx.mapsPfn(p)) return freedMessage(p);
            return null;
          },
          incremental: () => freedWhileMappedIncremental(kvm, tdx),
        },
        ...pamtInv.invariants,
        ...hugeInv.invariants,
      ],
      final: [
        {
          name: PROP.agreementFinal,
          check: () => {
            for (const e of entries) {
              const m = agreementMessage(model, e.level, e.gfn, true);
              if (m) return m;
            }
            return null;
          },
        },
        ...pamtInv.final,
      ],
      properties: Object.values(PROP),
      // The final checks (agreement at the end, D-9) read only World cells through peek(): the
      // engine need not run finished threads' code again before them (engine/program.ts).
      finalWorldOnly: true,
    };
  });
  return { program, model: built! };
}

const freedMessage = (p: number): string => `pfn ${p} was freed by guest_memfd while the S-EPT still maps it`;

/**
 * freed-while-mapped from what changed (simulation; the full check scans every page and, for each
 * freed one, every S-EPT entry). Keeps, per PFN, how many S-EPT leaves map it (from a copy of every
 * entry's last value, updated when a step writes the entry), and after a step re-evaluates only the
 * PFNs whose page cell, PAMT cell or mapping changed: the same predicate as check() (freed, mapped
 * by a leaf, PAMT not PT_NDA), reporting the smallest failing PFN, as the scan would.
 */
function freedWhileMappedIncremental(kvm: Kvm, tdx: TdxAdapter): IncrementalCheck {
  const td = tdx.td;
  const span = (l: number) => td.geo.span(l);
  let maxId = 0;
  for (const c of kvm.pages) maxId = Math.max(maxId, c.id);
  for (const row of td.entries) for (const c of row) maxId = Math.max(maxId, c.id);
  for (const c of td.pamt) maxId = Math.max(maxId, c.id);
  // role: 1 page (idx = pfn), 2 PAMT (idx = pfn), 3 + level S-EPT entry (idx = index in the level).
  const role = new Int8Array(maxId + 1);
  const idx = new Int32Array(maxId + 1);
  kvm.pages.forEach((c, p) => ((role[c.id] = 1), (idx[c.id] = p)));
  td.pamt.forEach((c, p) => ((role[c.id] = 2), (idx[c.id] = p)));
  td.entries.forEach((row, l) => row.forEach((c, i) => ((role[c.id] = 3 + l), (idx[c.id] = i))));
  const nPages = kvm.pages.length;
  const mapped = new Int32Array(nPages);
  const shadow = td.entries.map((row) => Int32Array.from(row, (c) => c.peek()));
  const mapRange = (l: number, v: number, d: number, dirty: number[]) => {
    const s = stateOf(v);
    if (!isLeafState(s) || s === S.FREE) return;
    const p = pfnOf(v);
    for (let q = Math.max(0, p); q < Math.min(nPages, p + span(l)); q++) {
      mapped[q]! += d;
      dirty.push(q);
    }
  };
  for (let l = 0; l < shadow.length; l++) for (const v of shadow[l]!) mapRange(l, v, 1, []);
  const dirty: number[] = [];
  return {
    wrote(obj) {
      if (obj >= role.length) return;
      const r = role[obj]!;
      if (r === 0) return;
      if (r < 3) dirty.push(idx[obj]!);
      else {
        const l = r - 3;
        const i = idx[obj]!;
        const row = shadow[l]!;
        const v = td.entries[l]![i]!.peek();
        if (v === row[i]) return;
        mapRange(l, row[i]!, -1, dirty);
        mapRange(l, v, 1, dirty);
        row[i] = v;
      }
    },
    check() {
      if (dirty.length === 0) return null;
      let worst = -1;
      for (const p of dirty) {
        if (p < 1 || p >= nPages || (worst >= 0 && p >= worst)) continue;
        if ((kvm.pages[p]!.peek() & 3) !== PAGE.FREED || mapped[p] === 0) continue;
        // mapsPfn(): a page the module reclaimed (PAMT back to PT_NDA) is no longer the TD's.
        if (td.pamt[p] && pamtPt(td.pamt[p]!.peek()) === PT.NDA) continue;
        worst = p;
      }
      dirty.length = 0;
      return worst < 0 ? null : freedMessage(worst);
    },
  };
}

function defaultName(d: ThreadDecl, i: number): string {
  switch (d.kind) {
    case "fault":
    case "vcpu":
      return `vCPU${d.vcpu}`;
    case "zap":
      return "zapper";
    default:
      return `${d.kind}${i}`;
  }
}
