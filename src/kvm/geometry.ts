// Geometry of the modelled address space: `levels` paging levels × `fanout` entries per table.
//
// The kernel has 4 or 5 levels × 512 entries (arch/x86/kvm/mmu/tdp_iter.h SPTE_INDEX, PT64_ENT_PER_PAGE);
// a small geometry (default 3 levels × fan-out 2: root at level 3, tables at level 2, 4K leaves at
// level 1) keeps the state space small and still exercises link-vs-map, map-vs-zap and
// child-before-parent. Levels use KVM's numbering (PG_LEVEL_4K = 1).

export interface Geometry {
  readonly levels: number;
  readonly fanout: number;
}

export const DEFAULT_GEOMETRY: Geometry = { levels: 3, fanout: 2 };

export function checkGeometry(g: Geometry): void {
  if (!Number.isInteger(g.levels) || g.levels < 2 || g.levels > 5) throw new Error(`geometry: levels must be 2..5, got ${g.levels}`);
  // Scenario files allow fan-out 1..8 (their validator says so); simulations use the kernel's 512.
  if (!Number.isInteger(g.fanout) || g.fanout < 1 || g.fanout > 512) throw new Error(`geometry: fanout must be 1..512, got ${g.fanout}`);
}

/** GFNs covered by one entry at `level` (KVM_PAGES_PER_HPAGE). */
export function pagesPerEntry(g: Geometry, level: number): number {
  return g.fanout ** (level - 1);
}

/** Number of GFNs the root covers. */
export function nGfns(g: Geometry): number {
  return g.fanout ** g.levels;
}

/** SPTE_INDEX(gfn, level): index of the entry covering `gfn` inside its table at `level`. */
export function spteIndex(g: Geometry, gfn: number, level: number): number {
  return Math.floor(gfn / pagesPerEntry(g, level)) % g.fanout;
}

/** Base GFN of the entry at `level` that covers `gfn` (gfn_round_for_level). */
export function roundGfn(g: Geometry, gfn: number, level: number): number {
  const p = pagesPerEntry(g, level);
  return Math.floor(gfn / p) * p;
}

/** Number of tables that can exist at `level` (level < root). */
export function tablesAt(g: Geometry, level: number): number {
  return nGfns(g) / g.fanout ** level;
}

/** Position of the table at `level` covering `gfn`. */
export function tablePos(g: Geometry, gfn: number, level: number): number {
  return Math.floor(gfn / g.fanout ** level);
}
