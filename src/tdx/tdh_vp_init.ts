// TDH.VP.INIT (leaf 22) — models tdh_vp_init.c: tdh_vp_init(): TDVPR EX (BUSY|RCX), implicit TDR SH
// (BUSY|TDR), op_state gating, vCPU state UNINITIALIZED -> READY (else TDX_VCPU_STATE_INCORRECT),
// initial association with the current LP (associate_vcpu_initial, helpers.c).
import type { Gen } from "./locks.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, OPSTATE, VCPU_STATE, type Td, assocOf, packVcpu, vcpuEpochOf, vcpuStateOf } from "./td.js";

const L = "tdh_vp_init";

export function* tdhVpInit(td: Td, v: number, lp: number): Gen<Status> {
  td.checkVcpu(v);
  const held = new Held();
  if ((yield td.tdvprLock[v]!.tryExclusive(`${L}: TDVPR lock EX`)) !== 1) return st(C.OPERAND_BUSY, OP.RCX);
  held.tdvpr = { v, mode: "ex" };
  // op_state: INITIALIZED only (seamcall_state_lookup[22], include/auto_gen/op_state_lookup.c).
  const s = yield* td.lockTd(held, { tdr: "sh", tdrOperand: OP.TDR, opStateLock: true, allowedOpStates: [OPSTATE.INITIALIZED], label: L });
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  const cell = td.vcpu[v]!;
  const old = yield cell.rmw((x) => (vcpuStateOf(x) === VCPU_STATE.UNINITIALIZED ? packVcpu(VCPU_STATE.READY, false, lp, vcpuEpochOf(x)) : x), `${L}: state := READY, associate`);
  if (vcpuStateOf(old) !== VCPU_STATE.UNINITIALIZED) return yield* td.finish(held, st(C.VCPU_STATE_INCORRECT), L);
  if (assocOf(old) === -1) yield td.numAssoc.add(1, `${L}: num_assoc_vcpus++`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
