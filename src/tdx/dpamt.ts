// Dynamic PAMT (module 1.5.20+): the 2M PAMT entries that become "nodes" holding a page pair for
// the 4K entries of their range, their entry locks, and the PAMT page bitmap.
//
// Sources (murrowow/tdx-concurrency @ c71d4f6 = module 1.5.25):
//   src/common/memory_handlers/pamt_manager.c  pamt_walk() (1G SH → 2M SH → node? → 4K in the
//     requested mode; a 2M entry that is not PT_PAMT ends the walk there, promoted to EX if EX was
//     asked), dynamic_pamt_4k_bitmap_set/get/clear(), pamt_implicit_get_internal() (PAGE.REMOVE
//     reads the node without locking it; a range without a node is FATAL_ERROR_ID_336);
//   src/common/helpers/helpers.c  non_shared_hpa_metadata_check_and_lock(): a walk for a free 4K
//     page that stops at a PT_NDA 2M entry → TDX_MISSING_PAMT_PAGE_PAIR;
//   src/vmm_dispatcher/api_calls/tdh_phymem_pamt_add.c / tdh_phymem_pamt_remove.c.
//
// Geometry: a "2M range" is the `fanout` PFNs under one level-1 (2M) entry of the scaled geometry
// (512 in the real module). The node's 10-bit page count is not stored: it is derived from the
// range's 4K PAMT entries (the count the module keeps equals the number of non-PT_NDA 4K entries;
// PAMT.REMOVE checks both, FATAL_ERROR_ID_343 if they disagree). The removal hint (RCX bit 62) is
// not modelled: the kernel design does not use it.
//
// Abstractions (docs/model.md, "dpamt"):
//   - the 1G PAMT level is not modelled (its SH lock never conflicts with the 2M/4K operations here);
//   - the host-priority flag of the PAMT entry locks is not modelled: only host SEAMCALLs take them;
//   - pair pages come from a pool of PFNs outside the TD's PFN space (after the TDVPR pages), used
//     only as PAMT pages. By default they lie in ranges no PAMT.ADD/REMOVE ever targets, so the SH
//     walk of a pair page's own 2M range (PAMT.ADD, tdh_phymem_pamt_add.c; DEMOTE's R12/R13,
//     pamt_manager.c pamt_demote()) cannot conflict and is not modelled. With `pairRange` set (a
//     scenario's initial.pamtPairRange) the page allocator is taken to hand out pair pages that
//     physically lie in that TD range: both leaves then take its 2M entry lock SH, which is what
//     makes DEMOTE meet another TD's PAMT.ADD of that range (race R5, Yan Zhao in the RFC v5
//     thread, 30/45, 2026-06-11: BUSY|R12 on DEMOTE, BUSY|RCX on PAMT.ADD). The pages keep their
//     pool identity for the bitmap; only the lock is the range's;
//   - the 4K PAMT entry locks are the ownership cmpxchg of pamt.ts, as before.
import { Atomic, TryLock, type World } from "../engine/index.js";
import type { Gen } from "./locks.js";
import { PAMT_NDA, PT, pamtUnpack } from "./pamt.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";

export interface DpamtConfig {
  /**
   * Pages in the kernel's pool of PAMT page candidates (PFNs `poolBase` ..); default 30 (the
   * checker's), at most POOL_MAX_PAGES (a simulation with many vCPUs: each keeps a cache of pages).
   */
  poolPages?: number;
  /** The TD 2M range in which the pool's pages physically lie (default: their own ranges, never locked). */
  pairRange?: number;
}

/** The 2M PAMT entry of a range: PT_NDA, a PT_PAMT node with its pair, or a 2M leaf (S-EPT huge pages). */
export const NODE = { NDA: 0, PAMT: 1, LEAF2M: 2 } as const;

export function nodeKind(v: number): number {
  return v & 3;
}
// A node cell: kind (bits 0-1), pair index + 1 of page 0 (low 6 bits in bits 2-7, the rest in bits
// 14-21) and of page 1 (bits 8-13, the rest in bits 22-29). Indices below 63 — every pool of the
// checker (30 pages) — leave bits 14-29 clear: the value is what it was with 6-bit fields.
/** Pool indices (0-based) of a node's pair. */
export function nodePair(v: number): [number, number] {
  return [(((v >> 2) & 0x3f) | (((v >>> 14) & 0xff) << 6)) - 1, (((v >> 8) & 0x3f) | (((v >>> 22) & 0xff) << 6)) - 1];
}
export function mkNode(p0: number, p1: number): number {
  const a0 = p0 + 1;
  const a1 = p1 + 1;
  return NODE.PAMT | ((a0 & 0x3f) << 2) | ((a1 & 0x3f) << 8) | ((a0 >> 6) << 14) | ((a1 >> 6) << 22);
}

/**
 * Pool page sets (the module's PAMT page bitmap over the pool, the kernel's free pages and caches)
 * are kept in words of POOL_WORD_BITS bits: pool page i is bit i % 30 of word ⌊i / 30⌋. A pool of at
 * most 30 pages (the checker's) is one word whose value is the set's bit mask, as it always was.
 */
export const POOL_WORD_BITS = 30;
/** Largest pool: a node's pair field holds an index + 1 below 2^14. */
export const POOL_MAX_PAGES = (1 << 14) - 2;
export function poolWords(pages: number): number {
  return Math.ceil(pages / POOL_WORD_BITS);
}
export function poolWordOf(i: number): number {
  return Math.floor(i / POOL_WORD_BITS);
}
export function poolBitOf(i: number): number {
  return 1 << i % POOL_WORD_BITS;
}

export function maskBits(m: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 31; i++) if (m & (1 << i)) out.push(i);
  return out;
}

/** TDX_DPAMT_ENTRY_PAGE_CNT: the module's documentation fixes the pair at 2 pages. */
export const PAIR_PAGES = 2;

export class Dpamt {
  /** First PFN of the pool of PAMT page candidates. */
  readonly poolBase: number;
  readonly poolPages: number;
  readonly fanout: number;
  /** Per 2M range: the 2M PAMT entry (NODE kind, pair). */
  readonly node: Atomic[];
  /** Per 2M range: the 2M PAMT entry's sharex lock. */
  readonly lock: TryLock[];
  /**
   * PAMT_PAGE_BITMAP restricted to the pool: pool page i is in use as a PAMT page (bit i % 30 of
   * word ⌊i / 30⌋; one word for a pool of at most 30 pages).
   */
  readonly bitmap: Atomic[];
  /** Number of nodes present at the start (their pairs are pool pages 0 .. 2*n-1). */
  readonly initialNodes: number;
  /** Per range: 4K pages in use at the start (readable before the World is sealed). */
  readonly initialCounts: readonly number[];
  /** DpamtConfig.pairRange, or null. */
  readonly pairRange: number | null;

  constructor(world: World, fanout: number, pamtInit: readonly number[], cfg: DpamtConfig) {
    this.fanout = fanout;
    this.poolBase = pamtInit.length;
    this.poolPages = cfg.poolPages ?? 30;
    if (!Number.isInteger(this.poolPages) || this.poolPages < 2 || this.poolPages > POOL_MAX_PAGES) throw new RangeError(`dpamt.poolPages must be 2..${POOL_MAX_PAGES}`);
    const ranges = Math.ceil(pamtInit.length / fanout);
    const init: number[] = [];
    const counts: number[] = [];
    let next = 0;
    for (let r = 0; r < ranges; r++) {
      let used = 0;
      for (let k = 0; k < fanout; k++) if ((pamtInit[r * fanout + k] ?? PAMT_NDA) !== PAMT_NDA) used++;
      // A 2M guest page at the start (S-EPT huge pages): the range's 2M PAMT entry is the page's
      // own entry, no pair, no 4K count (RFC v5 29/45: no get for a non-4K mapping).
      const head = pamtUnpack(pamtInit[r * fanout] ?? PAMT_NDA);
      if (head.pt === PT.REG && head.size >= 1) {
        counts.push(0);
        init.push(NODE.LEAF2M);
        continue;
      }
      counts.push(used);
      if (used) {
        if (next + 2 > this.poolPages) throw new RangeError("dpamt: pool too small for the initial nodes");
        init.push(mkNode(next, next + 1));
        next += 2;
      } else init.push(NODE.NDA);
    }
    this.initialNodes = next / 2;
    this.pairRange = cfg.pairRange ?? null;
    if (this.pairRange !== null && !(Number.isInteger(this.pairRange) && this.pairRange >= 0 && this.pairRange < ranges)) throw new RangeError(`dpamt.pairRange ${this.pairRange}: not a 2M range of the model (0..${ranges - 1})`);
    this.initialCounts = counts;
    const fmtNode = (v: number) => {
      if (nodeKind(v) === NODE.NDA) return "PT_NDA";
      if (nodeKind(v) === NODE.LEAF2M) return "2M leaf";
      const [a, b] = nodePair(v);
      return `PT_PAMT pair(pfn ${this.poolBase + a}, pfn ${this.poolBase + b})`;
    };
    this.node = init.map((v, r) => new Atomic(world, `pamt_2m[range ${r}]`, v, fmtNode));
    this.lock = init.map((_, r) => new TryLock(world, `pamt_2m[range ${r}].entry_lock`));
    const words = poolWords(this.poolPages);
    this.bitmap = Array.from({ length: words }, (_, w) => {
      // The initial nodes' pairs are pool pages 0 .. next − 1.
      let bm = 0;
      for (let i = w * POOL_WORD_BITS; i < Math.min(next, (w + 1) * POOL_WORD_BITS); i++) bm |= poolBitOf(i);
      const base = this.poolBase + w * POOL_WORD_BITS;
      return new Atomic(world, words === 1 ? "pamt_page_bitmap(pool)" : `pamt_page_bitmap(pool)[word ${w}]`, bm, (v) => `{${maskBits(v).map((i) => base + i).join(",")}}`);
    });
  }

  rangeOf(pfn: number): number {
    return Math.floor(pfn / this.fanout);
  }
  /** First PFN of range r. */
  rangeBase(r: number): number {
    return r * this.fanout;
  }
  poolPfn(i: number): number {
    return this.poolBase + i;
  }
  /** The bitmap word holding pool page i. */
  bitmapWord(i: number): Atomic {
    return this.bitmap[poolWordOf(i)]!;
  }
  /** Is pool page i's bit set (peek)? */
  bitmapHas(i: number): boolean {
    return (this.bitmapWord(i).peek() & poolBitOf(i)) !== 0;
  }
  poolIndex(pfn: number): number {
    const i = pfn - this.poolBase;
    return Number.isInteger(i) && i >= 0 && i < this.poolPages ? i : -1;
  }
  hasRange(pfn: number): boolean {
    return Number.isInteger(pfn) && pfn >= 0 && this.rangeOf(pfn) < this.node.length;
  }
  /** Is range r a PT_PAMT node (peek)? */
  isNode(r: number): boolean {
    return nodeKind(this.node[r]!.peek()) === NODE.PAMT;
  }
}

/**
 * The DPAMT part of a PAMT walk for a free 4K page that a leaf is about to give to a TD
 * (non_shared_hpa_metadata_check_and_lock via check_and_lock_free_range_hpa /
 * check_and_lock_explicit_4k_private_hpa): 2M entry lock SH — held until the leaf's EXIT, recorded
 * in `held` — then the 2M entry must be a node, else TDX_MISSING_PAMT_PAGE_PAIR|operand.
 * The 4K part (PT_NDA check, claim) stays with the caller. `held` receives the range to release.
 */
export function* dpamtWalk4k(d: Dpamt, heldRanges: number[], pfn: number, operand: number, label: string): Gen<Status> {
  const r = d.rangeOf(pfn);
  if (!(yield d.lock[r]!.tryShared(`${label}: pamt_walk: 2M entry lock SH (range ${r})`))) return st(C.OPERAND_BUSY, operand);
  heldRanges.push(r);
  const v = yield d.node[r]!.load(`${label}: pamt_walk: 2M entry pt (range ${r})`);
  if (nodeKind(v) !== NODE.PAMT) return st(nodeKind(v) === NODE.NDA ? C.MISSING_PAMT_PAGE_PAIR : C.PAGE_METADATA_INCORRECT, operand);
  return TDX_SUCCESS;
}

/**
 * The walk of a pair page that lies outside the target range (PAMT.ADD's RDX/R8, DEMOTE's R12/R13):
 * its own 2M entry SH (held to the leaf's end) → TDX_OPERAND_BUSY|operand. Only when the pool lies
 * in a TD range (DpamtConfig.pairRange) and that range is not the one the leaf holds EX already.
 */
export function* dpamtWalkPairPage(d: Dpamt, heldRanges: number[], target: number, operand: number, label: string): Gen<Status> {
  const r = d.pairRange;
  if (r === null || r === target || heldRanges.includes(r)) return TDX_SUCCESS;
  if (!(yield d.lock[r]!.tryShared(`${label}: pamt_walk(pair page, SH): 2M entry lock (range ${r})`))) return st(C.OPERAND_BUSY, operand);
  heldRanges.push(r);
  return TDX_SUCCESS;
}

/**
 * dynamic_pamt_4k_bitmap_clear() of both pages of a pair: one step when their bits share a word
 * (always, with a pool of at most 30 pages), else one step per word.
 */
export function* dpamtBitmapClearPair(d: Dpamt, i0: number, i1: number, label: string): Gen<void> {
  const b0 = poolBitOf(i0);
  const b1 = poolBitOf(i1);
  if (poolWordOf(i0) === poolWordOf(i1)) {
    yield d.bitmapWord(i0).rmw((m) => m & ~b0 & ~b1, label);
    return;
  }
  yield d.bitmapWord(i0).rmw((m) => m & ~b0, `${label} [word of pfn ${d.poolPfn(i0)}]`);
  yield d.bitmapWord(i1).rmw((m) => m & ~b1, `${label} [word of pfn ${d.poolPfn(i1)}]`);
}

/** pamt_unwalk() of the 2M SH locks a leaf took through dpamtWalk4k, most recent first. */
export function* dpamtUnwalk(d: Dpamt, heldRanges: number[], label: string): Gen<void> {
  while (heldRanges.length) {
    const r = heldRanges.pop()!;
    yield d.lock[r]!.releaseShared(`${label}: pamt_unwalk: 2M entry lock SH (range ${r})`);
  }
}

/** pamt_unwalk() of 2M entry locks held EX (2M AUG, DEMOTE, PROMOTE), most recent first. */
export function* dpamtUnwalkEx(d: Dpamt, heldRanges: number[], label: string): Gen<void> {
  while (heldRanges.length) {
    const r = heldRanges.pop()!;
    yield d.lock[r]!.releaseExclusive(`${label}: pamt_unwalk: 2M entry lock EX (range ${r})`);
  }
}

/**
 * The DPAMT part of the PAMT walk for a free 2M page a leaf gives to a TD (2M AUG,
 * check_and_lock_free_range_hpa at PT_2MB; tdx-module 1.5.25 helpers.c): the range's 2M entry
 * locked EX (TDX_OPERAND_BUSY|operand) and held to the leaf's end; it must be PT_NDA — neither a
 * node (some 4K page of the range in use) nor a 2M page — else TDX_PAGE_METADATA_INCORRECT|operand.
 */
export function* dpamtLock2m(d: Dpamt, heldEx: number[], pfn: number, operand: number, label: string): Gen<Status> {
  const r = d.rangeOf(pfn);
  if (!(yield d.lock[r]!.tryExclusive(`${label}: pamt_walk: 2M entry lock EX (range ${r})`))) return st(C.OPERAND_BUSY, operand);
  heldEx.push(r);
  const v = yield d.node[r]!.load(`${label}: pamt_walk: 2M entry pt (range ${r})`);
  if (nodeKind(v) !== NODE.NDA) return st(C.PAGE_METADATA_INCORRECT, operand);
  return TDX_SUCCESS;
}

/**
 * pamt_implicit_get_with_nl_entry (PAGE.REMOVE's access to the removed page's node): no 2M lock;
 * a range that is not a node is a module fatal error (FATAL_ERROR_ID_336).
 */
export function* dpamtImplicitNode(d: Dpamt, pfn: number, label: string): Gen<void> {
  const r = d.rangeOf(pfn);
  const v = yield d.node[r]!.load(`${label}: pamt_implicit_get: 2M node (range ${r}, unlocked)`);
  if (nodeKind(v) === NODE.NDA) throw new Error(`TDX module fatal (FATAL_ERROR_ID_336): pfn ${pfn} is in use but range ${r} has no PAMT page pair`);
}

export { OP };
