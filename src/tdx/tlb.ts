// TLB tracking / epochs (M25). Sources: helpers.c adjust_tlb_tracking_state(),
// helpers.h revert_tlb_tracking_state() and is_tlb_tracked(), tdh_mem_track.c, td_exit.c.
//
// TDCS.epoch_tracking.epoch_and_refcount is read atomically as 128 bits by is_tlb_tracked; the
// model packs td_epoch and the two refcounts into ONE cell so that this read is one step:
//   bits 0-7 refcount[0], bits 8-15 refcount[1], bits 16-31 td_epoch (starts at 1, TDH.MNG.INIT;
//   modulo 2^16: TRACK's add wraps the 32-bit cell, see isTlbTracked()).
import type { Atomic } from "../engine/index.js";
import type { Gen } from "./locks.js";
import { lbl } from "../engine/label.js";

export function epochOf(v: number): number {
  return v >>> 16;
}
export function refcountOf(v: number, i: number): number {
  return (v >> ((i & 1) * 8)) & 0xff;
}
export function packEpoch(epoch: number, rc0 = 0, rc1 = 0): number {
  return (epoch << 16) | (rc1 << 8) | rc0;
}
/**
 * The bits of the epoch cell that hold td_epoch. TDH.MEM.RANGE.BLOCK samples td_epoch alone (into
 * PAMT.bepoch): it loads these bits only (a masked load, Atomic.load), so that DPOR knows a vCPU's
 * refcount change in between cannot alter what BLOCK does (docs/design.md, "Masked loads").
 */
export const EPOCH_BITS = 0xffff0000 | 0;
/** The bits is_tlb_tracked(bepoch) reads: td_epoch and refcount[bepoch & 1] (see isTlbTracked). */
export function trackedBits(bepoch: number): number {
  return EPOCH_BITS | (0xff << ((bepoch & 1) * 8));
}
export function formatEpoch(v: number): string {
  return `epoch=${epochOf(v)} refcount=[${refcountOf(v, 0)},${refcountOf(v, 1)}]`;
}

/**
 * is_tlb_tracked(bepoch) (helpers.h), on one atomic snapshot of epoch and refcounts: true iff a
 * TRACK happened after the BLOCK and every vCPU in the guest at BLOCK time has exited.
 * (mig_flag is never set: no migration.)
 */
export function isTlbTracked(epochCell: number, bepoch: number, bepochBits = 16): boolean {
  // td_epoch is kept modulo 2^16 (a TRACK past 65 535 wraps the cell) and bepoch modulo 2^16 or,
  // in a wide PAMT cell (simulation of a TD with more than 255 GPAs), 2^6: the comparison is of
  // the distance d = td_epoch − bepoch in that modulus. bepoch is a sample of td_epoch, which only
  // grows, so the true distance is never negative. Narrow: "bepoch ahead" is kept for distances in
  // the upper half (a scenario's initial state may say so); for the checker's epochs (< 2^15) this
  // is exactly bepoch == e − 1 / bepoch < e − 1. Wide: d is exact while a page stays blocked for
  // fewer than 64 TRACKs (docs/simulate.md, Size).
  const e = epochOf(epochCell);
  const d = (e - bepoch) & ((1 << bepochBits) - 1);
  if (d === 1) return refcountOf(epochCell, bepoch) === 0;
  return d >= 2 && (bepochBits < 16 || d < 1 << 15);
}

/** Increment refcount[td_epoch & 1] and return td_epoch (adjust_tlb_tracking_state, under epoch_lock SH). */
export function* refcountInc(cell: Atomic, label: string): Gen<number> {
  const old = yield cell.rmw((v) => v + (1 << ((epochOf(v) & 1) * 8)), lbl`${label}: refcount[td_epoch&1]++`);
  return epochOf(old);
}

/** Decrement refcount[epoch & 1] (TD exit in td_exit.c, or revert_tlb_tracking_state). */
export function* refcountDec(cell: Atomic, epoch: number, label: string): Gen<void> {
  const old = yield cell.rmw((v) => v - (1 << ((epoch & 1) * 8)), lbl`${label}: refcount[${epoch & 1}]--`);
  if (refcountOf(old, epoch) === 0) throw new Error(`TDX model: refcount[${epoch & 1}] underflow`);
}
