// TDH.MEM.SEPT.ADD (leaf 3, version 0) — models tdh_mem_sept_add.c: tdh_mem_sept_add()
// (M25). Locks: TDR SH (BUSY|RDX) -> op_state SH -> tree SH -> walk to the parent
// level L -> entry host lock (BUSY|RCX). FREE -> NL_MAPPED pointing at a new table of FREE entries.
// Module 1.0: tree EX, no entry lock, TDX_EPT_ENTRY_NOT_FREE (tdh_mem_sept_add.c of 1.0).
// Version 1 (L2 pages, TDX_INTERRUPTED_RESUMABLE/_BUSY) is not modelled.
import type { Gen } from "./locks.js";
import { dpamtWalk4k } from "./dpamt.js";
import { PAMT_NDA, PT, pamtPack } from "./pamt.js";
import { S, SEPTE_INIT_VALUE, mkEntry, stateOf } from "./sept.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, type Td } from "./td.js";
import { lbl } from "../engine/label.js";

const L = "tdh_mem_sept_add";

export function* tdhMemSeptAdd(td: Td, gpa: number, level: number, tablePfn: number, allowExisting = false): Gen<Status> {
  if (!td.geo.validPageInfo(gpa, level, 1, td.geo.top)) return st(C.OPERAND_INVALID, OP.RCX);
  if (!Number.isInteger(tablePfn) || tablePfn < 0 || tablePfn >= td.nPfns) return st(C.OPERAND_INVALID, OP.R8);
  const held = new Held();
  const got = yield* td.openSeptLeaf(held, gpa, level, "sh", L);
  if (typeof got === "number") return got;
  const { cell, lk } = got;
  const cur = stateOf(lk.value);
  if (cur === S.NL_MAPPED && allowExisting) return yield* td.finish(held, TDX_SUCCESS, L); // page not consumed
  if (cur !== S.FREE) return yield* td.finish(held, td.statusNotFree(), L);
  // Dynamic PAMT: the new S-EPT page's walk holds its range's 2M entry SH and needs a node
  // (TDX_MISSING_PAMT_PAGE_PAIR|R8 otherwise).
  if (td.dpamt) {
    const s = yield* dpamtWalk4k(td.dpamt, held.pamt2m, tablePfn, OP.R8, L);
    if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  }
  // New S-EPT page: PAMT check+lock EX expecting PT_NDA (ownership-only: one cmpxchg).
  const seen = yield td.pamt[tablePfn]!.cmpxchg(PAMT_NDA, pamtPack({ pt: PT.EPT, owner: gpa, ownerLevel: level }), lbl`${L}: PAMT claim pfn ${tablePfn} (PT_NDA -> PT_EPT)`);
  if (seen !== PAMT_NDA) return yield* td.finish(held, st(C.PAGE_METADATA_INCORRECT, OP.R8), L);
  // Fill the new page with SEPTE_INIT_VALUE: the child entries of this parent.
  const g = td.geo;
  for (let k = 0; k < g.fanout; k++) {
    const child = td.entry(gpa + k * g.span(level - 1), level - 1);
    yield child.store(SEPTE_INIT_VALUE, lbl`${L}: init new S-EPT page entry ${k}`);
  }
  yield td.chldcnt.add(1, lbl`${L}: chldcnt += 1`);
  // Parent := NL_MAPPED (RWX=7), written still locked; unlocked at exit.
  yield* td.commitEntry(held, cell, lk.value, mkEntry(S.NL_MAPPED, tablePfn), false, L);
  return yield* td.finish(held, TDX_SUCCESS, L);
}

