// Guest access to private memory — models the hardware walk plus the module's EPT-violation exit
// handler td_ept_violation.c: td_ept_violation_exit() (M25). SVE=1 on every
// entry, so every fault comes to the module, which injects #VE for a PENDING page (unless
// PENDING_VE_DISABLE) or exits to the host (after the zero-step logging of zero_step.ts).
import type { Gen } from "./locks.js";
import { S, stateOf } from "./sept.js";
import { C, TDX_SUCCESS, st, type Status } from "./status.js";
import type { Td } from "./td.js";
import { requireInGuest, setLastRip } from "./tdg_mem_page_accept.js";
import { tdExit } from "./tdh_vp_enter.js";
import { logEpf } from "./zero_step.js";
import { lbl } from "../engine/label.js";

const L = "td_ept_violation";

/**
 * The guest touches `gpa` (instruction at `rip`). Returns TDX_SUCCESS (access done),
 * GUEST_#VE|gpa (#VE injected, still in the guest) or TD_EXIT(EPT_VIOLATION)|gpa (the vCPU left
 * the guest). The hardware walk and the module's own unlocked walk are merged into one walk.
 * Guest TLBs are not modelled: every access walks the current S-EPT.
 */
export function* guestAccess(td: Td, v: number, gpa: number, rip: number): Gen<Status> {
  requireInGuest(td, v, "guest access");
  if (!Number.isInteger(gpa) || gpa < 0 || gpa >= td.geo.pages) throw new RangeError(`guest access: no GPA ${gpa}`);
  let leaf = S.FREE as number;
  for (let l = td.geo.top; l >= 0; l--) {
    const e = yield td.entry(gpa, l).load(lbl`guest walk L${l}`);
    leaf = stateOf(e);
    if (leaf !== S.NL_MAPPED) break;
  }
  if (leaf === S.MAPPED) return TDX_SUCCESS;
  if (leaf === S.PENDING && !td.pendingVeDisable) return st(C.GUEST_VE, gpa); // VE_INFO_PENDING, no TD exit
  // EPT-violation TD exit: zero-step logging first (private GPA), RIP not advanced. A PENDING page
  // with SEPT_VE_DISABLE exits with the extended exit qualification type PENDING_EPT_VIOLATION.
  yield* logEpf(td, v, gpa, rip, L);
  yield* setLastRip(td, v, rip, L);
  const pending = leaf === S.PENDING;
  return yield* tdExit(td, v, st(pending ? C.TD_EXIT_EPT_VIOLATION_PENDING : C.TD_EXIT_EPT_VIOLATION, gpa), lbl`${L}: TD exit${pending ? " (EEQ type PENDING_EPT_VIOLATION)" : ""}`);
}
