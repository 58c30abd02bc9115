import { describe, expect, it } from "vitest";
import { C, OP, TDX_SUCCESS, st, statusHex, statusName } from "../../src/tdx/index.js";
import { runSeq } from "./helpers.js";

describe("tdx status printing", () => {
  it("prints exact 64-bit values with operand ids", () => {
    expect(statusHex(st(C.OPERAND_BUSY, OP.SEPT_TREE))).toBe("0x8000020000000092");
    expect(statusName(st(C.OPERAND_BUSY, OP.SEPT_TREE))).toBe("TDX_OPERAND_BUSY|SEPT_TREE");
    expect(statusHex(st(C.OPERAND_BUSY, OP.RCX))).toBe("0x8000020000000001");
    expect(statusHex(st(C.OPERAND_BUSY, OP.TD_EPOCH))).toBe("0x80000200000000A9");
    expect(statusHex(st(C.GPA_RANGE_ALREADY_BLOCKED, OP.RCX))).toBe("0x00000B0700000001");
    expect(statusHex(st(C.HOST_PRIORITY_BUSY_TIMEOUT))).toBe("0x9000020500000000");
    expect(statusHex(TDX_SUCCESS)).toBe("0x0000000000000000");
  });
});

describe("tdx smoke: AUG, ACCEPT, BLOCK, TRACK, REMOVE", () => {
  it("runs the basic lifecycle of a private page", () => {
    const { tdx, results } = runSeq({}, function* (tdx) {
      return [
        yield* tdx.memSeptAdd(0, 2, 0),
        yield* tdx.memSeptAdd(0, 1, 1),
        yield* tdx.memPageAug(0, 0, 2),
        yield* tdx.vpEnter(0),
        yield* tdx.guestAccept(0, 0),
        yield* tdx.tdExit(0),
        yield* tdx.memRangeBlock(0, 0),
        yield* tdx.memTrack(),
        yield* tdx.memPageRemove(0, 0),
      ];
    });
    expect(results.map(statusName)).toEqual([
      "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS",
      "TD_EXIT(EXTERNAL_INTERRUPT)", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS",
    ]);
    expect(tdx.entry(0, 0).stateName).toBe("FREE");
    expect(tdx.pfnInfo(2).ptName).toBe("PT_NDA");
  });
});
