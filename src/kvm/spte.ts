// SPTE values of the TDP MMU mirror, as small tokens in World cells.
//
// Models arch/x86/kvm/mmu/spte.h: is_shadow_present_pte(), is_last_spte(), is_frozen_spte(),
// spte_to_pfn(), spte_to_child_pt(), FROZEN_SPTE (older name REMOVED_SPTE) and
// SHADOW_NONPRESENT_VALUE. A cell holds a token; the 64-bit form is produced only when printing.
//   0            not present (SHADOW_NONPRESENT_VALUE)
//   1            FROZEN_SPTE / REMOVED_SPTE (not present to every reader, distinct from every other value)
//   2 + 2·pfn    present 4K leaf mapping `pfn` with full RWX (TDX mirror leaves are always RWX) and
//                the Accessed/Dirty bits set, as make_spte() builds every writable SPTE since
//                cc7ed3358e41 "KVM: x86/mmu: Always set SPTE's dirty bit if it's created as writable"
//                (for pfn ≥ 2^18, the simulation of a large TD: 2 + 2·(pfn mod 2^18) + (pfn >> 18)·2^21,
//                so that the Dirty flag's bit 20 never belongs to a PFN; below 2^18 the value is
//                2 + 2·pfn as it always was, so the checker's cells and fingerprints do not change)
//   … + D_CLEAR  the same leaf with the Dirty bit clear: what ≤6.12 make_spte() computed for a fault
//                that found a writable SPTE already present (switch mirror-ad; never stored otherwise)
//   3 + 2·sp     present non-leaf pointing at mirror page table `sp`

export const SPTE_NP = 0;
export const SPTE_FROZEN = 1;

/** Token flag: a leaf whose Dirty bit is clear (even; no PFN's bits share it, see leafSpte()). */
export const SPTE_D_CLEAR = 1 << 20;
/** A leaf token keeps the PFN's low 18 bits in bits 1-19 and the rest from bit 21 (below 2^18: 2 + 2·pfn). */
const PFN_LOW_BITS = 18;
const PFN_LOW = (1 << PFN_LOW_BITS) - 1;
const PFN_HIGH_SHIFT = 21;
/** Largest PFN a leaf token holds (bits 21-30 take PFN bits 18-27). */
export const SPTE_MAX_PFN = (1 << 28) - 1;

/** make_spte() for a 4K private leaf (RWX, present; A/D set unless `dirty` is false). */
export function leafSpte(pfn: number, dirty = true): number {
  if (pfn > PFN_LOW) {
    if (pfn > SPTE_MAX_PFN) throw new RangeError(`model limit: pfn ${pfn} does not fit a leaf SPTE token (at most ${SPTE_MAX_PFN})`);
    return 2 + 2 * (pfn & PFN_LOW) + (pfn >>> PFN_LOW_BITS) * (1 << PFN_HIGH_SHIFT) + (dirty ? 0 : SPTE_D_CLEAR);
  }
  return 2 + 2 * pfn + (dirty ? 0 : SPTE_D_CLEAR);
}
/** is_dirty_spte() of a leaf. */
export function isDirtyLeaf(v: number): boolean {
  return (v & SPTE_D_CLEAR) === 0;
}
/** make_nonleaf_spte() for the child page table `sp`. */
export function tableSpte(sp: number): number {
  return 3 + 2 * sp;
}
/** is_shadow_present_pte(): bit 11 set. FROZEN is not present. */
export function isShadowPresent(v: number): boolean {
  return v >= 2;
}
/** is_frozen_spte() */
export function isFrozen(v: number): boolean {
  return v === SPTE_FROZEN;
}
/** is_last_spte() for the modelled 4K-only mirror: a present leaf. */
export function isLeaf(v: number): boolean {
  return v >= 2 && (v & 1) === 0;
}
export function isTable(v: number): boolean {
  return v >= 3 && (v & 1) === 1;
}
/** spte_to_pfn() of a leaf. */
export function spteToPfn(v: number): number {
  return (((v & (SPTE_D_CLEAR - 1)) - 2) >> 1) + (v >>> PFN_HIGH_SHIFT) * (1 << PFN_LOW_BITS);
}
/** spte_to_child_pt(): the mirror page table a non-leaf points to. */
export function spteToSp(v: number): number {
  return (v - 3) >> 1;
}

const SHADOW_NONPRESENT_VALUE = 1n << 63n;
const FROZEN_SPTE = SHADOW_NONPRESENT_VALUE | 0x5a0n;
const PRESENT = 1n << 11n; // SPTE_MMU_PRESENT_MASK
const RWX = 7n;
const EPT_DIRTY = 1n << 9n; // VMX_EPT_DIRTY_BIT (the accessed bit, 8, is left out of the printed form)
/** Host page frame used in a non-leaf's 64-bit form (the mirror page `sp->spt`): synthetic. */
export const MIRROR_PT_PFN_BASE = 0x1000;

function hex(v: bigint): string {
  return "0x" + v.toString(16).padStart(16, "0");
}

/** The 64-bit form of a token, for traces. */
export function spte64(v: number): bigint {
  if (v === SPTE_NP) return SHADOW_NONPRESENT_VALUE;
  if (v === SPTE_FROZEN) return FROZEN_SPTE;
  // The printed form carries the Dirty bit when the token has it (the Accessed bit is left out).
  if (isLeaf(v)) return (BigInt(spteToPfn(v)) << 12n) | PRESENT | RWX | (isDirtyLeaf(v) ? EPT_DIRTY : 0n);
  return (BigInt(MIRROR_PT_PFN_BASE + spteToSp(v)) << 12n) | PRESENT | RWX;
}

/** Formatter for World cells holding SPTE tokens. `frozenName` is REMOVED_SPTE before the v19 rename. */
export function formatSpte(v: number, frozenName = "FROZEN"): string {
  if (v === SPTE_NP) return "NP";
  if (v === SPTE_FROZEN) return frozenName;
  if (isLeaf(v)) return `LEAF(pfn ${spteToPfn(v)}${isDirtyLeaf(v) ? "" : ", D=0"})`;
  if (isTable(v)) return `TABLE(sp${spteToSp(v)})`;
  return `?${v}`;
}

/** Same, with the 64-bit value appended (for `--expand` style output). */
export function formatSpteLong(v: number): string {
  return `${formatSpte(v)} ${hex(spte64(v))}`;
}
