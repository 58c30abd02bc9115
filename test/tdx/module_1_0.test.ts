// TDX module 1.0 (qizhangz/tdx-module@9359de5 / @d5fc67a): the leaf differences from 1.5.x that the
// v10/v11-era presets run on. Each test pairs the 1.0 outcome with the 1.5.25 one, so it fails if
// 1.0 were modelled as 1.5 (the old model refused "1.0" outright).
import { describe, expect, it } from "vitest";
import { defineProgram, type World } from "../../src/engine/index.js";
import { C, OP, TdxModule, st, statusHex } from "../../src/tdx/index.js";
import { cfgWith, found, has, n, never, race, seq, type Results } from "./helpers.js";

const BUSY_TREE = st(C.OPERAND_BUSY, OP.SEPT_TREE);
const V10 = { version: "1.0" as const };

describe("TDX module 1.0: configuration", () => {
  it("accepts version 1.0 and refuses Dynamic PAMT on it", () => {
    expect(seq(cfgWith([], V10), function* (tdx) { return [yield* tdx.memTrack()]; }).names).toEqual(["TDX_SUCCESS"]);
    expect(() =>
      defineProgram("x", (w: World) => {
        new TdxModule(w, cfgWith([], { ...V10, dpamt: true }));
        return { threads: [] };
      }),
    ).toThrow(/1\.5\.20/);
  });
});

describe("TDX module 1.0: every mutating host S-EPT leaf takes the tree lock EXCLUSIVELY", () => {
  const bodies = {
    aug0: function* (tdx: TdxModule) { return [yield* tdx.memPageAug(0, 0, 0)]; },
    aug3: function* (tdx: TdxModule) { return [yield* tdx.memPageAug(3, 0, 3)]; },
  };
  const busy = (r: Results) => (has(r, "aug0", BUSY_TREE) || has(r, "aug3", BUSY_TREE) ? `aug0 ${n(r, "aug0")} aug3 ${n(r, "aug3")}` : null);
  it("1.0: two AUGs of DIFFERENT GPAs contend: BUSY|SEPT_TREE (0x8000020000000092)", () => {
    expect(found(race(cfgWith([], V10), bodies, busy))).toMatch(/TDX_OPERAND_BUSY\|SEPT_TREE/);
    expect(statusHex(BUSY_TREE)).toBe("0x8000020000000092");
  });
  it("1.5.25: the same two AUGs never conflict (tree lock shared)", () => {
    never(race(cfgWith(), bodies, busy));
  });
  it("1.0: the zero-step filter (tree EX) and an AUG contend on either side", () => {
    const cfg = cfgWith([{ gpa: 0, level: 0, state: "MAPPED", pfn: 0 }], { ...V10, initialEpf: [{ vcpu: 0, gpas: [0] }] });
    const b = {
      enter: function* (tdx: TdxModule) { return [yield* tdx.vpEnter(0)]; },
      aug: function* (tdx: TdxModule) { return [yield* tdx.memPageAug(2, 0, 2)]; },
    };
    expect(found(race(cfg, b, (r) => (has(r, "aug", BUSY_TREE) ? `enter ${n(r, "enter")} aug ${n(r, "aug")}` : null)))).toBe("enter TDX_SUCCESS aug TDX_OPERAND_BUSY|SEPT_TREE");
  });
});

describe("TDX module 1.0: status codes by condition", () => {
  const mapped = [{ gpa: 0, level: 0, state: "MAPPED" as const, pfn: 0 }];
  it("AUG of a used entry: TDX_EPT_ENTRY_NOT_FREE (1.0) vs TDX_EPT_ENTRY_STATE_INCORRECT (1.5.25)", () => {
    const body = function* (tdx: TdxModule) { return [yield* tdx.memPageAug(0, 0, 1)]; };
    expect(seq(cfgWith(mapped, V10), body).names).toEqual(["TDX_EPT_ENTRY_NOT_FREE|RCX"]);
    expect(seq(cfgWith(mapped), body).names).toEqual(["TDX_EPT_ENTRY_STATE_INCORRECT|RCX"]);
    expect(statusHex(st(C.EPT_ENTRY_NOT_FREE, OP.RCX))).toBe("0xC0000B0200000001");
  });
  it("SEPT.ADD of a used entry and PAGE.ADD of a used entry: TDX_EPT_ENTRY_NOT_FREE", () => {
    // the L1 entry at GPA 2 is NL_MAPPED in cfgWith's tables
    const body = function* (tdx: TdxModule) { return [yield* tdx.memSeptAdd(2, 1, 11)]; };
    expect(seq(cfgWith([], V10), body).names).toEqual(["TDX_EPT_ENTRY_NOT_FREE|RCX"]);
    expect(seq(cfgWith(), body).names).toEqual(["TDX_EPT_ENTRY_STATE_INCORRECT|RCX"]);
    const add = function* (tdx: TdxModule) { return [yield* tdx.memPageAdd(0, 1)]; };
    expect(seq(cfgWith(mapped, { ...V10, opState: "INITIALIZED" }), add).names).toEqual(["TDX_EPT_ENTRY_NOT_FREE|RCX"]);
  });
  it("BLOCK of a FREE entry: TDX_EPT_ENTRY_FREE (1.0) vs TDX_EPT_ENTRY_STATE_INCORRECT (1.5.25)", () => {
    const body = function* (tdx: TdxModule) { return [yield* tdx.memRangeBlock(1, 0)]; };
    expect(seq(cfgWith([], V10), body).names).toEqual(["TDX_EPT_ENTRY_FREE|RCX"]);
    expect(seq(cfgWith(), body).names).toEqual(["TDX_EPT_ENTRY_STATE_INCORRECT|RCX"]);
  });
  it("gating by the finalized flag: TDX_TD_FINALIZED / TDX_TD_NOT_FINALIZED instead of TDX_OP_STATE_INCORRECT", () => {
    const add = function* (tdx: TdxModule) { return [yield* tdx.memPageAdd(1, 1), yield* tdx.mrExtend(0), yield* tdx.mrFinalize()]; };
    expect(seq(cfgWith(mapped, V10), add).names).toEqual(["TDX_TD_FINALIZED", "TDX_TD_FINALIZED", "TDX_TD_FINALIZED"]);
    expect(seq(cfgWith(mapped), add).names).toEqual(["TDX_OP_STATE_INCORRECT|2", "TDX_OP_STATE_INCORRECT|2", "TDX_OP_STATE_INCORRECT|2"]);
    const enter = function* (tdx: TdxModule) { return [yield* tdx.vpEnter(0)]; };
    expect(seq(cfgWith([], { ...V10, opState: "INITIALIZED" }), enter).names).toEqual(["TDX_TD_NOT_FINALIZED"]);
    expect(statusHex(st(C.TD_FINALIZED))).toBe("0xC000060300000000");
    // PAGE.AUG is not gated on finalized in 1.0
    const aug = function* (tdx: TdxModule) { return [yield* tdx.memPageAug(1, 0, 1)]; };
    expect(seq(cfgWith([], { ...V10, opState: "INITIALIZED" }), aug).names).toEqual(["TDX_SUCCESS"]);
  });
});

describe("TDX module 1.0: PAGE.REMOVE always needs BLOCK and a tracked epoch, before finalize too", () => {
  const building = { opState: "INITIALIZED" as const };
  const mapped = [{ gpa: 0, level: 0, state: "MAPPED" as const, pfn: 0 }];
  it("an unblocked leaf before finalize: GPA_RANGE_NOT_BLOCKED on 1.0, removed on 1.5.25", () => {
    const body = function* (tdx: TdxModule) { return [yield* tdx.memPageRemove(0, 0)]; };
    expect(seq(cfgWith(mapped, { ...V10, ...building }), body).names).toEqual(["TDX_GPA_RANGE_NOT_BLOCKED|RCX"]);
    expect(seq(cfgWith(mapped, building), body).names).toEqual(["TDX_SUCCESS"]);
  });
  it("BLOCK then REMOVE before finalize: TLB_TRACKING_NOT_DONE on 1.0 until TRACK; 1.5.25 needs no TRACK", () => {
    const noTrack = function* (tdx: TdxModule) { return [yield* tdx.memRangeBlock(0, 0), yield* tdx.memPageRemove(0, 0)]; };
    expect(seq(cfgWith(mapped, { ...V10, ...building }), noTrack).names).toEqual(["TDX_SUCCESS", "TDX_TLB_TRACKING_NOT_DONE|RCX"]);
    expect(seq(cfgWith(mapped, building), noTrack).names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS"]);
    const withTrack = function* (tdx: TdxModule) { return [yield* tdx.memRangeBlock(0, 0), yield* tdx.memTrack(), yield* tdx.memPageRemove(0, 0)]; };
    const r = seq(cfgWith(mapped, { ...V10, ...building }), withTrack);
    expect(r.names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(r.tdx.entry(0, 0).stateName).toBe("FREE");
  });
  it("a non-leaf: TDX_EPT_ENTRY_NOT_LEAF", () => {
    const body = function* (tdx: TdxModule) { return [yield* tdx.memPageRemove(0, 1)]; };
    expect(seq(cfgWith([], V10), body).names).toEqual(["TDX_EPT_ENTRY_NOT_LEAF|RCX"]);
  });
});

describe("TDX module 1.0: BLOCK vs the guest's ACCEPT through the entry cmpxchg and TDGL", () => {
  const cfg = cfgWith([{ gpa: 0, level: 0, state: "PENDING", pfn: 0 }], V10);
  const bodies = {
    guest: function* (tdx: TdxModule) {
      const e = yield* tdx.vpEnter(0);
      if (e !== 0) return [e];
      const a = yield* tdx.guestAccept(0, 0, 0);
      return [a, ...(a === st(C.TD_EXIT_EPT_VIOLATION, 0) ? [] : [yield* tdx.tdExit(0)])];
    },
    block: function* (tdx: TdxModule) { return [yield* tdx.memRangeBlock(0, 0)]; },
  };
  it("an ACCEPT holding TDGL does not stop the BLOCK: the BLOCK succeeds and the ACCEPT fails BUSY|RCX", () => {
    const run = race(cfg, bodies, (r) => (n(r, "guest")[0] === "TDX_OPERAND_BUSY|RCX" && n(r, "block")[0] === "TDX_SUCCESS" ? "accept lost" : null));
    expect(found(run)).toBe("accept lost");
    const labels = run.result.violations[0]!.steps.map((s) => s.label);
    // the guest had taken TDGL before the BLOCK's cmpxchg, and dropped it when its own cmpxchg failed
    expect(labels.some((l) => l.includes("cmpxchg take TDGL"))).toBe(true);
    expect(labels.some((l) => l.includes("btr TDGL (entry changed)"))).toBe(true);
    expect(run.tdx.entry(0, 0).tdel).toBe(false);
  });
  it("TDGL taken between the BLOCK's walk and its cmpxchg: the BLOCK fails BUSY|RCX; no host-priority outcome ever", () => {
    const run = race(cfg, bodies, (r) => (n(r, "block")[0] === "TDX_OPERAND_BUSY|RCX" ? `guest ${n(r, "guest")}` : null));
    expect(found(run)).toBe("guest TDX_SUCCESS,TD_EXIT(EXTERNAL_INTERRUPT)");
    never(race(cfg, bodies, (r) => ([...n(r, "guest"), ...n(r, "block")].some((x) => x.includes("HOST_PRIORITY")) ? "HP" : null)));
  });
});

describe("TDX module 1.0: TDH.VP.INIT takes the TDR SHARED whatever the leaf version", () => {
  it("VP.INIT (version 1) and BLOCK during the build never conflict on 1.0", () => {
    const cfg = cfgWith([{ gpa: 0, level: 0, state: "MAPPED", pfn: 0 }], { ...V10, opState: "INITIALIZED", vcpusInitialized: false });
    never(race(cfg, {
      init: function* (tdx: TdxModule) { return [yield* tdx.vpInit(0, 0, 1)]; },
      block: function* (tdx: TdxModule) { return [yield* tdx.memRangeBlock(0, 0)]; },
    }, (r) => (n(r, "init")[0] !== "TDX_SUCCESS" || n(r, "block")[0] !== "TDX_SUCCESS" ? `init ${n(r, "init")} block ${n(r, "block")}` : null)));
  });
});
