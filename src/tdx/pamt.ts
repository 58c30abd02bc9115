// PAMT modelled only as page ownership (docs/model-tdx-module.md): for each physical page, its
// page type, the page size it is part of, what TD page it is, and the BLOCK epoch. PAMT entry
// locks are NOT modelled: the check-and-claim of a free page is one atomic cmpxchg
// (pamt_manager.c: pamt_walk + the PT_NDA check of check_and_lock_free_range_hpa collapsed), so
// the BUSY|R8 / BUSY|RCX outcomes of PAMT lock contention are never produced.
//
// Cell layout: bits 0-2 page type, bits 3-4 size level, bits 5-12 owner (GPA of a data page,
// GPA of the parent entry of an S-EPT page, vCPU index of a TDVPR page), bits 13-14 owner level
// (S-EPT pages: level of the non-leaf entry pointing to them), bits 15-30 bepoch.

/** Page types (pamt_manager.h PT_*), reduced to what one TD uses. */
/** PT_FOREIGN (model only): a page of another TD (its PT_REG), seen only through its PAMT footprint. */
export const PT = { NDA: 0, REG: 1, EPT: 2, TDR: 3, TDVPR: 4, FOREIGN: 5 } as const;
export type PageType = (typeof PT)[keyof typeof PT];
export const PT_NAMES = ["PT_NDA", "PT_REG", "PT_EPT", "PT_TDR", "PT_TDVPR", "PT_REG(other TD)"] as const;

export interface PamtInfo {
  pt: PageType;
  /** Size level of the page this PFN belongs to (0 = 4K, 1 = "2M", ...). */
  size: number;
  /** PT_REG: the GPA this PFN backs. PT_EPT: GPA of the parent entry. PT_TDVPR: vCPU index. */
  owner: number;
  /** PT_EPT: level of the parent (non-leaf) entry. */
  ownerLevel: number;
  bepoch: number;
}

// Wide layout (simulation of a TD with more than 255 GPAs): bit 31 set, owner in bits 5-22, owner
// level in bits 23-24, bepoch modulo 64 in bits 25-30 (compared with td_epoch by distance,
// src/tdx/tlb.ts isTlbTracked()). pamtPack() uses it only for an owner above 255 or a
// bepoch the narrow layout cannot hold, so every value the checker's geometries produce (owners
// below 256, small epochs) is the narrow one it always was: states and fingerprints do not change.
const WIDE = 1 << 31;
const W_OWNER = 5;
const W_LEVEL = 23;
const W_BEPOCH = 25;
const W_BEPOCH_MAX = 63;

export function pamtPack(p: { pt: PageType; size?: number; owner?: number; ownerLevel?: number; bepoch?: number }): number {
  const owner = p.owner ?? 0;
  const bepoch = p.bepoch ?? 0;
  if (owner <= 0xff && bepoch < 1 << 16) return p.pt | ((p.size ?? 0) << 3) | (owner << 5) | ((p.ownerLevel ?? 0) << 13) | (bepoch << 15);
  if (owner >= 1 << 18 || bepoch >= 1 << 16) throw new RangeError(`model limit: PAMT entry (owner ${owner}, bepoch ${bepoch}) does not fit a cell`);
  return (WIDE | p.pt | ((p.size ?? 0) << 3) | (owner << W_OWNER) | ((p.ownerLevel ?? 0) << W_LEVEL) | ((bepoch & W_BEPOCH_MAX) << W_BEPOCH)) | 0;
}
export function pamtUnpack(v: number): PamtInfo {
  if (v < 0)
    return {
      pt: (v & 7) as PageType,
      size: (v >> 3) & 3,
      owner: (v >>> W_OWNER) & 0x3ffff,
      ownerLevel: (v >>> W_LEVEL) & 3,
      bepoch: (v >>> W_BEPOCH) & W_BEPOCH_MAX,
    };
  return {
    pt: (v & 7) as PageType,
    size: (v >> 3) & 3,
    owner: (v >> 5) & 0xff,
    ownerLevel: (v >> 13) & 3,
    bepoch: v >>> 15,
  };
}
export function pamtPt(v: number): PageType {
  return (v & 7) as PageType;
}
export function pamtBepoch(v: number): number {
  return v < 0 ? (v >>> W_BEPOCH) & W_BEPOCH_MAX : v >>> 15;
}
/** Bits of bepoch a PAMT cell keeps: 16 (td_epoch's modulus) in a narrow cell, 6 in a wide one (isTlbTracked()). */
export function pamtBepochBits(v: number): number {
  return v < 0 ? 6 : 16;
}
export function withBepoch(v: number, e: number): number {
  if (v >= 0 && e < 1 << 16) return (v & 0x7fff) | (e << 15);
  if (v >= 0) throw new RangeError(`model limit: bepoch ${e} does not fit a PAMT cell`);
  // A wide cell keeps bepoch modulo 64 (compared by distance, isTlbTracked()).
  return ((v & ~(W_BEPOCH_MAX << W_BEPOCH)) | ((e & W_BEPOCH_MAX) << W_BEPOCH)) | 0;
}
export const PAMT_NDA = 0;

export function formatPamt(v: number): string {
  const p = pamtUnpack(v);
  switch (p.pt) {
    case PT.NDA:
      return "PT_NDA";
    case PT.REG:
      return `PT_REG gpa=${p.owner}${p.size ? ` size=L${p.size}` : ""} bepoch=${p.bepoch}`;
    case PT.EPT:
      return `PT_EPT table-of L${p.ownerLevel}@gpa${p.owner} bepoch=${p.bepoch}`;
    case PT.TDR:
      return "PT_TDR";
    case PT.TDVPR:
      return `PT_TDVPR vcpu${p.owner}`;
    case PT.FOREIGN:
      return "PT_REG (other TD)";
    default:
      return `?pt${p.pt}`;
  }
}
