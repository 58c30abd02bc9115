// TDH.MEM.PAGE.ADD (leaf 2) — models tdh_mem_page_add.c: tdh_mem_page_add() (M25).
// TDR EX (BUSY|RDX), no op_state lock (op_state must be INITIALIZED), no tree lock and no entry
// lock: the exclusive TDR lock gives exclusivity. Unlocked walk; FREE -> MAPPED with a plain write
// (which, unlike the *_keep_tdhp writes, clears TDHP). The source page (R9) and MRTD are not modelled.
// Module 1.0 (tdh_mem_page_add.c of qizhangz/tdx-module@9359de5, lines 80-104): also the tree lock EX,
// unobservable under the exclusive TDR and so not modelled; TDX_TD_FINALIZED after finalize and
// TDX_EPT_ENTRY_NOT_FREE on a used entry.
import type { Gen } from "./locks.js";
import { claimRange } from "./tdh_mem_page_aug.js";
import { S, mkEntry, stateOf } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, OPSTATE, type Td } from "./td.js";

const L = "tdh_mem_page_add";

export function* tdhMemPageAdd(td: Td, gpa: number, pfn: number): Gen<Status> {
  if (!td.geo.validPageInfo(gpa, 0, 0, 0)) return st(C.OPERAND_INVALID, OP.RCX);
  const held = new Held();
  let s = yield* td.lockTd(held, { tdr: "ex", tdrOperand: OP.RDX, opStateLock: false, allowedOpStates: [OPSTATE.INITIALIZED], label: L });
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  const w = yield* td.walk(gpa, 0, L);
  if (w.level !== 0) return yield* td.finish(held, st(C.EPT_WALK_FAILED, OP.RCX), L);
  if (stateOf(w.value) !== S.FREE) return yield* td.finish(held, td.statusNotFree(), L);
  s = yield* claimRange(td, pfn, 0, gpa, L, held);
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  yield td.entry(gpa, 0).store(mkEntry(S.MAPPED, pfn), `${L}: entry := MAPPED (plain write)`);
  yield td.chldcnt.add(1, `${L}: chldcnt += 1`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
