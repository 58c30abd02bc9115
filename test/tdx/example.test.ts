import { describe, expect, it } from "vitest";
import { augVsBlock } from "../../src/tdx/example_aug_block.js";

describe("docs example: two host threads race AUG and BLOCK", () => {
  it("finds AUG's TDX_OPERAND_BUSY|SEPT_TREE with its exact value", () => {
    const { text } = augVsBlock();
    expect(text.split("\n")[0]).toBe("AUG -> TDX_OPERAND_BUSY|SEPT_TREE (0x8000020000000092); BLOCK -> TDX_SUCCESS (0x0000000000000000)");
    expect(text).toMatch(/try_lock_ex tdcs\.secure_ept_lock = acquired/);
    expect(text).toMatch(/try_lock_sh tdcs\.secure_ept_lock = busy/);
  });
});
