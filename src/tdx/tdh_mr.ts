// TDH.MR.EXTEND (leaf 16) and TDH.MR.FINALIZE (leaf 17) — models tdh_mr_extend.c:
// tdh_mr_extend() and tdh_mr_finalize.c: tdh_mr_finalize() (M25).
// Both take the TDR exclusively; the measurement (MRTD/SHA384) itself is not modelled.
import type { Gen } from "./locks.js";
import { S, stateOf } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, OPSTATE, type Td, lifecycleOf, packTdState, fatalOf, wbinvdPendingOf } from "./td.js";

/** TDH.MR.EXTEND of the 4K page at `gpa`: TDR EX (BUSY|RDX), op_state INITIALIZED, unlocked walk; MAPPED else EPT_ENTRY_NOT_PRESENT|RCX. */
export function* tdhMrExtend(td: Td, gpa: number): Gen<Status> {
  const L = "tdh_mr_extend";
  if (!td.geo.validPageInfo(gpa, 0, 0, 0)) return st(C.OPERAND_INVALID, OP.RCX);
  const held = new Held();
  const s = yield* td.lockTd(held, { tdr: "ex", tdrOperand: OP.RDX, opStateLock: false, allowedOpStates: [OPSTATE.INITIALIZED], label: L });
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  const w = yield* td.walk(gpa, 0, L);
  if (w.level !== 0 || stateOf(w.value) !== S.MAPPED) return yield* td.finish(held, st(C.EPT_ENTRY_NOT_PRESENT, OP.RCX), L);
  return yield* td.finish(held, TDX_SUCCESS, L);
}

/** TDH.MR.FINALIZE: TDR EX (BUSY|RCX), op_state INITIALIZED -> RUNNABLE. */
export function* tdhMrFinalize(td: Td): Gen<Status> {
  const L = "tdh_mr_finalize";
  const held = new Held();
  const s = yield* td.lockTd(held, { tdr: "ex", tdrOperand: OP.RCX, opStateLock: false, allowedOpStates: [OPSTATE.INITIALIZED], label: L });
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  yield td.tdState.rmw((x) => packTdState(lifecycleOf(x), OPSTATE.RUNNABLE, fatalOf(x), wbinvdPendingOf(x)), `${L}: op_state := RUNNABLE`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
