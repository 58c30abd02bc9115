// TD teardown leaves, in their simplest faithful form (M25):
//  - TDH.MNG.VPFLUSHDONE (leaf 19; tdh_mng_vpflushdone.c: tdh_mng_vpflushdone()): TDR EX (BUSY|RCX);
//    lifecycle KEYS_CONFIGURED or HKID_ASSIGNED (else TDX_LIFECYCLE_STATE_INCORRECT); no associated
//    vCPU (else TDX_FLUSHVP_NOT_DONE); lifecycle := TD_BLOCKED, and the HKID needs a cache WB.
//  - TDH.PHYMEM.CACHE.WB (tdh_phymem_cache_wb.c): one package; clears the pending WB.
//  - TDH.MNG.KEY.FREEID (leaf 20; tdh_mng_key_freeid.c: tdh_mng_key_freeid()): TDR EX (BUSY|RCX); lifecycle
//    TD_BLOCKED (else TDX_LIFECYCLE_STATE_INCORRECT); cache WB done (else TDX_WBCACHE_NOT_COMPLETE);
//    lifecycle := TD_TEARDOWN.
// The global KOT lock (BUSY|KOT) is not modelled: there is a single TD.
import type { Gen } from "./locks.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, LIFECYCLE, OPSTATE, type Td, fatalOf, lifecycleOf, opStateOf, packTdState, wbinvdPendingOf } from "./td.js";

export function* tdhMngVpFlushDone(td: Td): Gen<Status> {
  const L = "tdh_mng_vpflushdone";
  const held = new Held();
  if (!(yield* td.tdrLock.acquireHost("ex", `${L}: TDR lock`))) return st(C.OPERAND_BUSY, OP.RCX);
  held.tdr = "ex";
  const ts = yield td.tdState.load(`${L}: lifecycle_state`);
  const lc = lifecycleOf(ts);
  if (lc !== LIFECYCLE.KEYS_CONFIGURED && lc !== LIFECYCLE.HKID_ASSIGNED) return yield* td.finish(held, st(C.LIFECYCLE_STATE_INCORRECT), L);
  if (opStateOf(ts) !== OPSTATE.UNINITIALIZED) {
    const n = yield td.numAssoc.read(`${L}: num_assoc_vcpus`);
    if (n !== 0) return yield* td.finish(held, st(C.FLUSHVP_NOT_DONE), L);
  }
  yield td.tdState.rmw((x) => packTdState(LIFECYCLE.BLOCKED, opStateOf(x), fatalOf(x), true), `${L}: lifecycle := TD_BLOCKED`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}

export function* tdhPhymemCacheWb(td: Td): Gen<Status> {
  const L = "tdh_phymem_cache_wb";
  yield td.tdState.rmw((x) => packTdState(lifecycleOf(x), opStateOf(x), fatalOf(x), false), `${L}: WBINVD, wbinvd_bitmap := 0`);
  return TDX_SUCCESS;
}

export function* tdhMngKeyFreeid(td: Td): Gen<Status> {
  const L = "tdh_mng_key_freeid";
  const held = new Held();
  if (!(yield* td.tdrLock.acquireHost("ex", `${L}: TDR lock`))) return st(C.OPERAND_BUSY, OP.RCX);
  held.tdr = "ex";
  const ts = yield td.tdState.load(`${L}: lifecycle_state`);
  if (lifecycleOf(ts) !== LIFECYCLE.BLOCKED) return yield* td.finish(held, st(C.LIFECYCLE_STATE_INCORRECT), L);
  if (wbinvdPendingOf(ts)) return yield* td.finish(held, st(C.WBCACHE_NOT_COMPLETE), L);
  yield td.tdState.rmw((x) => packTdState(LIFECYCLE.TEARDOWN, opStateOf(x), fatalOf(x), false), `${L}: lifecycle := TD_TEARDOWN`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
