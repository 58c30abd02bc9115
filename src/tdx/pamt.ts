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

export function pamtPack(p: { pt: PageType; size?: number; owner?: number; ownerLevel?: number; bepoch?: number }): number {
  return p.pt | ((p.size ?? 0) << 3) | ((p.owner ?? 0) << 5) | ((p.ownerLevel ?? 0) << 13) | ((p.bepoch ?? 0) << 15);
}
export function pamtUnpack(v: number): PamtInfo {
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
  return v >>> 15;
}
export function withBepoch(v: number, e: number): number {
  return (v & 0x7fff) | (e << 15);
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
