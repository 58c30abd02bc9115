// TDX status codes (M25 tdx_api_defs.h, tdx_error_codes_defs.h), carried as small integer tokens
// (`code << 8 | operand`) so they fit a World cell; the real 64-bit value is produced only when
// printing (BigInt is used in the formatting functions of this file only).
//
// Layout of the real value (api_error_code_t, tdx_api_defs.h): bits 31:0 operand id, 47:40 class,
// bit 63 error. `api_error_with_operand_id()` (helpers) ORs the operand id into bits 31:0; the
// token keeps the operand in its low byte and the code index above it.
// Values: include/auto_gen_1_5/tdx_error_codes_defs.h (1.5.25), checked against the 1.5.01 copy in
// intel/tdx-module and the Linux arch/x86/include/asm/shared/tdx_errno.h table.

import { lbl } from "../engine/label.js";

/** A status token: `code * 256 + operand`. 0 is TDX_SUCCESS. */
export type Status = number;

interface CodeInfo {
  name: string;
  /** The 64-bit value without operand, as hex digits; null for model-only pseudo codes. */
  hex: string | null;
}

const TABLE: CodeInfo[] = [];
function def(name: string, hex: string | null): number {
  TABLE.push({ name, hex });
  return TABLE.length - 1;
}

/** Status codes (indices, not values; see `statusHex`). */
export const C = {
  SUCCESS: def("TDX_SUCCESS", "0000000000000000"),
  INTERRUPTED_RESUMABLE: def("TDX_INTERRUPTED_RESUMABLE", "8000000300000000"),
  INTERRUPTED_RESTARTABLE: def("TDX_INTERRUPTED_RESTARTABLE", "8000000400000000"),
  OPERAND_INVALID: def("TDX_OPERAND_INVALID", "C000010000000000"),
  OPERAND_ADDR_RANGE_ERROR: def("TDX_OPERAND_ADDR_RANGE_ERROR", "C000010100000000"),
  OPERAND_BUSY: def("TDX_OPERAND_BUSY", "8000020000000000"),
  PREVIOUS_TLB_EPOCH_BUSY: def("TDX_PREVIOUS_TLB_EPOCH_BUSY", "8000020100000000"),
  SYS_BUSY: def("TDX_SYS_BUSY", "8000020200000000"),
  OPERAND_BUSY_HOST_PRIORITY: def("TDX_OPERAND_BUSY_HOST_PRIORITY", "8000020400000000"),
  HOST_PRIORITY_BUSY_TIMEOUT: def("TDX_HOST_PRIORITY_BUSY_TIMEOUT", "9000020500000000"),
  INTERRUPTED_BUSY: def("TDX_INTERRUPTED_BUSY", "8000020600000000"),
  PAGE_METADATA_INCORRECT: def("TDX_PAGE_METADATA_INCORRECT", "C000030000000000"),
  // Dynamic PAMT (1.5.20+): tdx_error_codes_defs.h of murrowow/tdx-concurrency@c71d4f6 (1.5.25).
  PAGE_NOT_FREE: def("TDX_PAGE_NOT_FREE", "C000030300000000"),
  HPA_RANGE_NOT_FREE: def("TDX_HPA_RANGE_NOT_FREE", "C000030400000000"),
  NO_PAMT_PAGE_PAIR: def("TDX_NO_PAMT_PAGE_PAIR", "C000030500000000"),
  PAMT_PAGE_NOT_EMPTY: def("TDX_PAMT_PAGE_NOT_EMPTY", "C000030600000000"),
  MISSING_PAMT_PAGE_PAIR: def("TDX_MISSING_PAMT_PAGE_PAIR", "8000030800000000"),
  TD_ASSOCIATED_PAGES_EXIST: def("TDX_TD_ASSOCIATED_PAGES_EXIST", "C000040000000000"),
  TD_FATAL: def("TDX_TD_FATAL", "E000060400000000"),
  TDCS_NOT_ALLOCATED: def("TDX_TDCS_NOT_ALLOCATED", "C000060600000000"),
  LIFECYCLE_STATE_INCORRECT: def("TDX_LIFECYCLE_STATE_INCORRECT", "C000060700000000"),
  OP_STATE_INCORRECT: def("TDX_OP_STATE_INCORRECT", "C000060800000000"),
  VCPU_STATE_INCORRECT: def("TDX_VCPU_STATE_INCORRECT", "C000070000000000"),
  VCPU_ASSOCIATED: def("TDX_VCPU_ASSOCIATED", "8000070100000000"),
  VCPU_NOT_ASSOCIATED: def("TDX_VCPU_NOT_ASSOCIATED", "8000070200000000"),
  TD_KEYS_NOT_CONFIGURED: def("TDX_TD_KEYS_NOT_CONFIGURED", "8000081000000000"),
  WBCACHE_NOT_COMPLETE: def("TDX_WBCACHE_NOT_COMPLETE", "8000081700000000"),
  FLUSHVP_NOT_DONE: def("TDX_FLUSHVP_NOT_DONE", "8000082400000000"),
  EPT_WALK_FAILED: def("TDX_EPT_WALK_FAILED", "C0000B0000000000"),
  EPT_ENTRY_NOT_PRESENT: def("TDX_EPT_ENTRY_NOT_PRESENT", "C0000B0300000000"),
  GPA_RANGE_NOT_BLOCKED: def("TDX_GPA_RANGE_NOT_BLOCKED", "C0000B0600000000"),
  GPA_RANGE_ALREADY_BLOCKED: def("TDX_GPA_RANGE_ALREADY_BLOCKED", "00000B0700000000"),
  TLB_TRACKING_NOT_DONE: def("TDX_TLB_TRACKING_NOT_DONE", "C0000B0800000000"),
  PAGE_ALREADY_ACCEPTED: def("TDX_PAGE_ALREADY_ACCEPTED", "00000B0A00000000"),
  PAGE_SIZE_MISMATCH: def("TDX_PAGE_SIZE_MISMATCH", "C0000B0B00000000"),
  EPT_ENTRY_STATE_INCORRECT: def("TDX_EPT_ENTRY_STATE_INCORRECT", "C0000B0D00000000"),
  EPT_PAGE_NOT_FREE: def("TDX_EPT_PAGE_NOT_FREE", "C0000B0E00000000"),
  // TD exits, as TDH.VP.ENTER returns them: RAX = TDX_SUCCESS class with the VMX basic exit reason
  // in the low bits (td_exit.c / td_other_exits.c). The token's operand byte carries the GPA (R8)
  // for EPT-violation exits; it is NOT part of RAX and is printed separately.
  TD_EXIT_EPT_VIOLATION: def("TD_EXIT(EPT_VIOLATION)", "0000000000000030"),
  TD_EXIT_EXTERNAL_INTERRUPT: def("TD_EXIT(EXTERNAL_INTERRUPT)", "0000000000000001"),
  // Guest-side outcomes that are not TDX statuses (model-only): #VE injected on a PENDING page
  // (td_ept_violation.c), a 2M ACCEPT interrupted between chunks (RIP not advanced; re-executed).
  GUEST_VE: def("GUEST_#VE(EPT_VIOLATION)", null),
  GUEST_ACCEPT_INTERRUPTED: def("GUEST_TDCALL_INTERRUPTED(ACCEPT restarts)", null),
  // TDH.MEM.PAGE.PROMOTE (S-EPT huge pages): tdx_error_codes_defs.h (1.5.25). Appended last so
  // that the tokens of the codes above keep their values.
  EPT_INVALID_PROMOTE_CONDITIONS: def("TDX_EPT_INVALID_PROMOTE_CONDITIONS", "C0000B0900000000"),
  // TDX module 1.0 only: its leaves test entry bits directly where 1.5 uses the state lookup tables
  // (TDX_EPT_ENTRY_STATE_INCORRECT), and gate on the TDCS "finalized" flag where 1.5 has op_state
  // (qizhangz/tdx-module@9359de5 include/auto_gen/tdx_error_codes_defs.h; the values are the same
  // in 1.5.25's table). Appended so that the other tokens keep their values.
  EPT_ENTRY_FREE: def("TDX_EPT_ENTRY_FREE", "C0000B0100000000"),
  EPT_ENTRY_NOT_FREE: def("TDX_EPT_ENTRY_NOT_FREE", "C0000B0200000000"),
  EPT_ENTRY_NOT_LEAF: def("TDX_EPT_ENTRY_NOT_LEAF", "C0000B0400000000"),
  TD_NOT_FINALIZED: def("TDX_TD_NOT_FINALIZED", "C000060200000000"),
  TD_FINALIZED: def("TDX_TD_FINALIZED", "C000060300000000"),
  // An EPT-violation TD exit whose extended exit qualification type is PENDING_EPT_VIOLATION (6):
  // the guest touched a PENDING page of a TD with ATTRIBUTES.SEPT_VE_DISABLE (td_ept_violation.c,
  // vmcs_defs.h of 1.5.25). Same RAX as TD_EXIT(EPT_VIOLATION); the EEQ type is the other register.
  TD_EXIT_EPT_VIOLATION_PENDING: def("TD_EXIT(EPT_VIOLATION, EEQ PENDING)", "0000000000000030"),
  /** Module 1.0 PROMOTE of an entry that is a leaf (qizhangz/tdx-module@d5fc67a tdh_mem_page_promote.c). */
  EPT_ENTRY_LEAF: def("TDX_EPT_ENTRY_LEAF", "C0000B0500000000"),
} as const;
export type Code = (typeof C)[keyof typeof C];

/** Operand ids (tdx_error_codes_defs.h OPERAND_ID_*). */
export const OP = {
  RAX: 0,
  RCX: 1,
  RDX: 2,
  R8: 8,
  R9: 9,
  R12: 12,
  R13: 13,
  TDR: 0x80,
  TDCX: 0x81,
  TDVPR: 0x82,
  TDCS: 0x90,
  TDVPS: 0x91,
  SEPT_TREE: 0x92,
  SEPT_ENTRY: 0x93,
  TD_EPOCH: 0xa9,
  OP_STATE: 0xac,
} as const;

const OPERAND_NAMES: Record<number, string> = {
  0: "RAX", 1: "RCX", 2: "RDX", 8: "R8", 9: "R9", 12: "R12", 13: "R13", 0x80: "TDR", 0x81: "TDCX", 0x82: "TDVPR", 0x90: "TDCS",
  0x91: "TDVPS", 0x92: "SEPT_TREE", 0x93: "SEPT_ENTRY", 0xa9: "TD_EPOCH", 0xac: "OP_STATE",
};

export const TDX_SUCCESS: Status = 0;

/**
 * Build a status token: `api_error_with_operand_id(code, operand)`. An operand above 255 (a GPA of
 * a simulated TD larger than the checker's geometries: TD exits and #VE carry the GPA) keeps its
 * low byte in bits 0-7 and the rest in bits 16-29 (the code index stays below 256, bits 8-15), so
 * every token with an operand below 256 has the value it always had (checker states unchanged).
 */
export function st(code: number, operand = 0): Status {
  if (!(operand >= 0 && operand < 1 << 22)) throw new RangeError(`operand ${operand} does not fit a status token`);
  return code * 256 + (operand & 0xff) + (operand >>> 8) * 65536;
}
export function statusCode(s: Status): number {
  return (s >> 8) & 0xff;
}
export function statusOperand(s: Status): number {
  return (s & 0xff) | ((s >>> 16) << 8);
}

/** Is this a TD-exit token (TDH.VP.ENTER returned because the TD exited)? */
export function isTdExit(s: Status): boolean {
  const c = statusCode(s);
  return c === C.TD_EXIT_EPT_VIOLATION || c === C.TD_EXIT_EPT_VIOLATION_PENDING || c === C.TD_EXIT_EXTERNAL_INTERRUPT || c === C.HOST_PRIORITY_BUSY_TIMEOUT;
}
/** The GPA (R8) of an EPT-violation TD exit or of a #VE, carried in the token's low byte. */
export function exitGpa(s: Status): number {
  return statusOperand(s);
}

/** The real 64-bit value (RAX) of a status, or null for model-only pseudo statuses. */
export function statusValue(s: Status): bigint | null {
  const info = TABLE[statusCode(s)];
  if (!info) throw new RangeError(`unknown status token ${s}`);
  if (info.hex === null) return null;
  const base = BigInt(`0x${info.hex}`);
  const c = statusCode(s);
  if (c === C.TD_EXIT_EPT_VIOLATION || c === C.TD_EXIT_EPT_VIOLATION_PENDING || c === C.TD_EXIT_EXTERNAL_INTERRUPT) return base; // operand = GPA, not in RAX
  return base | BigInt(statusOperand(s));
}

/** Bit 63 of the real value (error); pseudo statuses are not errors. */
export function isError(s: Status): boolean {
  const v = statusValue(s);
  return v !== null && (v >> 63n) === 1n;
}

/** "0x8000020000000092" (16 hex digits), or the name for a model-only pseudo status. */
export function statusHex(s: Status): string {
  const v = statusValue(s);
  if (v === null) return statusName(s);
  return `0x${v.toString(16).toUpperCase().padStart(16, "0")}`;
}

/** "TDX_OPERAND_BUSY|SEPT_TREE", "TDX_PAGE_ALREADY_ACCEPTED|1", "TD_EXIT(EPT_VIOLATION) gpa=3". */
export function statusName(s: Status): string {
  const info = TABLE[statusCode(s)];
  if (!info) return `?status(${s})`;
  const c = statusCode(s);
  const o = statusOperand(s);
  if (c === C.TD_EXIT_EPT_VIOLATION || c === C.TD_EXIT_EPT_VIOLATION_PENDING || c === C.GUEST_VE) return lbl`${info.name} gpa=${o}`;
  if (c === C.PAGE_ALREADY_ACCEPTED || c === C.PAGE_SIZE_MISMATCH || c === C.PAMT_PAGE_NOT_EMPTY || c === C.OP_STATE_INCORRECT || c === C.VCPU_STATE_INCORRECT)
    return o === 0 ? info.name : lbl`${info.name}|${o}`;
  if (o === 0) return info.name;
  return lbl`${info.name}|${OPERAND_NAMES[o] ?? `0x${o.toString(16)}`}`;
}

/** "TDX_OPERAND_BUSY|SEPT_TREE (0x8000020000000092)" */
export function statusString(s: Status): string {
  const v = statusValue(s);
  return v === null ? statusName(s) : `${statusName(s)} (${statusHex(s)})`;
}

/** Cell formatter for cells that hold status tokens. */
export const statusFmt = (v: number): string => statusName(v);
