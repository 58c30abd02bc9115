import { describe, expect, it } from "vitest";
import { C, OP, TDX_SUCCESS, isError, isTdExit, st, statusHex, statusName, statusString } from "../../src/tdx/index.js";

describe("tdx status tokens", () => {
  it("print the exact 64-bit values of the module's status codes (M25 tdx_error_codes_defs.h) with operand ids", () => {
    const cases: [number, string, string][] = [
      [st(C.OPERAND_BUSY, OP.SEPT_TREE), "TDX_OPERAND_BUSY|SEPT_TREE", "0x8000020000000092"],
      [st(C.OPERAND_BUSY, OP.RCX), "TDX_OPERAND_BUSY|RCX", "0x8000020000000001"],
      [st(C.OPERAND_BUSY, OP.RDX), "TDX_OPERAND_BUSY|RDX", "0x8000020000000002"],
      [st(C.OPERAND_BUSY, OP.TDR), "TDX_OPERAND_BUSY|TDR", "0x8000020000000080"],
      [st(C.OPERAND_BUSY, OP.R8), "TDX_OPERAND_BUSY|R8", "0x8000020000000008"],
      [st(C.OPERAND_BUSY, OP.TD_EPOCH), "TDX_OPERAND_BUSY|TD_EPOCH", "0x80000200000000A9"],
      [st(C.OPERAND_BUSY, OP.OP_STATE), "TDX_OPERAND_BUSY|OP_STATE", "0x80000200000000AC"],
      [st(C.GPA_RANGE_ALREADY_BLOCKED, OP.RCX), "TDX_GPA_RANGE_ALREADY_BLOCKED|RCX", "0x00000B0700000001"],
      [st(C.HOST_PRIORITY_BUSY_TIMEOUT), "TDX_HOST_PRIORITY_BUSY_TIMEOUT", "0x9000020500000000"],
      [st(C.OPERAND_BUSY_HOST_PRIORITY, OP.RCX), "TDX_OPERAND_BUSY_HOST_PRIORITY|RCX", "0x8000020400000001"],
      [st(C.PREVIOUS_TLB_EPOCH_BUSY), "TDX_PREVIOUS_TLB_EPOCH_BUSY", "0x8000020100000000"],
      [st(C.TD_KEYS_NOT_CONFIGURED), "TDX_TD_KEYS_NOT_CONFIGURED", "0x8000081000000000"],
      [st(C.TD_FATAL), "TDX_TD_FATAL", "0xE000060400000000"],
      [st(C.EPT_PAGE_NOT_FREE, OP.RCX), "TDX_EPT_PAGE_NOT_FREE|RCX", "0xC0000B0E00000001"],
      [st(C.PAGE_SIZE_MISMATCH, 1), "TDX_PAGE_SIZE_MISMATCH|1", "0xC0000B0B00000001"],
      [st(C.TD_EXIT_EPT_VIOLATION, 5), "TD_EXIT(EPT_VIOLATION) gpa=5", "0x0000000000000030"],
      [TDX_SUCCESS, "TDX_SUCCESS", "0x0000000000000000"],
    ];
    for (const [tok, name, hex] of cases) {
      expect(statusName(tok)).toBe(name);
      expect(statusHex(tok)).toBe(hex);
      expect(tok).toBeLessThan(1 << 16); // a small token, fits a World cell
    }
    expect(statusString(st(C.OPERAND_BUSY, OP.SEPT_TREE))).toBe("TDX_OPERAND_BUSY|SEPT_TREE (0x8000020000000092)");
  });
  it("classifies errors and TD exits", () => {
    expect(isError(st(C.OPERAND_BUSY, OP.RCX))).toBe(true);
    expect(isError(st(C.GPA_RANGE_ALREADY_BLOCKED, OP.RCX))).toBe(false);
    expect(isError(st(C.PAGE_ALREADY_ACCEPTED, 0))).toBe(false);
    expect(isTdExit(st(C.TD_EXIT_EPT_VIOLATION, 3))).toBe(true);
    expect(isTdExit(st(C.HOST_PRIORITY_BUSY_TIMEOUT))).toBe(true);
    expect(isTdExit(st(C.OPERAND_BUSY, OP.RCX))).toBe(false);
    expect(statusName(st(C.GUEST_VE, 2))).toBe("GUEST_#VE(EPT_VIOLATION) gpa=2");
  });
});
