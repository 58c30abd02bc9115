// TDH.VP.FLUSH (leaf 18) — models tdh_vp_flush.c: tdh_vp_flush(): TDVPR EX (BUSY|RCX; fails while
// the vCPU is in the guest, since VP.ENTER holds it SH), implicit TDR SH (BUSY|TDR), lifecycle
// TD_KEYS_CONFIGURED (else TDX_TD_KEYS_NOT_CONFIGURED), vCPU associated with this LP (else
// TDX_VCPU_NOT_ASSOCIATED); then dissociate and num_assoc_vcpus--. (INVEPT/VMCLEAR not modelled.)
import type { Gen } from "./locks.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, LIFECYCLE, type Td, assocOf, lifecycleOf, packVcpu, vcpuEpochOf, vcpuStateOf, inGuestOf } from "./td.js";

const L = "tdh_vp_flush";

export function* tdhVpFlush(td: Td, v: number, lp: number): Gen<Status> {
  td.checkVcpu(v);
  const held = new Held();
  if ((yield td.tdvprLock[v]!.tryExclusive(`${L}: TDVPR lock EX`)) !== 1) return st(C.OPERAND_BUSY, OP.RCX);
  held.tdvpr = { v, mode: "ex" };
  if (!(yield* td.tdrLock.acquireHost("sh", `${L}: TDR lock`))) return yield* td.finish(held, st(C.OPERAND_BUSY, OP.TDR), L);
  held.tdr = "sh";
  const ts = yield td.tdState.load(`${L}: lifecycle_state`);
  if (lifecycleOf(ts) !== LIFECYCLE.KEYS_CONFIGURED) return yield* td.finish(held, st(C.TD_KEYS_NOT_CONFIGURED), L);
  const cell = td.vcpu[v]!;
  const old = yield cell.rmw((x) => (assocOf(x) === lp ? packVcpu(vcpuStateOf(x), inGuestOf(x), -1, vcpuEpochOf(x)) : x), `${L}: assoc_lpid := none`);
  if (assocOf(old) !== lp) return yield* td.finish(held, st(C.VCPU_NOT_ASSOCIATED), L);
  yield td.numAssoc.add(-1, `${L}: num_assoc_vcpus--`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
