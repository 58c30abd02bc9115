// Dynamic PAMT on the kernel side: pamt_refcounts[], pamt_lock, tdx_pamt_get()/tdx_pamt_put(), the
// per-vCPU tdx_pamt_cache and its top-up, and where KVM's S-EPT hooks call them.
//
// Sources (the queued series, tip x86/tdx 2026-09-04, post-receive Message-Id
// 178855960206.2641471.1406752437850749129@gitolite.kernel.org; the v6 posting it came from,
// cover Message-ID 20260526023515.288829-1-rick.p.edgecombe@intel.com):
//   5386c5288001 "Allocate refcounts for Dynamic PAMT memory"  (v6 04/11): one atomic_t per 2M
//     range (index pfn >> 9; here: pfn / fanout), counting the users of the range's page pair;
//   eca9d4a3f1f8 "Handle multiple callers in tdx_pamt_get/put()" (v6 05/11, Message-ID
//     20260526023515.288829-6-rick.p.edgecombe@intel.com; reviewed in
//     ak8MghJ4OKmsXAWE@yzhao56-desk.sh.intel.com): the global DEFINE_SPINLOCK(pamt_lock), refcount
//     read/changed only under it, PAMT.ADD/REMOVE issued with it held ("lock-always");
//   v6 06/11 "Optimize tdx_pamt_get/put()" (Message-ID 20260526023515.288829-7-rick.p.edgecombe@intel.com):
//     atomic_inc_not_zero() fast path and atomic_dec_and_lock() ("fast-path"). No commit of that
//     subject is in the queued set, so which of the two is queued is not confirmed;
//   2c8ca2ba9bb6 "Add APIs to support Dynamic PAMT ops from KVM's fault path" (v6 08/11):
//     struct tdx_pamt_cache, tdx_topup_pamt_cache(), pairs drawn from the cache (no fallback);
//   d7fe610e6a66 "KVM/TDX: Get/put PAMT pages when (un)mapping private memory" (v6 09/11,
//     Message-ID 20260526023515.288829-10-rick.p.edgecombe@intel.com): KVM_BUG_ON(!vcpu) from
//     kvm_get_running_vcpu(), get before SEPT.ADD / AUG / PAGE.ADD and put on any error of it (inside
//     the freeze), put after the leaf removal's reset, tdx_free_control_page() (put + free) after the
//     S-EPT page's RECLAIM; topup_external_cache() from mmu_topup_memory_caches().
//
// Abstractions: the page allocator hands out the lowest free pool page (which free page it returns
// is not explored); pair pages are pool pages (src/tdx/dpamt.ts); the cache holds pages, not
// struct page lists; tdx_quirk_reset_paddr() of a returned pair is not a step.
import { Atomic, SpinLock, type Invariant, type QuiescentInvariant, type World } from "../engine/index.js";
import type { TdxModule } from "../tdx/index.js";
import { POOL_WORD_BITS } from "../tdx/dpamt.js";
import { C, statusCode, statusName, TDX_SUCCESS } from "../tdx/status.js";
import { PROP, kvmBugOn, warnOn, type Ctx, type Gen } from "./context.js";
import { isFrozen } from "./spte.js";

export const ENOMEM = -12;
const EIO = -5;

/** Property names of the Dynamic PAMT invariants (D-1 … D-9, see docs/model.md); part of PROP. */
export const PAMT_PROP = {
  nodeIffReferenced: PROP.pamtNodeIffReferenced,
  refcountCovers: PROP.pamtRefcountCovers,
  noMissingPair: PROP.noMissingPamtPair,
  addRemoveSucceed: PROP.pamtAddRemoveSucceed,
  pairNotReused: PROP.pamtPairNotReused,
  getInFreeze: PROP.pamtGetInFreeze,
  balancedFinal: PROP.pamtBalancedFinal,
  lockDiscipline: PROP.pamtLockDiscipline,
  runningVcpu: PROP.pamtRunningVcpu,
  crossTd: PROP.pamtCrossTd,
} as const;

/** Which TD takes or drops a reference: this VM (0) or the other TD actor (1, src/tdx/foreign_td.ts). */
export type PamtTd = 0 | 1;

/** Window key of 2M range r (get/put sections; D-1 is checked when no section on r is open). */
export function rangeKey(r: number): number {
  return 2_000_000 + r;
}

/** Cache selector of kvm_tdx->pamt_cache, the per-VM cache of splits without a vCPU (S-EPT huge pages, RFC v5 44/45). */
export const VM_PAMT_CACHE = -2;

/** Is Dynamic PAMT on in this protocol? (false for every preset before `dpamt`.) */
export function pamtOn(c: Ctx): boolean {
  return c.kvm.pamt !== null;
}

function popLowest(mask: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 31 && out.length < n; i++) if (mask & (1 << i)) out.push(i);
  return out;
}
function bitsOf(list: readonly number[]): number {
  return list.reduce((m, i) => m | (1 << i), 0);
}
function popcount(m: number): number {
  let n = 0;
  for (let x = m; x; x &= x - 1) n++;
  return n;
}

/**
 * A set of pool pages: the page allocator's free PAMT-pool pages, or a PAMT cache.
 *
 * A pool of at most 30 pages (every checker scenario) is one bit-mask cell, named and valued as
 * before this form existed; each operation on it is one step. A larger pool (a simulation with many
 * vCPUs, BuildOptions.simulation) cannot be one cell, and a scan of many mask words would cost
 * steps (and simulated time) that the kernel's O(1) allocator does not. Pages enter and leave these
 * sets in pairs (a cache is filled to 2 × levels pages and drained two at a time; the allocator
 * hands out and takes back pairs), so the large form keeps pairs:
 *   - the allocator: a stack of pairs (its height in a cell; a popped cell is cleared) under a
 *     spinlock standing for the page allocator's own lock (mm/page_alloc.c: rmqueue(), zone->lock or
 *     the per-CPU list lock of rmqueue_pcplist()):
 *     lock, height, the pairs, unlock;
 *   - a cache (one owner, D-7): `levels` pair slots, 0 = empty (struct tdx_pamt_cache's list).
 * Which free page the allocator returns is not explored in either form (docs/model.md, "dpamt").
 */
export class PoolSet {
  /** Small form: the bit mask (bit i = pool page i). */
  readonly mask: Atomic | null;
  /** Large form: pair cells (0 = empty, else packPair()). */
  readonly pairs: Atomic[];
  /** Large form, allocator: the number of pairs on the stack, and its lock. */
  readonly top: Atomic | null;
  readonly lock: SpinLock | null;
  constructor(world: World, name: string, poolBase: number, poolPages: number, opts: { initial: readonly number[]; stack: boolean; slots: number }) {
    const fmtPair = (v: number) => (v === 0 ? "empty" : `{${unpackPair(v).map((i) => `pfn ${poolBase + i}`).join(",")}}`);
    if (poolPages <= POOL_WORD_BITS) {
      const fmt = (m: number) => `{${popLowest(m, 31).map((i) => `pfn ${poolBase + i}`).join(",")}}`;
      this.mask = new Atomic(world, name, bitsOf(opts.initial), fmt);
      this.pairs = [];
      this.top = null;
      this.lock = null;
      return;
    }
    this.mask = null;
    const init: number[] = [];
    for (let k = 0; k + 1 < opts.initial.length; k += 2) init.push(packPair(opts.initial[k]!, opts.initial[k + 1]!));
    const n = opts.stack ? Math.ceil(poolPages / 2) : opts.slots;
    this.pairs = Array.from({ length: n }, (_, k) => new Atomic(world, `${name}.pair[${k}]`, init[k] ?? 0, fmtPair));
    this.top = opts.stack ? new Atomic(world, `${name}.pairs`, init.length) : null;
    this.lock = opts.stack ? new SpinLock(world, `${name}: allocator lock`) : null;
  }
  get ids(): number[] {
    return [...(this.mask ? [this.mask.id] : []), ...this.pairs.map((x) => x.id), ...(this.top ? [this.top.id] : [])];
  }
  /** Pool indices in the set (peek). */
  peekIndices(): number[] {
    if (this.mask) return popLowest(this.mask.peek(), 31);
    const n = this.top ? this.top.peek() : this.pairs.length;
    return this.pairs.slice(0, n).flatMap((x) => (x.peek() === 0 ? [] : unpackPair(x.peek())));
  }
}
/** Two pool indices in one cell (14 bits each, +1 so that 0 is an empty slot). */
function packPair(a: number, b: number): number {
  return (a + 1) | ((b + 1) << 14);
}
function unpackPair(v: number): [number, number] {
  return [(v & 0x3fff) - 1, ((v >>> 14) & 0x3fff) - 1];
}

/** Number of pages in the set: one load (the mask, or the stack height), or one per cache slot. */
function* poolCount(set: PoolSet, label: string): Gen<number> {
  if (set.mask) return popcount(yield set.mask.load(label));
  if (set.top) return 2 * (yield set.top.load(label));
  let n = 0;
  for (let k = 0; k < set.pairs.length; k++) if ((yield set.pairs[k]!.load(`${label} [slot ${k}]`)) !== 0) n += 2;
  return n;
}

/**
 * Take up to `want` pages (an even number), the lowest first in the small form. With
 * `allOrNothing`, fewer than `want` are left in the set. Returns the pool indices taken.
 */
function* poolTake(set: PoolSet, want: number, allOrNothing: boolean, label: string): Gen<number[]> {
  if (set.mask) {
    const old = yield set.mask.rmw((m) => (!allOrNothing || popcount(m) >= want ? m & ~bitsOf(popLowest(m, want)) : m), label);
    return !allOrNothing || popcount(old) >= want ? popLowest(old, want) : [];
  }
  const n = want / 2;
  const got: number[] = [];
  if (set.top && set.lock) {
    yield set.lock.lock(`${label}: allocator lock`);
    const old = yield set.top.rmw((v) => (v >= n ? v - n : allOrNothing ? v : 0), `${label}: pop ${n} pair(s)`);
    const taken = old >= n ? n : allOrNothing ? 0 : old;
    for (let j = 0; j < taken; j++) got.push(...unpackPair(yield set.pairs[old - 1 - j]!.xchg(0, `${label}: pair ${old - 1 - j}`)));
    yield set.lock.unlock(`${label}: allocator unlock`);
    return got;
  }
  for (let k = 0; k < set.pairs.length && got.length < want; k++) {
    const old = yield set.pairs[k]!.xchg(0, `${label} [slot ${k}]`);
    if (old !== 0) got.push(...unpackPair(old));
  }
  if (allOrNothing && got.length < want) {
    yield* poolAdd(set, got, `${label}: too few, put back`);
    return [];
  }
  return got;
}

/** Add pages (pool indices, an even number: pairs). */
function* poolAdd(set: PoolSet, pages: readonly number[], label: string): Gen<void> {
  if (set.mask) {
    const bits = bitsOf(pages);
    yield set.mask.rmw((m) => m | bits, label);
    return;
  }
  if (set.top && set.lock) {
    yield set.lock.lock(`${label}: allocator lock`);
    for (let j = 0; j + 1 < pages.length; j += 2) {
      const v = packPair(pages[j]!, pages[j + 1]!);
      const old = yield set.top.rmw((h) => h + 1, `${label}: push a pair`);
      yield set.pairs[old]!.store(v, `${label}: pair ${old}`);
    }
    yield set.lock.unlock(`${label}: allocator unlock`);
    return;
  }
  let k = 0;
  for (let j = 0; j + 1 < pages.length; j += 2) {
    const v = packPair(pages[j]!, pages[j + 1]!);
    let placed = false;
    for (; k < set.pairs.length && !placed; k++) placed = (yield set.pairs[k]!.rmw((x) => (x === 0 ? v : x), `${label} [slot ${k}]`)) === 0;
  }
}

/** The kernel's Dynamic PAMT state (arch/x86/virt/vmx/tdx/tdx.c) plus KVM's per-vCPU caches. */
export class KvmPamt {
  /** pamt_refcounts[]: per 2M range. */
  readonly refcount: Atomic[];
  /** pamt_lock (global spinlock, process context only). */
  readonly lock: SpinLock;
  /** The page allocator's free pool pages. */
  readonly free: PoolSet;
  /** Per vCPU: vcpu_tdx->pamt_cache (pool pages). */
  readonly cache: PoolSet[];
  readonly poolBase: number;
  readonly poolPages: number;
  readonly fanout: number;
  /** tdx_topup_external_pamt_cache(vcpu, PT64_ROOT_MAX_LEVEL): pairs kept in a vCPU's cache (scaled: the levels). */
  readonly topupPairs: number;
  /** kvm_tdx->pamt_cache (S-EPT huge pages only; set by the builder with hugepage=on). */
  vmCache: PoolSet | null = null;
  /**
   * Ghost (model only, D-10): per TD (this VM, the other TD) and range, the references it holds.
   * Allocated only when the scenario has another TD; their sum is the refcount outside get/put.
   */
  readonly refsBy: [Atomic[], Atomic[]] | null;

  constructor(world: World, mod: TdxModule, nVcpus: number, levels: number, otherTd: readonly number[] | null = null) {
    const lay = mod.pamtLayout();
    this.poolBase = lay.poolBase;
    this.poolPages = lay.poolPages;
    this.fanout = mod.fanout;
    // "Don't cover the root SPT, but cover a possible 4KB private page": levels − 1 tables + 1 page.
    this.topupPairs = levels;
    // The start: every page in use was got once (refcount = the module's count of each range).
    const counts = mod.pamtInitialCounts();
    this.refcount = Array.from({ length: lay.ranges }, (_, r) => new Atomic(world, `pamt_refcount[range ${r}]`, counts[r]!));
    this.lock = new SpinLock(world, "pamt_lock");
    const free = Array.from({ length: lay.poolPages - 2 * lay.initialNodes }, (_, k) => 2 * lay.initialNodes + k);
    this.free = new PoolSet(world, "page allocator (PAMT pool)", this.poolBase, this.poolPages, { initial: free, stack: true, slots: 0 });
    this.cache = Array.from({ length: nVcpus }, (_, v) => new PoolSet(world, `vcpu${v}.pamt_cache`, this.poolBase, this.poolPages, { initial: [], stack: false, slots: this.topupPairs }));
    if (otherTd) {
      const other = counts.map((_, r) => otherTd.filter((f) => this.rangeOf(f) === r).length);
      this.refsBy = [
        counts.map((n, r) => new Atomic(world, `ghost: this VM's references on range ${r}`, n - other[r]!)),
        other.map((n, r) => new Atomic(world, `ghost: other TD's references on range ${r}`, n)),
      ];
    } else this.refsBy = null;
  }
  rangeOf(pfn: number): number {
    return Math.floor(pfn / this.fanout);
  }
  pfnOf(i: number): number {
    return this.poolBase + i;
  }
}

/** The vCPU whose cache a map helper uses: kvm_get_running_vcpu(), or -1 outside vCPU context. */
function runningVcpu(c: Ctx): number {
  return c.runningVcpu ?? c.vcpu;
}

/** D-7: vcpu_tdx->pamt_cache has no lock; only the thread with that vCPU loaded may touch it. */
function checkCacheOwner(c: Ctx, v: number, what: string): void {
  if (v >= 0 && runningVcpu(c) !== v) c.t.report(PAMT_PROP.runningVcpu, `${what}: vcpu${v}.pamt_cache used by a thread whose running vCPU is ${runningVcpu(c) < 0 ? "none" : `vcpu${runningVcpu(c)}`}`);
}

/**
 * D-6: pamt_lock is a leaf lock (mmu_lock → pamt_lock is the only nesting, v6 05/11): a thread
 * holding it must not acquire mmu_lock, a mutex or pamt_lock again. Called before each such
 * acquisition on the paths that can hold pamt_lock (tdx_pamt.ts, hugepage.ts).
 */
export function checkPamtLockFree(c: Ctx, what: string): void {
  const p = c.kvm.pamt;
  if (p && p.lock.owner() === c.t.id) c.t.report(PAMT_PROP.lockDiscipline, `${what} while holding pamt_lock (pamt_lock must be innermost)`);
}

/**
 * tdx_topup_pamt_cache(&vcpu_tdx->pamt_cache, PT64_ROOT_MAX_LEVEL) via the topup_external_cache op
 * from mmu_topup_memory_caches() (outside mmu_lock, may sleep): fill the running vCPU's cache up to
 * 2 × topupPairs pages from the page allocator. No-op without Dynamic PAMT or a vCPU.
 */
export function* tdxTopupPamtCache(c: Ctx, which?: number): Gen<number> {
  const p = c.kvm.pamt;
  const v = which ?? runningVcpu(c);
  if (!p || v === -1) return 0;
  const cell = v === VM_PAMT_CACHE ? p.vmCache : p.cache[v];
  if (!cell) return 0;
  checkCacheOwner(c, v, "tdx_topup_pamt_cache");
  const have = yield* poolCount(cell, `tdx_topup_pamt_cache: ${v === VM_PAMT_CACHE ? "kvm_tdx->pamt_cache" : `vcpu${v}.pamt_cache`}->cnt`);
  const want = 2 * p.topupPairs - have;
  if (want <= 0) return 0;
  const got = yield* poolTake(p.free, want, false, `tdx_topup_pamt_cache: alloc_page(GFP_KERNEL_ACCOUNT) × ${want}`);
  c.t.assert(got.length === want, `model limit: the PAMT page pool (${p.poolPages} pages) is exhausted`, "assertion");
  yield* poolAdd(cell, got, `tdx_topup_pamt_cache: add ${want} pages to ${v === VM_PAMT_CACHE ? "kvm_tdx->pamt_cache" : `vcpu${v}.pamt_cache`}`);
  return 0;
}

/** alloc_pamt_array(): two pages from `cache` (no fallback: -ENOMEM) or, without a cache, the allocator. */
function* drawPair(c: Ctx, cacheVcpu: number): Gen<number[] | null> {
  const p = c.kvm.pamt!;
  const vm = cacheVcpu === VM_PAMT_CACHE && p.vmCache !== null;
  const src = cacheVcpu >= 0 ? p.cache[cacheVcpu]! : vm ? p.vmCache! : p.free;
  const what = cacheVcpu >= 0 ? `vcpu${cacheVcpu}.pamt_cache` : vm ? "kvm_tdx->pamt_cache" : "alloc_page(GFP_KERNEL_ACCOUNT)";
  checkCacheOwner(c, cacheVcpu, "alloc_pamt_array");
  const got = yield* poolTake(src, 2, true, `alloc_pamt_array: 2 pages from ${what}`);
  return got.length < 2 ? null : got;
}

/** alloc_pamt_array() for DEMOTE's R12/R13 pair (S-EPT huge pages, RFC v5 30/45): pool indices or null. */
export function* tdxDrawPair(c: Ctx, cache: number): Gen<number[] | null> {
  return yield* drawPair(c, cache);
}
/** free_pamt_array() of a pair DEMOTE did not consume. */
export function* tdxFreePair(c: Ctx, pair: readonly number[], why: string): Gen<void> {
  yield* freePair(c, pair, why);
}

/** free_pamt_array(): the pair goes back to the page allocator (never to a cache). */
function* freePair(c: Ctx, pair: readonly number[], why: string): Gen<void> {
  const p = c.kvm.pamt!;
  yield* poolAdd(p.free, pair, `free_pamt_array: __free_page(pfn ${pair.map((i) => p.pfnOf(i)).join(", pfn ")}) [${why}]`);
}

/** PAMT.ADD under the lock; a failure is WARN_ON_ONCE + -EIO (D-4). */
function* pamtAdd(c: Ctx, pfn: number, pair: readonly number[]): Gen<number> {
  const p = c.kvm.pamt!;
  const s = yield* c.tdx.tdhPhymemPamtAdd(pfn, p.pfnOf(pair[0]!), p.pfnOf(pair[1]!));
  if (s !== TDX_SUCCESS) c.t.report(PAMT_PROP.addRemoveSucceed, `TDH.PHYMEM.PAMT.ADD of range ${p.rangeOf(pfn)} returned ${statusName(s)}`);
  return s;
}

/**
 * tdx_pamt_get(pfn, cache) (cacheVcpu −1 = NULL cache: pages from the allocator, as
 * tdx_alloc_control_page() and the other-TD actor use). Returns 0, -ENOMEM or -EIO.
 */
export function* tdxPamtGet(c: Ctx, pfn: number, cacheVcpu: number, td: PamtTd = 0): Gen<number> {
  const p = c.kvm.pamt;
  if (!p) return 0;
  const r = p.rangeOf(pfn);
  const ret = yield* pamtGetBody(c, p, pfn, r, cacheVcpu);
  if (ret === 0 && p.refsBy) yield p.refsBy[td][r]!.rmw((v) => v + 1, `ghost: ${td ? "other TD" : "this VM"} holds a reference on range ${r}`);
  c.t.exit(rangeKey(r));
  return ret;
}

/** Ghost (D-10): `n` references on range r now held by this VM (DEMOTE's refcount 0 → fanout). */
export function* pamtGhostRefs(c: Ctx, r: number, n: number): Gen<void> {
  const g = c.kvm.pamt?.refsBy;
  if (g) yield g[0][r]!.rmw((v) => v + n, `ghost: this VM holds ${n} references on range ${r}`);
}

function* pamtGetBody(c: Ctx, p: KvmPamt, pfn: number, r: number, cacheVcpu: number): Gen<number> {
  const rc = p.refcount[r]!;
  const mode = (c.proto.values["pamt-refcount"] ?? "lock-always");
  const locked = (c.proto.values["pamt-lock"] ?? "global") === "global";
  c.t.enter(rangeKey(r));
  if (mode !== "lock-always") {
    // v6 06/11: atomic_inc_not_zero() — no lock, no pages when the range already has users.
    const old = yield rc.rmw((v) => (v > 0 ? v + 1 : v), `tdx_pamt_get: atomic_inc_not_zero(pamt_refcount[range ${r}])`);
    if (old > 0) return 0;
  }
  const pair = yield* drawPair(c, cacheVcpu);
  if (!pair) return ENOMEM;
  if (locked) checkPamtLockFree(c, "tdx_pamt_get: spin_lock(&pamt_lock)");
  if (locked) yield p.lock.lock(`tdx_pamt_get: spin_lock(&pamt_lock) [range ${r}]`);
  // Re-check under the lock: another get may have done 0 → 1 meanwhile (only the locked path does).
  const cur = yield rc.load(`tdx_pamt_get: atomic_read(pamt_refcount[range ${r}])`);
  if (cur > 0) {
    yield rc.rmw((v) => v + 1, `tdx_pamt_get: atomic_inc(pamt_refcount[range ${r}])`);
    if (locked) yield p.lock.unlock("tdx_pamt_get: spin_unlock(&pamt_lock)");
    yield* freePair(c, pair, "range already backed");
    return 0;
  }
  const s = yield* pamtAdd(c, pfn, pair);
  // v4 (the hypothetical dec-and-test variant): TDX_HPA_RANGE_NOT_FREE means "a put has not removed
  // the pair yet" and counts as success (tdx_hpa_range_not_free()).
  const notFreeOk = mode === "dec-and-test" && statusCode(s) === C.HPA_RANGE_NOT_FREE;
  if (s !== TDX_SUCCESS && !notFreeOk) {
    warnOn(c, true, `tdx_pamt_get: WARN_ON_ONCE(TDH.PHYMEM.PAMT.ADD ${statusName(s)})`);
    if (locked) yield p.lock.unlock("tdx_pamt_get: spin_unlock(&pamt_lock) [PAMT.ADD failed]");
    yield* freePair(c, pair, "PAMT.ADD failed");
    return EIO;
  }
  yield rc.store(1, `tdx_pamt_get: atomic_set(pamt_refcount[range ${r}], 1)`);
  if (locked) yield p.lock.unlock("tdx_pamt_get: spin_unlock(&pamt_lock)");
  if (notFreeOk) yield* freePair(c, pair, "HPA_RANGE_NOT_FREE: pair already installed");
  return 0;
}

/** tdx_pamt_put(pfn): drop a reference; the last one removes the range's pair (PAMT.REMOVE). */
export function* tdxPamtPut(c: Ctx, pfn: number, td: PamtTd = 0): Gen<void> {
  const p = c.kvm.pamt;
  if (!p) return;
  const r = p.rangeOf(pfn);
  c.t.enter(rangeKey(r));
  if (p.refsBy) yield p.refsBy[td][r]!.rmw((v) => v - 1, `ghost: ${td ? "other TD" : "this VM"} drops a reference on range ${r}`);
  yield* pamtPutBody(c, p, pfn, r, td);
  c.t.exit(rangeKey(r));
}

function* pamtPutBody(c: Ctx, p: KvmPamt, pfn: number, r: number, td: PamtTd): Gen<void> {
  const rc = p.refcount[r]!;
  const mode = (c.proto.values["pamt-refcount"] ?? "lock-always");
  const locked = (c.proto.values["pamt-lock"] ?? "global") === "global";
  const lock = () => {
    checkPamtLockFree(c, "tdx_pamt_put: spin_lock(&pamt_lock)");
    return p.lock.lock(`tdx_pamt_put: spin_lock(&pamt_lock) [range ${r}]`);
  };
  const unlock = (why = "") => p.lock.unlock(`tdx_pamt_put: spin_unlock(&pamt_lock)${why}`);
  if (mode === "lock-always") {
    if (locked) yield lock();
    const cur = yield rc.load(`tdx_pamt_put: atomic_read(pamt_refcount[range ${r}])`);
    if (cur > 1) {
      yield rc.rmw((v) => v - 1, `tdx_pamt_put: atomic_dec(pamt_refcount[range ${r}])`);
      if (locked) yield unlock();
      return;
    }
  } else if (mode === "fast-path") {
    // atomic_dec_and_lock(): decrement unless it would reach 0; otherwise take the lock and
    // decrement under it (lib/dec_and_lock.c: atomic_add_unless(-1, 1), then spin_lock + dec_and_test).
    const old = yield rc.rmw((v) => (v > 1 ? v - 1 : v), `tdx_pamt_put: atomic_dec_and_lock: atomic_add_unless(pamt_refcount[range ${r}], -1, 1)`);
    if (old > 1) return;
    if (locked) yield lock();
    const now = (yield rc.rmw((v) => v - 1, `tdx_pamt_put: atomic_dec_and_lock: atomic_dec_and_test(pamt_refcount[range ${r}])`)) - 1;
    if (now !== 0) {
      if (locked) yield unlock();
      return;
    }
  } else {
    // dec-and-test (hypothetical, R2): the decrement to 0 happens before the lock is taken.
    const now = (yield rc.rmw((v) => v - 1, `tdx_pamt_put: atomic_dec_and_test(pamt_refcount[range ${r}])`)) - 1;
    if (now !== 0) return;
    if (locked) yield lock();
  }
  const res = yield* c.tdx.tdhPhymemPamtRemove(pfn);
  if (res.status !== TDX_SUCCESS) {
    c.t.report(PAMT_PROP.addRemoveSucceed, `TDH.PHYMEM.PAMT.REMOVE of range ${r} returned ${statusName(res.status)}`);
    // Don't free the pair (RDX/R8 may be garbage): leaked; the refcount stays / goes back to 1.
    warnOn(c, true, `tdx_pamt_put: WARN_ON_ONCE(TDH.PHYMEM.PAMT.REMOVE ${statusName(res.status)})`);
    if (mode !== "lock-always") yield rc.store(1, `tdx_pamt_put: atomic_set(pamt_refcount[range ${r}], 1) [REMOVE failed]`);
    if (locked) yield unlock(" [PAMT.REMOVE failed, pair leaked]");
    return;
  }
  // D-10: the pair just removed must not be one another TD still counts on.
  const other = p.refsBy ? yield p.refsBy[td === 0 ? 1 : 0][r]!.load(`ghost: references of ${td ? "this VM" : "the other TD"} on range ${r}`) : 0;
  if (other > 0) c.t.report(PAMT_PROP.crossTd, `${td ? "the other TD's" : "this VM's"} tdx_pamt_put removed the pair of range ${r} while ${td ? "this VM" : "the other TD"} holds ${other} reference(s) on it`);
  if (mode === "lock-always") yield rc.store(0, `tdx_pamt_put: atomic_set(pamt_refcount[range ${r}], 0)`);
  if (locked) yield unlock();
  yield* freePair(c, res.pair.map((pf: number) => pf - p.poolBase), "PAMT.REMOVE returned the pair");
}

/** D-8: the install's mirror SPTE at (level, gfn) must be FROZEN while its get/put-on-error run. */
function checkFrozen(c: Ctx, level: number, gfn: number, what: string): void {
  const e = c.kvm.mirror.peekEntry(level, gfn);
  if (!e || !isFrozen(e.value)) c.t.report(PAMT_PROP.getInFreeze, `${what} for L${level} gfn ${gfn} outside the freeze window (mirror SPTE not ${c.proto.frozenName})`);
}

/**
 * The Dynamic PAMT prologue of tdx_sept_map_leaf_spte() / tdx_sept_map_nonleaf_spte() (d7fe610e6a66):
 * KVM_BUG_ON(!kvm_get_running_vcpu()) → -EIO, then tdx_pamt_get(pfn, &vcpu_tdx->pamt_cache).
 * Returns 0 or the error the hook returns (the TDP MMU then restores the old SPTE).
 */
export function* pamtMapGet(c: Ctx, level: number, gfn: number, pfn: number, what: string): Gen<number> {
  if (!pamtOn(c)) return 0;
  const v = runningVcpu(c);
  if (v < 0) c.t.report(PAMT_PROP.runningVcpu, `${what} for gfn ${gfn} without a running vCPU`);
  if (yield* kvmBugOn(c, v < 0, `${what}: KVM_BUG_ON(!kvm_get_running_vcpu())`)) return EIO;
  checkFrozen(c, level, gfn, `tdx_pamt_get(pfn ${pfn}) [${what}]`);
  return yield* tdxPamtGet(c, pfn, v);
}

/** The put on any error of the install SEAMCALL, before the hook returns (still inside the freeze). */
export function* pamtMapPutOnError(c: Ctx, level: number, gfn: number, pfn: number, what: string): Gen<void> {
  if (!pamtOn(c)) return;
  checkFrozen(c, level, gfn, `tdx_pamt_put(pfn ${pfn}) on error [${what}]`);
  yield* tdxPamtPut(c, pfn);
}

/** The invariants D-1, D-2, D-5 (after every step) and the final balance (D-9), for a built model. */
export function pamtInvariants(p: KvmPamt, mod: TdxModule, demoting?: Atomic): { invariants: Invariant[]; quiescent: QuiescentInvariant[]; final: Invariant[] } {
  const objs = mod.objects;
  const ranges = p.refcount.length;
  const count = (r: number) => mod.pamtNodeCount(r);
  // D-1 is stated "whenever pamt_lock is free"; checked here whenever no get/put is inside its
  // section on the range (which contains its locked part), so that it also means something when the
  // lock is switched off.
  const keyRange = new Map(Array.from({ length: ranges }, (_, r) => [rangeKey(r), r] as const));
  const d1: QuiescentInvariant = {
    name: PAMT_PROP.nodeIffReferenced,
    keys: [...keyRange.keys()],
    objsOf: (key) => {
      const r = keyRange.get(key)!;
      return [p.refcount[r]!.id, objs.pamtNodes[r]!.id];
    },
    check: (key) => {
      const r = keyRange.get(key)!;
      const rc = p.refcount[r]!.peek();
      const kind = mod.pamtNode(r).kind;
      if (rc > 0 !== (kind === "PT_PAMT")) return `range ${r}: pamt_refcount ${rc} but the 2M PAMT entry is ${kind} (no get/put in progress on it)`;
      return null;
    },
  };
  const d2Range = (r: number): string | null => {
    // S-EPT huge pages: between DEMOTE's commit and the splitter's refcount 0 → fanout (RFC v5
    // 30/45) the range is the splitter's (ghost cell KvmHuge.demoting).
    if (demoting && demoting.peek() === r + 1) return null;
    const rc = p.refcount[r]!.peek();
    if (rc < count(r)) return `range ${r}: pamt_refcount ${rc} < ${count(r)} pages the module has in use there`;
    return null;
  };
  const d2: Invariant = {
    name: PAMT_PROP.refcountCovers,
    objs: [...p.refcount.map((x) => x.id), ...objs.pamt.map((x) => x.id), ...(demoting ? [demoting.id] : [])],
    check: () => {
      for (let r = 0; r < ranges; r++) {
        const m = d2Range(r);
        if (m) return m;
      }
      return null;
    },
    // Simulation: only the ranges whose refcount or 4K PAMT entries a step wrote (all of them when
    // the demoting ghost changed); the smallest failing one is the full scan's answer, since the
    // invariant held before the step. (A 1 GiB TD has 1 000+ ranges of 512 entries each.)
    incremental: () => {
      const rangeOfObj = new Map<number, number>();
      p.refcount.forEach((x, r) => rangeOfObj.set(x.id, r));
      objs.pamt.forEach((x, pfn) => {
        if (p.rangeOf(pfn) < ranges) rangeOfObj.set(x.id, p.rangeOf(pfn));
      });
      const dirty = new Set<number>();
      let all = false;
      return {
        wrote: (obj: number) => {
          const r = rangeOfObj.get(obj);
          if (r !== undefined) dirty.add(r);
          else if (demoting && obj === demoting.id) all = true;
        },
        check: () => {
          const rs = all ? Array.from({ length: ranges }, (_, r) => r) : [...dirty].sort((a, b) => a - b);
          dirty.clear();
          all = false;
          for (const r of rs) {
            const m = d2Range(r);
            if (m) return m;
          }
          return null;
        },
      };
    },
  };
  const d5: Invariant = {
    name: PAMT_PROP.pairNotReused,
    objs: [...p.free.ids, ...p.cache.flatMap((x) => x.ids), ...(p.vmCache ? p.vmCache.ids : []), ...objs.pamtBitmap.map((x) => x.id)],
    check: () => {
      const installed = new Set(mod.pamtBitmapPfns());
      const spare = new Set(p.free.peekIndices());
      for (const c of p.cache) for (const i of c.peekIndices()) spare.add(i);
      if (p.vmCache) for (const i of p.vmCache.peekIndices()) spare.add(i);
      for (const i of [...spare].sort((a, b) => a - b)) if (installed.has(p.pfnOf(i))) return `pfn ${p.pfnOf(i)} is an installed PAMT page but the kernel holds it as free (allocator or cache)`;
      return null;
    },
    // Simulation: the full check above reads every spare page and the whole bitmap (a pool of
    // 2 000+ pages at 1 GiB), after every step that writes a cache, the allocator or the bitmap: it
    // was two thirds of a Dynamic PAMT boot at size. The invariant held before the step, so a
    // violation after it needs a page whose membership or installed bit the step changed: the pages
    // now in a written pair slot or mask, the pairs a stack's height just took in, or any page when
    // a bitmap word was written (rare: PAMT.ADD/REMOVE). Only then is the full check run, so the
    // message is the full check's own (the lowest such page). The first check of a run is full.
    incremental: () => {
      const d = mod.td.dpamt;
      const sets = [p.free, ...p.cache, ...(p.vmCache ? [p.vmCache] : [])];
      const bitmapIds = new Set(objs.pamtBitmap.map((x) => x.id));
      /** Object id → [set index, slot] (slot -1: the mask, -2: the stack height). */
      const where = new Map<number, readonly [number, number]>();
      sets.forEach((set, si) => {
        if (set.mask) where.set(set.mask.id, [si, -1]);
        set.pairs.forEach((x, k) => where.set(x.id, [si, k]));
        if (set.top) where.set(set.top.id, [si, -2]);
      });
      const lastTop = sets.map((set) => (set.top ? set.top.peek() : 0));
      let full = true;
      let hit = false;
      const installed = (i: number): boolean => {
        const j = d ? d.poolIndex(p.pfnOf(i)) : -1;
        return j >= 0 && d!.bitmapHas(j);
      };
      const pairIn = (v: number): void => {
        if (v !== 0 && !hit) {
          const [a, b] = unpackPair(v);
          hit = installed(a) || installed(b);
        }
      };
      return {
        wrote: (obj: number) => {
          if (full || hit) return;
          if (bitmapIds.has(obj)) {
            full = true;
            return;
          }
          const w = where.get(obj);
          if (w === undefined) return;
          const set = sets[w[0]]!;
          if (w[1] === -1) {
            for (const i of popLowest(set.mask!.peek(), 31)) if (installed(i)) hit = true;
          } else if (w[1] === -2) {
            const t = set.top!.peek();
            for (let k = lastTop[w[0]]!; k < t; k++) pairIn(set.pairs[k]!.peek());
            lastTop[w[0]] = t;
          } else if (set.top === null || w[1] < set.top.peek()) pairIn(set.pairs[w[1]]!.peek());
        },
        check: () => {
          const run = full || hit;
          full = false;
          hit = false;
          for (let si = 0; si < sets.length; si++) if (sets[si]!.top) lastTop[si] = sets[si]!.top!.peek();
          return run ? d5.check() : null;
        },
      };
    },
  };
  const fin: Invariant = {
    name: PAMT_PROP.balancedFinal,
    check: () => {
      for (let r = 0; r < ranges; r++) {
        const rc = p.refcount[r]!.peek();
        if (rc !== count(r)) return `range ${r}: pamt_refcount ${rc} at the end, the module has ${count(r)} pages in use there`;
        if (rc > 0 !== (mod.pamtNode(r).kind === "PT_PAMT")) return `range ${r}: pamt_refcount ${rc} at the end but the 2M PAMT entry is ${mod.pamtNode(r).kind}`;
      }
      return null;
    },
  };
  return { invariants: [d2, d5], quiescent: [d1], final: [fin] };
}

/**
 * Another TD faults physical page `pfn` in (its vCPU's PAMT cache abstracted as the page
 * allocator): tdx_pamt_get(), its TDH.MEM.PAGE.AUG (PAMT footprint only), put on error.
 */
export function* otherTdMap(c: Ctx, pfn: number): Gen<void> {
  const g = yield* tdxPamtGet(c, pfn, -1, 1);
  if (g === 0) {
    const s = yield* c.tdx.otherTdAug(pfn);
    if (statusCode(s) === C.MISSING_PAMT_PAGE_PAIR) c.t.report(PAMT_PROP.noMissingPair, `other TD: TDH.MEM.PAGE.AUG of pfn ${pfn} returned ${statusName(s)}`);
    if (s !== TDX_SUCCESS) yield* tdxPamtPut(c, pfn, 1);
  }
  c.t.progress();
}

/** Another TD zaps physical page `pfn`: its TDH.MEM.PAGE.REMOVE (PAMT footprint only), then tdx_pamt_put(). */
export function* otherTdUnmap(c: Ctx, pfn: number): Gen<void> {
  const s = yield* c.tdx.otherTdRemove(pfn);
  if (s === TDX_SUCCESS) yield* tdxPamtPut(c, pfn, 1);
  c.t.progress();
}
