// TDG.MEM.PAGE.ACCEPT (TDCALL leaf 6) — models tdg_mem_page_accept.c: tdg_mem_page_accept() and
// the TDCALL dispatcher's host-priority handling (tdx_td_dispatcher.c; M25).
// No tree lock, no op_state lock: an unlocked walk, then the GUEST entry lock.
import { choose } from "../engine/index.js";
import type { Gen } from "./locks.js";
import { entryCommit, entryLockGuest, entryUnlock } from "./locks.js";
import { S, TDEL, isLeafState, stateOf, withAcceptCounter, acceptCounterOf, withState } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { type Td, entryRipOf, hpBusyOf, inGuestOf, lastRipOf, packStepping, stepCountOf } from "./td.js";
import { tdExit } from "./tdh_vp_enter.js";
import { lbl } from "../engine/label.js";

const L = "tdg_mem_page_accept";

export function requireInGuest(td: Td, v: number, what: string): void {
  td.checkVcpu(v);
  if (!inGuestOf(td.vcpu[v]!.peek())) throw new Error(`TDX model: ${what} on vCPU ${v}, which is not in the guest (call vpEnter first)`);
}

/** Set or clear TDVPS hp_lock_busy (vCPU-private cell: peek, and a step only when it changes). */
function* setHpBusy(td: Td, v: number, on: boolean, label: string): Gen<void> {
  const cell = td.stepping[v]!;
  const cur = cell.peek();
  if (hpBusyOf(cur) === on) return;
  yield cell.store(packStepping(stepCountOf(cur), lastRipOf(cur), entryRipOf(cur), on), lbl`${label}: hp_lock_busy := ${on ? 1 : 0}`);
}

/** The guest's RIP does not advance on a TD exit from a TDCALL: record the faulting RIP. */
export function* setLastRip(td: Td, v: number, rip: number, label: string): Gen<void> {
  const cell = td.stepping[v]!;
  const cur = cell.peek();
  if (lastRipOf(cur) === (rip & 0xff)) return; // the cell keeps 8 bits (zero_step.ts logEpf)
  yield cell.store(packStepping(stepCountOf(cur), rip, entryRipOf(cur), hpBusyOf(cur)), lbl`${label}: guest RIP := ${rip}`);
}

/**
 * Guest TDG.MEM.PAGE.ACCEPT of `gpa` at `level` (0 = 4K, 1 = 2M). Returns the TDCALL status the
 * guest sees (TDX_SUCCESS, TDX_PAGE_ALREADY_ACCEPTED|level, TDX_OPERAND_BUSY|RCX,
 * TDX_PAGE_SIZE_MISMATCH|level, TDX_OPERAND_INVALID|RCX, GUEST_TDCALL_INTERRUPTED), or a TD exit
 * (TD_EXIT(EPT_VIOLATION)|gpa, TDX_HOST_PRIORITY_BUSY_TIMEOUT) after which the vCPU is out of the
 * guest and the ACCEPT will be re-executed after the next TDH.VP.ENTER.
 */
export function* tdgMemPageAccept(td: Td, v: number, gpa: number, level: number, rip: number): Gen<Status> {
  requireInGuest(td, v, "TDG.MEM.PAGE.ACCEPT");
  if (!td.geo.validPageInfo(gpa, level, 0, 1)) return yield* dispatch(td, v, st(C.OPERAND_INVALID, OP.RCX));
  // 2. unlocked walk (walk_private_gpa)
  const w = yield* td.walk(gpa, level, L);
  if (w.level !== level) {
    const ws = stateOf(w.value);
    if (ws === S.MAPPED) return yield* dispatch(td, v, st(C.PAGE_ALREADY_ACCEPTED, w.level));
    return yield* violation(td, v, gpa, rip);
  }
  if (td.v10) return yield* accept10(td, v, gpa, level, rip, w.value);
  // 4. guest entry lock
  const cell = td.entry(gpa, level);
  const lk = yield* entryLockGuest(cell, L);
  if (!lk.ok) {
    if (!lk.hostPriority) return yield* dispatch(td, v, st(C.OPERAND_BUSY, OP.RCX));
    return yield* dispatchHostPriority(td, v, gpa, rip);
  }
  // 5. re-read under the lock
  const cur = stateOf(lk.value);
  if (!isLeafState(cur) && cur !== S.FREE) {
    yield* entryUnlock(cell, L);
    return yield* dispatch(td, v, st(C.PAGE_SIZE_MISMATCH, level));
  }
  if (cur === S.MAPPED) {
    yield* entryUnlock(cell, L);
    return yield* dispatch(td, v, st(C.PAGE_ALREADY_ACCEPTED, level));
  }
  if (cur !== S.PENDING) {
    yield* entryUnlock(cell, L);
    return yield* violation(td, v, gpa, rip);
  }
  // 7. zero the page. A 2M page is zeroed in 4K chunks from accept_counter; between chunks a
  // pending guest interrupt stops the loop: the counter is saved in the (still PENDING) entry, the
  // lock released and the TDCALL restarted (RIP not advanced).
  if (level > 0) {
    const n = td.geo.span(level);
    for (let chunk = acceptCounterOf(lk.value); chunk < n; chunk++) {
      if (chunk > acceptCounterOf(lk.value)) {
        const intr = yield choose(2, lbl`${L}: is_interrupt_pending_guest_side (chunk ${chunk})`, { env: true });
        if (intr === 1) {
          const saved = withAcceptCounter(lk.value, chunk);
          yield* entryCommit(cell, lk.value, saved, true, lbl`${L}: interrupted, save accept_counter=${chunk}`);
          return yield* dispatch(td, v, st(C.GUEST_ACCEPT_INTERRUPTED));
        }
      }
    }
  }
  // Commit: MAPPED (RWX=7), counter cleaned, TDHP kept, TDEL released.
  yield* entryCommit(cell, lk.value, withAcceptCounter(withState(lk.value & ~TDEL, S.MAPPED), 0), true, L);
  return yield* dispatch(td, v, TDX_SUCCESS);
}

/**
 * Module 1.0 (qizhangz/tdx-module@d5fc67a td_dispatcher/vm_exits/tdg_mem_page_accept.c): no
 * TDEL/TDHP and no host priority. The walked copy is classified first
 * (non-leaf → SIZE_MISMATCH, MAPPED → ALREADY_ACCEPTED, anything but PENDING → EPT-violation
 * exit); then the guest lock bit TDGL (the cell's TDEL bit in 1.0) is taken with ONE cmpxchg of
 * "the copy, PENDING, not blocked, TDGL clear" → TDGL set (BUSY|RCX if the entry differs). Each
 * zeroed chunk is committed by a cmpxchg from the last value written (a host BLOCK in between
 * makes it fail: TDGL dropped with btr, BUSY|RCX); the last one writes MAPPED with TDGL clear.
 */
function* accept10(td: Td, v: number, gpa: number, level: number, rip: number, copy: number): Gen<Status> {
  const cur = stateOf(copy);
  if (!isLeafState(cur) && cur !== S.FREE) return yield* dispatch(td, v, st(C.PAGE_SIZE_MISMATCH, level));
  if (cur === S.MAPPED) return yield* dispatch(td, v, st(C.PAGE_ALREADY_ACCEPTED, level));
  if (cur !== S.PENDING) return yield* violation(td, v, gpa, rip);
  const cell = td.entry(gpa, level);
  let expected = copy & ~TDEL;
  const seen = yield cell.cmpxchg(expected, expected | TDEL, lbl`${L}: cmpxchg take TDGL`);
  if (seen !== expected) return yield* dispatch(td, v, st(C.OPERAND_BUSY, OP.RCX));
  expected |= TDEL;
  const n = level > 0 ? td.geo.span(level) : 1;
  for (let chunk = acceptCounterOf(expected); ; chunk++) {
    const done = chunk >= n - 1;
    const next = done ? withAcceptCounter(withState(expected & ~TDEL, S.MAPPED), 0) : withAcceptCounter(expected, chunk + 1);
    const got = yield cell.cmpxchg(expected, next, done ? `${L}: cmpxchg -> MAPPED, drop TDGL` : `${L}: cmpxchg init_counter := ${chunk + 1}`);
    if (got !== expected) {
      yield cell.rmw((x) => x & ~TDEL, lbl`${L}: btr TDGL (entry changed)`);
      return yield* dispatch(td, v, st(C.OPERAND_BUSY, OP.RCX));
    }
    if (done) return yield* dispatch(td, v, TDX_SUCCESS);
    expected = next;
    const intr = yield choose(2, lbl`${L}: interrupt pending? (chunk ${chunk + 1})`, { env: true });
    if (intr === 1) {
      yield cell.rmw((x) => x & ~TDEL, lbl`${L}: interrupted, btr TDGL`);
      return yield* dispatch(td, v, st(C.GUEST_ACCEPT_INTERRUPTED));
    }
  }
}

/** The dispatcher: any TDCALL not returning BUSY_HOST_PRIORITY clears hp_lock_busy. */
function* dispatch(td: Td, v: number, s: Status): Gen<Status> {
  yield* setHpBusy(td, v, false, "tdx_td_dispatcher");
  return s;
}

/**
 * TDX_OPERAND_BUSY_HOST_PRIORITY from the entry lock (tdx_td_dispatcher.c): the guest sees
 * TDX_OPERAND_BUSY|RCX. On the first occurrence hp_lock_busy is set; on a later one, if
 * hp_lock_timeout has expired (a fair environment choice here, not a clock: outcome 0 =
 * expired), the flag is cleared and the TD exits to the host with TDX_HOST_PRIORITY_BUSY_TIMEOUT.
 */
function* dispatchHostPriority(td: Td, v: number, _gpa: number, rip: number): Gen<Status> {
  const busy = st(C.OPERAND_BUSY, OP.RCX);
  if (!hpBusyOf(td.stepping[v]!.peek())) {
    yield* setHpBusy(td, v, true, "tdx_td_dispatcher");
    return busy;
  }
  const notYet = yield choose(2, "tdx_td_dispatcher: hp_lock_timeout expired? (0 = expired)", { env: true });
  if (notYet === 1) return busy;
  yield* setHpBusy(td, v, false, "tdx_td_dispatcher");
  yield* setLastRip(td, v, rip, "tdx_td_dispatcher");
  return yield* tdExit(td, v, st(C.HOST_PRIORITY_BUSY_TIMEOUT), "tdx_td_dispatcher: async TD exit");
}

/** async_tdexit_ept_violation (td_other_exits.c) with EEQ type ACCEPT; the TDCALL is re-executed later. */
function* violation(td: Td, v: number, gpa: number, rip: number): Gen<Status> {
  yield* setHpBusy(td, v, false, "tdx_td_dispatcher");
  yield* setLastRip(td, v, rip, L);
  return yield* tdExit(td, v, st(C.TD_EXIT_EPT_VIOLATION, gpa), lbl`${L}: async_tdexit_ept_violation`);
}
