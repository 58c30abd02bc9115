// TDH.VP.INIT (leaf 22) — models tdh_vp_init.c: tdh_vp_init(): TDVPR EX (BUSY|RCX), implicit TDR
// (BUSY|TDR), op_state gating, vCPU state UNINITIALIZED -> READY (else TDX_VCPU_STATE_INCORRECT),
// initial association with the current LP (associate_vcpu_initial, helpers.c).
//
// The TDR mode depends on the leaf version: from 1.5.05 on (every 1.5.x the model has), version 1
// — the one the host wrapper tdh_vp_init() always issues, since it passes the x2APIC id — locks the
// TDR EXCLUSIVELY for the whole leaf, version 0 SHARED (intel/tdx-module 1.5.25
// src/vmm_dispatcher/api_calls/tdh_vp_init.c, the lock mode chosen from the leaf version; the
// same in 1.5.05 … 1.5.25). TDX module 1.0 always takes it SHARED (tdh_vp_init.c of TDX 1.0).
// With EX, VP.INIT conflicts with every TDR-shared SEAMCALL (AUG, SEPT.ADD, BLOCK, REMOVE, TRACK):
// the cause of the 6.16 bug fixed by "KVM: TDX: Take MMU lock around tdh_vp_init()"
// (Message-ID 20251028002824.1470939-1-rick.p.edgecombe@intel.com).
import type { Gen } from "./locks.js";
import { C, OP, TDX_SUCCESS, st, type Status } from "./status.js";
import { Held, OPSTATE, VCPU_STATE, type Td, assocOf, packVcpu, vcpuEpochOf, vcpuStateOf } from "./td.js";

const L = "tdh_vp_init";

/** `leafVersion`: the SEAMCALL leaf version in RAX bits 23:16 (KVM: always 1). */
export function* tdhVpInit(td: Td, v: number, lp: number, leafVersion: 0 | 1 = 1): Gen<Status> {
  td.checkVcpu(v);
  const held = new Held();
  if ((yield td.tdvprLock[v]!.tryExclusive(`${L}: TDVPR lock EX`)) !== 1) return st(C.OPERAND_BUSY, OP.RCX);
  held.tdvpr = { v, mode: "ex" };
  const tdr = td.version === "1.0" || leafVersion === 0 ? "sh" : "ex";
  // op_state: INITIALIZED only (seamcall_state_lookup[22], include/auto_gen/op_state_lookup.c).
  const s = yield* td.lockTd(held, { tdr, tdrOperand: OP.TDR, opStateLock: true, allowedOpStates: [OPSTATE.INITIALIZED], label: L });
  if (s !== TDX_SUCCESS) return yield* td.finish(held, s, L);
  const cell = td.vcpu[v]!;
  const old = yield cell.rmw((x) => (vcpuStateOf(x) === VCPU_STATE.UNINITIALIZED ? packVcpu(VCPU_STATE.READY, false, lp, vcpuEpochOf(x)) : x), `${L}: state := READY, associate`);
  if (vcpuStateOf(old) !== VCPU_STATE.UNINITIALIZED) return yield* td.finish(held, st(C.VCPU_STATE_INCORRECT), L);
  if (assocOf(old) === -1) yield td.numAssoc.add(1, `${L}: num_assoc_vcpus++`);
  return yield* td.finish(held, TDX_SUCCESS, L);
}
