// The VM-wide KVM state the flows share: struct kvm / struct kvm_tdx fields the model needs.
//
// Models (fields of) struct kvm (mmu_lock, mmu_invalidate_seq/in_progress/range, vm_bugged,
// mem_attr_array, slots_lock), struct kvm_tdx (state, hkid, wait_for_sept_zap, nr_premapped,
// page_add_src, tdh_mem_track), struct kvm_vcpu (mode), guest_memfd's GFN → PFN binding and the
// host's page ownership, so that "freed while still mapped" is observable.
import { Atomic, Counter, Mutex, SpinLock, type World } from "../engine/index.js";
import { nGfns, pagesPerEntry, tablesAt, type Geometry } from "./geometry.js";
import { Mirror, type MirrorInit } from "./mirror.js";
import { MmuLock } from "./mmu_lock.js";
import type { Protocol } from "./protocol.js";
import type { KvmPamt } from "./tdx_pamt.js";
import type { KvmHuge } from "./hugepage.js";

/** kvm_tdx->state */
export const TD_STATE = { UNINITIALIZED: 0, INITIALIZED: 1, RUNNABLE: 2 } as const;
/**
 * vcpu->mode (include/linux/kvm_host.h): OUTSIDE_GUEST_MODE, IN_GUEST_MODE, EXITING_GUEST_MODE, in
 * the low 2 bits of the vCPU's mode cell; bits 2.. are the kickers (one bit per thread) whose IPI
 * this vCPU has not acknowledged yet (smp_call_function_many() with wait). The vCPU acknowledges
 * every pending IPI when it goes back to OUTSIDE_GUEST_MODE (host interrupts enabled again).
 */
export const VCPU_MODE = { OUTSIDE: 0, IN_GUEST: 1, EXITING: 2 } as const;
export const modeOf = (v: number): number => v & 3;
export const ipiPendingOf = (v: number): number => v >>> 2;
/** Memslot state: valid, KVM_MEMSLOT_INVALID (being deleted), gone. */
export const SLOT = { VALID: 0, INVALID: 1, DELETED: 2 } as const;
/** Page (folio) ownership, low 2 bits of a page cell; bits 2.. count extra references (pins). */
export const PAGE = { GMEM: 0, FREED: 1, LEAKED: 2 } as const;

const fmtTdState = (v: number) => ["UNINITIALIZED", "INITIALIZED", "RUNNABLE"][v] ?? String(v);
const fmtMode = (v: number) => {
  const m = ["OUTSIDE_GUEST_MODE", "IN_GUEST_MODE", "EXITING_GUEST_MODE"][v & 3] ?? String(v & 3);
  const p = v >>> 2;
  if (!p) return m;
  const who: number[] = [];
  for (let i = 0; i < KICKER_BITS; i++) if (p & (1 << i)) who.push(i);
  return `${m} IPI from T${who.join(",T")}`;
};
const fmtSlot = (v: number) => ["valid", "KVM_MEMSLOT_INVALID", "deleted"][v] ?? String(v);
const fmtPage = (v: number) => `${["gmem", "freed", "leaked"][v & 3]}${v >> 2 ? ` pins=${v >> 2}` : ""}`;
const fmtBool = (v: number) => (v ? "true" : "false");
// One formatter for every GFN's cell (a 1 GiB TD has 262 144 of each).
const fmtAttr = (v: number) => (v ? "private" : "shared");
const fmtGmem = (v: number) => (v ? `pfn ${v}` : "hole");
// Names of the per-GFN and per-PFN cells, built when asked for (World LazyName: a 1 GiB TD has 1 M of them).
const attrName = (g: number): string => `mem_attr[${g}]`;
const gmemName = (g: number): string => `gmem[${g}]`;
const pageName = (p: number): string => `page[pfn ${p}]`;

/** Window key of GFN `gfn` for the no-stale-private-leaf property (distinct from mirror entry keys). */
export function staleLeafKey(gfn: number): number {
  return 1_000_000 + gfn;
}

/** Does the in-progress invalidation packed in `v` cover `gfn`? */
export function invalidateCovers(v: number, gfn: number): boolean {
  const u = unpackInvalidate(v);
  return u.count > 0 && gfn >= u.start && gfn < u.end;
}

/**
 * The in-progress invalidation, packed in one cell: count, [start, end) — for a VM of at most 255
 * GFNs (every checker geometry). A larger VM (simulation) keeps the kernel's three fields in three
 * cells (Kvm.invalidateWide; mmu.ts invalidateRetryGfn()).
 */
export const INVALIDATE_PACKED_GFNS = 255;
export function packInvalidate(count: number, start: number, end: number): number {
  return (count << 16) | (start << 8) | end;
}
export function unpackInvalidate(v: number): { count: number; start: number; end: number } {
  return { count: v >>> 16, start: (v >> 8) & 0xff, end: v & 0xff };
}
const fmtInvalidate = (v: number) => {
  const u = unpackInvalidate(v);
  return u.count === 0 ? "none" : `in_progress=${u.count} [${u.start},${u.end})`;
};

export interface KvmInit {
  mirror?: MirrorInit;
  /** GFNs whose attribute is shared (default: all private). */
  shared?: readonly number[];
  /** GFNs that are holes in guest_memfd. */
  holes?: readonly number[];
  tdState?: number;
  hkidAssigned?: boolean;
  nrPremapped?: number;
  /** Model kvm->srcu readers (only needed when a memslot is deleted). */
  trackSrcu?: boolean;
  /** vCPU threads whose end teardown waits for. */
  liveVcpus?: number;
  /** Pins initially held on PFNs (≤6.18 pinning of pages already mapped). */
  pins?: readonly { pfn: number; count: number }[];
  /**
   * Base GFNs of 2M-aligned blocks (the `fanout` GFNs under one level-2 entry) that guest_memfd
   * backs with one 2M folio: their PFNs are 2M aligned and contiguous (hugeFolioPfnBase()).
   */
  hugeFolios?: readonly number[];
  /** Mirror tables from a pool (simulation of large TDs, mirror.ts pool mode). */
  lazyTables?: boolean;
  /**
   * Threads that run on a vCPU (kinds vcpu, fault, pre-fault, vp-init): with more than
   * KICKER_BITS threads (a simulation), the other threads get the kicker bits first (kickBit).
   */
  vcpuThreads?: readonly number[];
}

/** Kicker bits in a vCPU's mode cell (bits 2-31). */
export const KICKER_BITS = 30;

export class Kvm {
  readonly mmuLock: MmuLock;
  readonly mirror: Mirror;
  readonly nGfns: number;
  /** kvm->mem_attr_array: 1 = KVM_MEMORY_ATTRIBUTE_PRIVATE. */
  readonly attrs: Atomic[];
  /** guest_memfd binding: the PFN backing each GFN (0 = hole). */
  readonly gmem: Atomic[];
  /** gmem->bindings: the memslot is bound to the guest_memfd range (cleared by kvm_gmem_unbind()). */
  readonly gmemBound: Atomic;
  /** Per PFN (index = pfn): ownership and pins. */
  readonly pages: Atomic[];
  readonly invalidateSeq: Counter;
  /** mmu_invalidate_in_progress and the range, packed (packInvalidate); with invalidateWide, the count alone. */
  readonly invalidate: Atomic;
  /**
   * A VM of more than 255 GFNs: mmu_invalidate_range_start / _end in cells of their own (the count
   * stays in `invalidate`), as the kernel keeps them (include/linux/kvm_host.h struct kvm); null below.
   */
  readonly invalidateWide: { start: Atomic; end: Atomic } | null;
  readonly slot: Atomic;
  readonly vmBugged: Atomic;
  readonly waitForSeptZap: Atomic;
  readonly tdState: Atomic;
  readonly preFaultAllowed: Atomic;
  readonly hkid: Atomic;
  readonly nrPremapped: Counter;
  /** v11 kvm_tdx->tdh_mem_track: vCPUs spin in tdx_flush_tlb while non-zero. */
  readonly tdhMemTrack: Counter;
  readonly pageAddSrc: Atomic;
  readonly seamcallLock: SpinLock;
  readonly slotsLock: Mutex;
  /** kvm->lock (first lock of tdx_vm_state_guard). */
  readonly kvmLock: Mutex;
  /** vcpu->mutex per vCPU (held by KVM_RUN and every vCPU ioctl). */
  readonly vcpuMutex: Mutex[];
  /** guest_memfd's filemap_invalidate_lock (one file). */
  readonly gmemLock: Mutex;
  /** slot->gmem.file is still set (cleared by kvm_gmem_release()). */
  readonly gmemFile: Atomic;
  /** Threads that run on a vCPU take its vcpu->mutex (set when a scenario has a tdx_vm_state_guard user). */
  vcpuMutexes = false;
  /**
   * The scenario tears the VM down while vCPU threads may still run: faults check slot->gmem.file
   * and vCPU threads count themselves out of liveVcpus when they end (their fds closed).
   */
  liveTeardown = false;
  /**
   * Ghost (model only, no-stale-private-leaf): per thread id, a cell that is 1 while that thread's
   * invalidation of [start, end) is in progress past its begin section (its zap done), and its
   * range; null for threads that never invalidate, and null altogether when no two invalidations
   * can be in progress at once (the kernel's one range is then the one invalidation's own range).
   * kvm_mmu_invalidate_range_add() (virt/kvm/kvm_main.c) merges concurrent ranges into one
   * [min, max) that faults retry on, but what each invalidation zapped is its own range: a GFN in
   * the gap between two is still legitimately mapped (scenario.ts staleLeafMessage()).
   */
  zappedRanges: ({ cell: Atomic; start: number; end: number } | null)[] | null = null;
  /** vCPU threads still running (file descriptors open): kvm_destroy_vm() waits for none. */
  readonly liveVcpus: Counter;
  readonly vcpuMode: Atomic[];
  /**
   * Per thread: its bit among the kickers of a vCPU's mode cell, or −1. The thread id while there
   * are at most KICKER_BITS threads (every checker scenario: values unchanged). With more (a
   * simulation with many vCPUs), the threads that do not run on a vCPU (the zappers, converters,
   * teardown: the kickers of tdx_track()) get bits first, then vCPU threads in id order; a thread
   * left without a bit that kicks ends the run as a model limit (kickAllVcpus()).
   */
  readonly kickBit: readonly number[];
  /** Per vCPU: inside an SRCU read-side section of kvm->srcu (vcpu_run / fault handling). */
  readonly srcuReaders: Atomic[];
  /** Dynamic PAMT kernel state (refcounts, pamt_lock, PAMT caches); null when the protocol has it off. Set by the builder. */
  pamt: KvmPamt | null = null;
  /** S-EPT huge-page state (lpage_info, folio orders, per-VM PAMT cache); null unless hugepage=on. Set by the builder. */
  huge: KvmHuge | null = null;
  /** First PFN of the 2M folios of Kvm init.hugeFolios (0: none). */
  readonly hugeBase: number;
  private readonly hugeBlocks: ReadonlySet<number>;

  constructor(
    world: World,
    readonly geo: Geometry,
    readonly proto: Protocol,
    nThreads: number,
    readonly nVcpus: number,
    init: KvmInit = {},
  ) {
    this.nGfns = nGfns(geo);
    this.mmuLock = new MmuLock(world);
    this.mirror = new Mirror(world, geo, nThreads, init.mirror ?? {}, proto.frozenName, 2 * this.nGfns + 1, { pool: init.lazyTables === true });
    const shared = new Set(init.shared ?? []);
    const holes = new Set(init.holes ?? []);
    const ppb = pagesPerEntry(geo, 2);
    this.hugeBlocks = new Set((init.hugeFolios ?? []).map((g) => Math.floor(g / ppb)));
    this.hugeBase = this.hugeBlocks.size ? hugeFolioPfnBase(geo, nThreads) : 0;
    const gmemPfn = (g: number) => this.pfnOf(g);
    this.attrs = Array.from({ length: this.nGfns }, (_, g) => new Atomic(world, { of: attrName, i: g }, shared.has(g) ? 0 : 1, fmtAttr));
    this.gmem = Array.from({ length: this.nGfns }, (_, g) => new Atomic(world, { of: gmemName, i: g }, holes.has(g) ? 0 : gmemPfn(g), fmtGmem));
    this.gmemBound = new Atomic(world, "gmem->bindings", 1, (v) => (v ? "slot bound" : "unbound"));
    const pins = new Map((init.pins ?? []).map((p) => [p.pfn, p.count]));
    this.pages = Array.from({ length: this.hugeBase ? this.hugeBase + this.nGfns : 2 * this.nGfns + 1 }, (_, p) => new Atomic(world, { of: pageName, i: p }, (pins.get(p) ?? 0) << 2, fmtPage));
    this.invalidateSeq = new Counter(world, "mmu_invalidate_seq", 0);
    if (this.nGfns > INVALIDATE_PACKED_GFNS) {
      this.invalidate = new Atomic(world, "mmu_invalidate_in_progress", 0);
      this.invalidateWide = { start: new Atomic(world, "mmu_invalidate_range_start", 0), end: new Atomic(world, "mmu_invalidate_range_end", 0) };
    } else {
      this.invalidate = new Atomic(world, "mmu_invalidate_in_progress", 0, fmtInvalidate);
      this.invalidateWide = null;
    }
    this.slot = new Atomic(world, "memslot", SLOT.VALID, fmtSlot);
    // 1 = kvm_vm_bugged() (bugged, hence dead); 2 = kvm_vm_dead() alone (dead, not bugged): the
    // state KVM_REQ_VM_DEAD checks read is one cell, the distinction is in the value.
    this.vmBugged = new Atomic(world, "vm_bugged", 0, (v) => (v === 2 ? "dead (not bugged)" : fmtBool(v)));
    this.waitForSeptZap = new Atomic(world, "wait_for_sept_zap", 0, fmtBool);
    const td = init.tdState ?? TD_STATE.RUNNABLE;
    this.tdState = new Atomic(world, "kvm_tdx->state", td, fmtTdState);
    this.preFaultAllowed = new Atomic(world, "pre_fault_allowed", td === TD_STATE.RUNNABLE ? 1 : 0, fmtBool);
    this.hkid = new Atomic(world, "hkid_assigned", init.hkidAssigned === false ? 0 : 1, fmtBool);
    this.nrPremapped = new Counter(world, "nr_premapped", init.nrPremapped ?? 0);
    this.tdhMemTrack = new Counter(world, "tdh_mem_track", 0);
    this.pageAddSrc = new Atomic(world, "page_add_src", 0);
    this.seamcallLock = new SpinLock(world, "seamcall_lock");
    this.slotsLock = new SpinLock(world, "slots_lock");
    this.kvmLock = new SpinLock(world, "kvm->lock");
    this.vcpuMutex = Array.from({ length: nVcpus }, (_, v) => new SpinLock(world, `vcpu${v}->mutex`));
    this.gmemLock = new SpinLock(world, "filemap_invalidate_lock");
    this.gmemFile = new Atomic(world, "slot->gmem.file", 1, (v) => (v ? "file" : "NULL"));
    this.liveVcpus = new Counter(world, "vcpu fds open", init.liveVcpus ?? 0);
    this.srcuReaders = Array.from({ length: init.trackSrcu ? nVcpus : 0 }, (_, v) => new Atomic(world, `vcpu${v}.srcu_read_lock`, 0, fmtBool));
    this.vcpuMode = Array.from({ length: nVcpus }, (_, v) => new Atomic(world, `vcpu${v}.mode`, VCPU_MODE.OUTSIDE, fmtMode));
    if (nThreads <= KICKER_BITS) this.kickBit = Array.from({ length: nThreads }, (_, t) => t);
    else {
      const onVcpu = new Set(init.vcpuThreads ?? []);
      const order = [...Array.from({ length: nThreads }, (_, t) => t).filter((t) => !onVcpu.has(t)), ...Array.from({ length: nThreads }, (_, t) => t).filter((t) => onVcpu.has(t))];
      const bits = new Array<number>(nThreads).fill(-1);
      order.slice(0, KICKER_BITS).forEach((t, b) => (bits[t] = b));
      this.kickBit = bits;
    }
  }

  /** The in-progress invalidation now (peek; for checks outside thread code). */
  peekInvalidate(): { count: number; start: number; end: number } {
    if (this.invalidateWide === null) return unpackInvalidate(this.invalidate.peek());
    return { count: this.invalidate.peek(), start: this.invalidateWide.start.peek(), end: this.invalidateWide.end.peek() };
  }
  /** Cells of the in-progress invalidation (footprints). */
  invalidateIds(): number[] {
    return this.invalidateWide === null ? [this.invalidate.id] : [this.invalidate.id, this.invalidateWide.start.id, this.invalidateWide.end.id];
  }

  /** The PFN guest_memfd initially backs `gfn` with. */
  pfnOf(gfn: number): number {
    if (this.hugeBlocks.has(Math.floor(gfn / pagesPerEntry(this.geo, 2)))) return this.hugeBase + gfn;
    return gmemPfn(gfn);
  }
  /** The PFN of the folio guest_memfd allocates for `gfn` after a hole was punched. */
  altPfnOf(gfn: number): number {
    return this.nGfns + 1 + gfn;
  }
}

/**
 * First PFN of the 2M folios (S-EPT huge pages): after the external (S-EPT) page slots of the mirror,
 * rounded up to a 2M boundary, so that the folio of block b is PFNs base + b·fanout … (aligned, as
 * TDH.MEM.PAGE.AUG of a 2M page requires).
 */
export function hugeFolioPfnBase(geo: Geometry, nThreads: number): number {
  let sps = 0;
  for (let level = 1; level < geo.levels; level++) sps += tablesAt(geo, level) * nThreads;
  const end = 2 * nGfns(geo) + 1 + sps;
  const ppb = pagesPerEntry(geo, 2);
  return Math.ceil(end / ppb) * ppb;
}

/** guest_memfd backs GFN g with PFN g+1 (PFN 0 is never used, so 0 can mean "hole"). */
export function gmemPfn(gfn: number): number {
  return gfn + 1;
}
