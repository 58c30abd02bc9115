// TDH.VP.INIT takes the TDR exclusively for leaf version 1 (1.5.05+; the version KVM's host wrapper
// always issues) and shared for version 0 (intel/tdx-module tdh_vp_init.c). Fails on the old model,
// which took it shared.
import { describe, expect, it } from "vitest";
import { C, OP, st, statusHex, type TdxModule } from "../../src/tdx/index.js";
import { cfgWith, n, race } from "./helpers.js";

const cfg = cfgWith([{ gpa: 0, level: 0, state: "MAPPED", pfn: 0 }], { opState: "INITIALIZED", vcpusInitialized: false });
const bodies = (v: 0 | 1) => ({
  init: function* (tdx: TdxModule) { return [yield* tdx.vpInit(0, 0, v)]; },
  block: function* (tdx: TdxModule) { return [yield* tdx.memRangeBlock(0, 0)]; },
});

describe("TDH.VP.INIT vs TDH.MEM.RANGE.BLOCK during the build", () => {
  it("version 1: BLOCK can get TDX_OPERAND_BUSY|RDX (0x8000020000000002) behind VP.INIT's exclusive TDR lock", () => {
    const r = race(cfg, bodies(1), (x) => (n(x, "block")[0] === "TDX_OPERAND_BUSY|RDX" ? "block busy" : null));
    expect(r.result.verdict).toBe("violated");
    expect(statusHex(st(C.OPERAND_BUSY, OP.RDX))).toBe("0x8000020000000002");
  });
  it("version 1: VP.INIT can get TDX_OPERAND_BUSY|TDR behind BLOCK's shared TDR lock", () => {
    const r = race(cfg, bodies(1), (x) => (n(x, "init")[0] === "TDX_OPERAND_BUSY|TDR" ? "init busy" : null));
    expect(r.result.verdict).toBe("violated");
  });
  it("version 0: both take the TDR shared and never conflict", () => {
    const r = race(cfg, bodies(0), (x) => (n(x, "init")[0] !== "TDX_SUCCESS" || n(x, "block")[0] !== "TDX_SUCCESS" ? `init ${n(x, "init")} block ${n(x, "block")}` : null));
    expect(r.result.verdict).toBe("verified");
  });
});
