// Zero-step (EPT-fault stepping) mitigation (M25). Sources:
// td_exit_stepping.c: td_exit_epf_stepping_log() (logging at an EPT-violation TD exit),
// td_entry_stepping_filter() / is_epf_expected() and tdh_vp_enter.c: handle_stepping_filter()
// (the check at TDH.VP.ENTER, with the tree lock taken EX up to 1.5.16 and SH from 1.5.20).
//
// RIP is modelled as a small integer supplied by the guest operation ("the instruction that
// faulted"); equal RIPs at consecutive exits mean no guest progress.
import type { Gen } from "./locks.js";
import { S, stateOf } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { type Held, type Td, entryRipOf, hpBusyOf, lastRipOf, packStepping, stepCountOf } from "./td.js";
import { lbl } from "../engine/label.js";

/** EPF_GPA_LIST_SIZE (tdx_tdvps.h). */
export const EPF_GPA_LIST_SIZE = 32;

/**
 * td_exit_epf_stepping_log: at an EPT-violation TD exit on a private GPA. The stepping cells are
 * private to the vCPU (written only by its own guest side and TDH.VP.ENTER, which are ordered by
 * the TDVPR lock), so the current value is read with peek and only changes are steps.
 */
export function* logEpf(td: Td, v: number, gpa: number, rip: number, label: string): Gen<void> {
  const cell = td.stepping[v]!;
  const cur = cell.peek();
  let count = stepCountOf(cur);
  let list = td.epfList[v]!.peek();
  // The cell keeps a RIP in 8 bits (td.ts packStepping). The model's RIP is the action's GPA, so a
  // TD above 256 pages compared its full RIP with the kept 8 bits: never equal, the count reset at
  // every exit and the mitigation never engaged on GPAs >= 256. Compared in the kept bits: two
  // consecutive actions of a vCPU are never 256 (or a multiple) apart in any workload, so no
  // progress is taken for none; below 256 (every checker geometry) nothing changes.
  if ((rip & 0xff) !== entryRipOf(cur)) {
    // guest progress since the last TDH.VP.ENTER: reset the tracking
    count = 0;
    list = 0;
  }
  if (count < td.zeroStepThreshold) count++;
  else if (popcount(list) < EPF_GPA_LIST_SIZE) {
    if (gpa > 30) throw new Error(`model limit: the zero-step EPF list is a 31-bit cell (GPAs 0..30); GPA ${gpa} does not fit`);
    list |= 1 << gpa;
  }
  const next = packStepping(count, rip, entryRipOf(cur), hpBusyOf(cur));
  if (next !== cur) yield cell.store(next, lbl`${label}: td_exit_epf_stepping_log (count=${count})`);
  if (list !== td.epfList[v]!.peek()) yield td.epfList[v]!.store(list, lbl`${label}: last_epf_gpa_list`);
}

/** At TDH.VP.ENTER: sample the guest RIP into guest_rip_on_tdentry (if it changed). */
export function* sampleEntryRip(td: Td, v: number, label: string): Gen<void> {
  const cell = td.stepping[v]!;
  const cur = cell.peek();
  if (entryRipOf(cur) !== lastRipOf(cur)) yield cell.store(packStepping(stepCountOf(cur), lastRipOf(cur), lastRipOf(cur), hpBusyOf(cur)), lbl`${label}: guest_rip_on_tdentry := RIP`);
}

export type FilterResult = { kind: "enter" } | { kind: "busy"; status: Status } | { kind: "exit"; gpa: number };

/**
 * handle_stepping_filter / td_entry_stepping_filter. With an empty EPF list nothing happens (no
 * tree lock). Otherwise take the tree lock (host role: SH from 1.5.20, EX up to 1.5.16); on
 * failure BUSY|SEPT_TREE. With the lock, walk each listed GPA (unlocked reads): if any still
 * faults, release the lock and emulate an EPT-violation TD exit for it; else keep the lock
 * (released by the caller just before VM entry).
 */
export function* steppingFilter(td: Td, held: Held, v: number, label: string): Gen<FilterResult> {
  const list = yield td.epfList[v]!.load(lbl`${label}: last_epf_gpa_list empty?`);
  if (list === 0) return { kind: "enter" };
  const mode = td.hpTree ? "sh" : "ex";
  const s = yield* td.lockTree(held, mode, lbl`${label}: stepping filter`);
  if (s !== TDX_SUCCESS) return { kind: "busy", status: st(C.OPERAND_BUSY, OP.SEPT_TREE) };
  for (let gpa = 0; gpa < 31; gpa++) {
    if ((list & (1 << gpa)) === 0) continue;
    // is_epf_expected: walk for R+W+X access
    let faults = true;
    for (let l = td.geo.top; l >= 0; l--) {
      const e = yield td.entry(gpa, l).load(lbl`${label}: is_epf_expected gpa ${gpa} L${l}`);
      const es = stateOf(e);
      if (es === S.NL_MAPPED) continue;
      if (es === S.MAPPED) faults = false;
      // from 1.5.20 a PENDING page with #VE enabled is not counted as a fault
      else if (es === S.PENDING && td.hpTree && !td.pendingVeDisable) faults = false;
      break;
    }
    if (faults) {
      yield* td.treeLock.release(mode, lbl`${label}: stepping filter: secure_ept_lock`);
      held.tree = null;
      return { kind: "exit", gpa };
    }
  }
  return { kind: "enter" };
}

function popcount(x: number): number {
  let n = 0;
  for (let y = x >>> 0; y; y &= y - 1) n++;
  return n;
}
