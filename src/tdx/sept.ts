// S-EPT entries: the KVM-relevant L1 states of M25 sept_state_lookup.{h,c} and the leaves' transitions,
// packed into one World cell per entry so that every atomic 64-bit access of the module
// (secure_ept_walk's read, the TDEL bit lock, the cmpxchg_keep_masked commit of
// sept_manager.c) is one atomic step on one cell.
//
// Cell layout (model only; the real entry is ia32e_sept_t, x86_defs.h):
//   bits 0-2  state (SeptState below)
//   bit  3    TDEL  (per-entry lock, real bit 11)
//   bit  4    TDHP  (host-priority flag of TDEL, real bit 52)
//   bits 5-9  accept_counter (4K chunks already zeroed in a PENDING 2M leaf, real bits 20:12)
//   bits 10+  HPA as PFN+1 (0 = none): the mapped page, or the child S-EPT page of a non-leaf

/** The seven reachable L1 states (sept_state_lookup.h); REMOVED/BLOCKEDW/EXPORTED_* need migration. */
export const S = {
  FREE: 0,
  NL_MAPPED: 1,
  NL_BLOCKED: 2,
  MAPPED: 3,
  BLOCKED: 4,
  PENDING: 5,
  PENDING_BLOCKED: 6,
} as const;
export type SeptState = (typeof S)[keyof typeof S];

export const SEPT_STATE_NAMES = ["FREE", "NL_MAPPED", "NL_BLOCKED", "MAPPED", "BLOCKED", "PENDING", "PENDING_BLOCKED"] as const;

/** ABI ("public") state values, as SEPT.RD and the RDX error details report them (M25). */
export const SEPT_ABI_STATE: readonly number[] = [0, 0x84, 0x81, 4, 1, 2, 3];

export const TDEL = 1 << 3;
export const TDHP = 1 << 4;
const AC_SHIFT = 5;
const AC_MASK = 0x1f << AC_SHIFT;
const PFN_SHIFT = 10;

export function stateOf(v: number): SeptState {
  return (v & 7) as SeptState;
}
export function pfnOf(v: number): number {
  return (v >>> PFN_SHIFT) - 1;
}
export function acceptCounterOf(v: number): number {
  return (v & AC_MASK) >> AC_SHIFT;
}
export function withState(v: number, s: SeptState): number {
  return (v & ~7) | s;
}
export function withPfn(v: number, pfn: number): number {
  return (v & ((1 << PFN_SHIFT) - 1)) | ((pfn + 1) << PFN_SHIFT);
}
export function withAcceptCounter(v: number, n: number): number {
  return (v & ~AC_MASK) | ((n << AC_SHIFT) & AC_MASK);
}
/** A fresh entry value: state, PFN, unlocked, no HP, counter 0. */
export function mkEntry(s: SeptState, pfn = -1): number {
  return s | ((pfn + 1) << PFN_SHIFT);
}
/** SEPTE_INIT_VALUE (sept_manager.h): FREE, nothing else set. */
export const SEPTE_INIT_VALUE = mkEntry(S.FREE);

export function isLeafState(s: SeptState): boolean {
  return s >= S.MAPPED;
}
/** RWX != 0: only NL_MAPPED and MAPPED are present (hardware and secure_ept_walk stop elsewhere). */
export function isPresent(s: SeptState): boolean {
  return s === S.NL_MAPPED || s === S.MAPPED;
}
/** any_blocked (sept_special_flags_lookup). */
export function isBlocked(s: SeptState): boolean {
  return s === S.NL_BLOCKED || s === S.BLOCKED || s === S.PENDING_BLOCKED;
}
export function isPending(s: SeptState): boolean {
  return s === S.PENDING || s === S.PENDING_BLOCKED;
}
/** tlb_tracking_required flag of the state: every KVM-relevant non-FREE state has it (M25). */
export function stateNeedsTracking(s: SeptState): boolean {
  return s !== S.FREE;
}

/** The blocked counterpart (tdh_mem_range_block.c: block_sept_entry()). */
export function blockedOf(s: SeptState): SeptState {
  switch (s) {
    case S.NL_MAPPED:
      return S.NL_BLOCKED;
    case S.MAPPED:
      return S.BLOCKED;
    case S.PENDING:
      return S.PENDING_BLOCKED;
    default:
      throw new Error(`no blocked state for ${SEPT_STATE_NAMES[s]}`);
  }
}
/** The unblocked counterpart (sept_manager.c: sept_update_state as used by tdh_mem_range_unblock). */
export function unblockedOf(s: SeptState): SeptState {
  switch (s) {
    case S.NL_BLOCKED:
      return S.NL_MAPPED;
    case S.BLOCKED:
      return S.MAPPED;
    case S.PENDING_BLOCKED:
      return S.PENDING;
    default:
      throw new Error(`no unblocked state for ${SEPT_STATE_NAMES[s]}`);
  }
}

/** Allowed states per leaf (seamcall_sept_state_lookup / tdcall_sept_state_lookup, M25), KVM subset. */
export const ALLOWED: Record<string, readonly SeptState[]> = {
  PAGE_ADD: [S.FREE],
  SEPT_ADD: [S.FREE, S.NL_MAPPED],
  PAGE_AUG: [S.FREE],
  RANGE_BLOCK: [S.NL_MAPPED, S.MAPPED, S.PENDING],
  MR_EXTEND: [S.MAPPED],
  PAGE_REMOVE: [S.MAPPED, S.BLOCKED, S.PENDING, S.PENDING_BLOCKED],
  SEPT_REMOVE: [S.NL_MAPPED, S.NL_BLOCKED],
  RANGE_UNBLOCK: [S.NL_BLOCKED, S.BLOCKED, S.PENDING_BLOCKED],
  ACCEPT: [S.PENDING],
};

/** Cell formatter: "MAPPED pfn=3", "PENDING_BLOCKED pfn=4 TDEL TDHP". */
export function formatEntry(v: number): string {
  const s = stateOf(v);
  let out: string = SEPT_STATE_NAMES[s] ?? `?${s}`;
  const p = pfnOf(v);
  if (p >= 0) out += ` pfn=${p}`;
  const ac = acceptCounterOf(v);
  if (ac) out += ` ac=${ac}`;
  if (v & TDEL) out += " TDEL";
  if (v & TDHP) out += " TDHP";
  return out;
}

/**
 * Geometry of the scaled-down S-EPT: `levels` levels of entries (level 0 = 4K leaves), `fanout`
 * entries per table instead of 512. GPAs are page numbers 0 .. fanout^levels - 1. The root table
 * (TDCS page SEPT_ROOT_PAGE_INDEX) is implicit and holds the entries of level `levels-1`.
 */
export class Geometry {
  readonly pages: number;
  readonly top: number;
  constructor(
    readonly levels: number,
    readonly fanout: number,
  ) {
    if (!Number.isInteger(levels) || levels < 1 || levels > 5) throw new RangeError(`levels must be 1..5, got ${levels}`);
    if (!Number.isInteger(fanout) || fanout < 2) throw new RangeError(`fanout must be >= 2, got ${fanout}`);
    this.pages = fanout ** levels;
    this.top = levels - 1;
    // Status tokens carry a GPA in 22 bits (status.ts: 8 below the code, the rest above it), PAMT
    // cells an owner GPA in 18 (pamt.ts, wide layout): 2^18 4K pages, a 1 GiB TD (simulation).
    if (this.pages > 1 << 18) throw new RangeError(`at most ${1 << 18} GPAs (PAMT cells carry an owner GPA in 18 bits); got ${this.pages}`);
  }
  /** 4K pages covered by one entry at `level` (512^level in the real module). */
  span(level: number): number {
    return this.fanout ** level;
  }
  /** Index of the entry covering `gpa` among all entries of `level`. */
  index(gpa: number, level: number): number {
    return Math.floor(gpa / this.span(level));
  }
  /** Number of entries at `level` (the sum over all tables of that level). */
  count(level: number): number {
    return this.fanout ** (this.levels - level);
  }
  /** verify_page_info_input + check_gpa_validity, scaled: level range, alignment, GPA range. */
  validPageInfo(gpa: number, level: number, minLevel: number, maxLevel: number): boolean {
    return (
      Number.isInteger(gpa) && Number.isInteger(level) && level >= minLevel && level <= Math.min(maxLevel, this.top) &&
      gpa >= 0 && gpa < this.pages && gpa % this.span(level) === 0
    );
  }
}
