// Every leaf's success path and its documented error paths, run sequentially (one thread).
import { describe, expect, it } from "vitest";
import { C, OP, st, statusHex } from "../../src/tdx/index.js";
import { TABLES, cfgWith, seq } from "./helpers.js";

const INIT = { opState: "INITIALIZED" as const };

describe("TDH.MEM.SEPT.ADD", () => {
  it("adds tables top-down; FREE -> NL_MAPPED, PAMT PT_EPT, chldcnt", () => {
    const { tdx, names } = seq({ levels: 3, fanout: 2, pfns: 4 }, function* (tdx) {
      return [yield* tdx.memSeptAdd(4, 2, 0), yield* tdx.memSeptAdd(6, 1, 1)];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(tdx.entry(4, 2)).toMatchObject({ stateName: "NL_MAPPED", pfn: 0, tdel: false });
    expect(tdx.entry(6, 1)).toMatchObject({ stateName: "NL_MAPPED", pfn: 1 });
    expect(tdx.entry(6, 0).stateName).toBe("FREE");
    expect(tdx.pfnInfo(1)).toMatchObject({ ptName: "PT_EPT", owner: 6, ownerLevel: 1 });
    expect(tdx.chldcnt()).toBe(1 + 2); // 1 TDVPR + 2 S-EPT pages
  });
  it("error paths", () => {
    const { names, tdx, raw } = seq(cfgWith(), function* (tdx) {
      return [
        yield* tdx.memSeptAdd(0, 0, 0), // level 0 is not a parent level
        yield* tdx.memSeptAdd(1, 1, 0), // misaligned
        yield* tdx.memSeptAdd(4, 2, 99), // bad R8
        yield* tdx.memSeptAdd(4, 1, 0), // parent L2@4 is FREE
        yield* tdx.memSeptAdd(0, 1, 0), // already NL_MAPPED
        yield* tdx.memSeptAdd(0, 1, 0, true), // allow_existing: success, page not consumed
        yield* tdx.memSeptAdd(4, 2, 8), // pfn 8 already an S-EPT page
      ];
    });
    expect(names).toEqual([
      "TDX_OPERAND_INVALID|RCX", "TDX_OPERAND_INVALID|RCX", "TDX_OPERAND_INVALID|R8", "TDX_EPT_WALK_FAILED|RCX",
      "TDX_EPT_ENTRY_STATE_INCORRECT|RCX", "TDX_SUCCESS", "TDX_PAGE_METADATA_INCORRECT|R8",
    ]);
    expect(statusHex(raw[3]!)).toBe("0xC0000B0000000001");
    expect(statusHex(raw[6]!)).toBe("0xC000030000000008");
    expect(tdx.pfnInfo(0).ptName).toBe("PT_NDA");
  });
  it("TD state gating: fatal, keys not configured", () => {
    expect(seq(cfgWith([], { fatal: true }), function* (tdx) { return [yield* tdx.memSeptAdd(4, 2, 0)]; }).names).toEqual(["TDX_TD_FATAL"]);
    const r = seq(cfgWith([], { lifecycle: "BLOCKED" }), function* (tdx) { return [yield* tdx.memSeptAdd(4, 2, 0)]; });
    expect(r.names).toEqual(["TDX_TD_KEYS_NOT_CONFIGURED"]);
    expect(statusHex(r.raw[0]!)).toBe("0x8000081000000000");
  });
});

describe("TDH.MEM.PAGE.AUG", () => {
  it("4K and 2M: FREE -> PENDING, PAMT PT_REG, chldcnt += 512^level (scaled)", () => {
    const { tdx, names } = seq({ ...cfgWith(), initial: [TABLES[0]!, TABLES[1]!] }, function* (tdx) {
      return [yield* tdx.memPageAug(1, 0, 3), yield* tdx.memPageAug(2, 1, 4)];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(tdx.entry(1, 0)).toMatchObject({ stateName: "PENDING", pfn: 3, tdel: false });
    expect(tdx.entry(2, 1)).toMatchObject({ stateName: "PENDING", pfn: 4 });
    expect(tdx.pfnOwnedBy(3)).toEqual({ gpa: 1, level: 0 });
    expect(tdx.pfnOwnedBy(5)).toEqual({ gpa: 3, level: 1 });
    expect(tdx.chldcnt()).toBe(2 + 2 + 1 + 2); // 2 TDVPR + 2 tables + 4K + 2M
  });
  it("error paths", () => {
    const { names, tdx } = seq({ ...cfgWith(), initial: [TABLES[0]!, TABLES[1]!, { gpa: 0, level: 0, state: "MAPPED", pfn: 0 }] }, function* (tdx) {
      return [
        yield* tdx.memPageAug(0, 2, 0), // level 2 not allowed
        yield* tdx.memPageAug(0, 0, 1), // not FREE
        yield* tdx.memPageAug(4, 0, 1), // parent missing
        yield* tdx.memPageAug(2, 1, 1), // 2M pfn misaligned
        yield* tdx.memPageAug(2, 1, 0), // 2M range partly owned (pfn 0)
        yield* tdx.memPageAug(1, 0, 0), // pfn 0 owned
        yield* tdx.memPageAug(0, 1, 2), // 2M over an existing page table (NL_MAPPED)
      ];
    });
    expect(names).toEqual([
      "TDX_OPERAND_INVALID|RCX", "TDX_EPT_ENTRY_STATE_INCORRECT|RCX", "TDX_EPT_WALK_FAILED|RCX", "TDX_OPERAND_INVALID|R8",
      "TDX_PAGE_METADATA_INCORRECT|R8", "TDX_PAGE_METADATA_INCORRECT|R8", "TDX_EPT_ENTRY_STATE_INCORRECT|RCX",
    ]);
    expect(tdx.pfnInfo(1).ptName).toBe("PT_NDA"); // rolled back
    expect(tdx.entry(2, 1).stateName).toBe("FREE");
  });
  it("is allowed before finalize but not after teardown started", () => {
    expect(seq(cfgWith([], INIT), function* (tdx) { return [yield* tdx.memPageAug(0, 0, 0)]; }).names).toEqual(["TDX_SUCCESS"]);
    expect(seq(cfgWith([], { opState: "UNINITIALIZED" }), function* (tdx) { return [yield* tdx.memPageAug(0, 0, 0)]; }).names).toEqual(["TDX_OP_STATE_INCORRECT"]);
  });
});

describe("TDH.MEM.PAGE.ADD", () => {
  it("FREE -> MAPPED before finalize", () => {
    const { tdx, names } = seq(cfgWith([], INIT), function* (tdx) { return [yield* tdx.memPageAdd(1, 5)]; });
    expect(names).toEqual(["TDX_SUCCESS"]);
    expect(tdx.entry(1, 0)).toMatchObject({ stateName: "MAPPED", pfn: 5 });
    expect(tdx.pfnOwnedBy(5)).toEqual({ gpa: 1, level: 0 });
  });
  it("error paths", () => {
    const { names, raw } = seq(cfgWith([{ gpa: 0, level: 0, state: "MAPPED", pfn: 0 }], INIT), function* (tdx) {
      return [
        yield* tdx.memPageAdd(0, 1), // not FREE
        yield* tdx.memPageAdd(4, 1), // walk fails
        yield* tdx.memPageAdd(1, 0), // pfn owned
        yield* tdx.memPageAdd(9, 1), // bad GPA
      ];
    });
    expect(names).toEqual(["TDX_EPT_ENTRY_STATE_INCORRECT|RCX", "TDX_EPT_WALK_FAILED|RCX", "TDX_PAGE_METADATA_INCORRECT|R8", "TDX_OPERAND_INVALID|RCX"]);
    expect(statusHex(raw[0]!)).toBe("0xC0000B0D00000001");
    const r = seq(cfgWith(), function* (tdx) { return [yield* tdx.memPageAdd(1, 5)]; });
    expect(r.names).toEqual(["TDX_OP_STATE_INCORRECT|2"]); // RUNNABLE: only before TDH.MR.FINALIZE
    expect(statusHex(r.raw[0]!)).toBe("0xC000060800000002");
  });
});

describe("TDH.MEM.RANGE.BLOCK", () => {
  it("MAPPED/PENDING/NL_MAPPED -> blocked, PAMT.bepoch := td_epoch", () => {
    const { tdx, names } = seq(cfgWith([{ gpa: 0, level: 0, state: "MAPPED", pfn: 0 }, { gpa: 1, level: 0, state: "PENDING", pfn: 1 }], { initialEpoch: 5 }), function* (tdx) {
      return [yield* tdx.memRangeBlock(0, 0), yield* tdx.memRangeBlock(1, 0), yield* tdx.memRangeBlock(2, 1)];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(tdx.entry(0, 0)).toMatchObject({ stateName: "BLOCKED", tdel: false });
    expect(tdx.entry(1, 0).stateName).toBe("PENDING_BLOCKED");
    expect(tdx.entry(2, 1).stateName).toBe("NL_BLOCKED");
    expect(tdx.pfnInfo(0).bepoch).toBe(5);
    expect(tdx.pfnInfo(10).bepoch).toBe(5); // child S-EPT page of L1@2
  });
  it("already blocked (non-error), FREE, walk below NL_BLOCKED", () => {
    const { names, raw } = seq(cfgWith([{ gpa: 0, level: 0, state: "BLOCKED", pfn: 0 }]), function* (tdx) {
      return [
        yield* tdx.memRangeBlock(0, 0),
        yield* tdx.memRangeBlock(1, 0),
        yield* tdx.memRangeBlock(2, 1),
        yield* tdx.memRangeBlock(2, 0), // below the NL_BLOCKED entry: the walk stops there
      ];
    });
    expect(names).toEqual(["TDX_GPA_RANGE_ALREADY_BLOCKED|RCX", "TDX_EPT_ENTRY_STATE_INCORRECT|RCX", "TDX_SUCCESS", "TDX_EPT_WALK_FAILED|RCX"]);
    expect(statusHex(raw[0]!)).toBe("0x00000B0700000001");
  });
});

describe("TDH.MEM.TRACK and TDH.MEM.RANGE.UNBLOCK", () => {
  it("UNBLOCK needs a TRACK after the BLOCK while runnable", () => {
    const { tdx, names } = seq(cfgWith([{ gpa: 0, level: 0, state: "MAPPED", pfn: 0 }]), function* (tdx) {
      return [
        yield* tdx.memRangeBlock(0, 0),
        yield* tdx.memRangeUnblock(0, 0), // before TRACK
        yield* tdx.memTrack(),
        yield* tdx.memRangeUnblock(0, 0),
        yield* tdx.memRangeUnblock(0, 0), // not blocked any more
      ];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_TLB_TRACKING_NOT_DONE|RCX", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_EPT_ENTRY_STATE_INCORRECT|RCX"]);
    expect(tdx.entry(0, 0).stateName).toBe("MAPPED");
    expect(tdx.tdEpoch()).toBe(2);
  });
  it("before finalize UNBLOCK needs no TRACK; NL_BLOCKED and PENDING_BLOCKED unblock", () => {
    const { tdx, names } = seq(cfgWith([{ gpa: 1, level: 0, state: "PENDING", pfn: 1 }], INIT), function* (tdx) {
      return [yield* tdx.memRangeBlock(1, 0), yield* tdx.memRangeUnblock(1, 0), yield* tdx.memRangeBlock(2, 1), yield* tdx.memRangeUnblock(2, 1)];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(tdx.entry(1, 0).stateName).toBe("PENDING");
    expect(tdx.entry(2, 1).stateName).toBe("NL_MAPPED");
  });
  it("TRACK: epoch advances; a second TRACK with a vCPU still in from the older epoch is PREVIOUS_TLB_EPOCH_BUSY", () => {
    const { tdx, names, raw } = seq(cfgWith(), function* (tdx) {
      return [
        yield* tdx.vpEnter(0), // enters in epoch 1
        yield* tdx.memTrack(), // 1 -> 2
        yield* tdx.memTrack(), // refcount[1] = 1
        yield* tdx.tdExit(0),
        yield* tdx.memTrack(), // 2 -> 3
      ];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS", "TDX_PREVIOUS_TLB_EPOCH_BUSY", "TD_EXIT(EXTERNAL_INTERRUPT)", "TDX_SUCCESS"]);
    expect(statusHex(raw[2]!)).toBe("0x8000020100000000");
    expect(tdx.tdEpoch()).toBe(3);
  });
});

describe("TDH.MEM.PAGE.REMOVE", () => {
  it("BLOCK -> TRACK -> REMOVE frees the page; errors on the way", () => {
    const { tdx, names, raw } = seq(cfgWith([{ gpa: 0, level: 0, state: "MAPPED", pfn: 0 }]), function* (tdx) {
      return [
        yield* tdx.memPageRemove(0, 0), // not blocked
        yield* tdx.memRangeBlock(0, 0),
        yield* tdx.memPageRemove(0, 0), // not tracked
        yield* tdx.memTrack(),
        yield* tdx.memPageRemove(0, 0),
        yield* tdx.memPageRemove(0, 0), // FREE now
        yield* tdx.memPageRemove(4, 0), // walk fails
      ];
    });
    expect(names).toEqual([
      "TDX_GPA_RANGE_NOT_BLOCKED|RCX", "TDX_SUCCESS", "TDX_TLB_TRACKING_NOT_DONE|RCX", "TDX_SUCCESS", "TDX_SUCCESS",
      "TDX_EPT_ENTRY_STATE_INCORRECT|RCX", "TDX_EPT_WALK_FAILED|RCX",
    ]);
    expect(statusHex(raw[0]!)).toBe("0xC0000B0600000001");
    expect(statusHex(raw[2]!)).toBe("0xC0000B0800000001");
    expect(tdx.entry(0, 0).stateName).toBe("FREE");
    expect(tdx.pfnInfo(0).ptName).toBe("PT_NDA");
  });
  it("before finalize a MAPPED or PENDING leaf is removed without BLOCK or TRACK", () => {
    const { tdx, names } = seq(cfgWith([{ gpa: 0, level: 0, state: "MAPPED", pfn: 0 }, { gpa: 1, level: 0, state: "PENDING", pfn: 1 }], INIT), function* (tdx) {
      return [yield* tdx.memPageRemove(0, 0), yield* tdx.memPageRemove(1, 0)];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS"]);
    expect([tdx.pfnInfo(0).ptName, tdx.pfnInfo(1).ptName]).toEqual(["PT_NDA", "PT_NDA"]);
  });
  it("2M leaf removal", () => {
    const cfg = { levels: 3, fanout: 2, pfns: 12, initial: [TABLES[0]!, { gpa: 2, level: 1, state: "PENDING" as const, pfn: 2 }], opState: "INITIALIZED" as const };
    const { tdx, names } = seq(cfg, function* (tdx) { return [yield* tdx.memPageRemove(2, 1)]; });
    expect(names).toEqual(["TDX_SUCCESS"]);
    expect([tdx.pfnInfo(2).ptName, tdx.pfnInfo(3).ptName]).toEqual(["PT_NDA", "PT_NDA"]);
    expect(tdx.chldcnt()).toBe(1 + 1); // TDVPR + L2@0 table
  });
});

describe("TDH.MEM.SEPT.REMOVE", () => {
  it("children first, then BLOCK -> TRACK -> SEPT.REMOVE; error paths", () => {
    const { tdx, names, raw } = seq(cfgWith([{ gpa: 2, level: 0, state: "MAPPED", pfn: 0 }]), function* (tdx) {
      return [
        yield* tdx.memSeptRemove(2, 0), // level 0 is not a non-leaf level
        yield* tdx.memSeptRemove(2, 1), // not blocked
        yield* tdx.memRangeBlock(2, 1),
        yield* tdx.memSeptRemove(2, 1), // not tracked
        yield* tdx.memTrack(),
        yield* tdx.memSeptRemove(2, 1), // child gpa 2 still MAPPED
        yield* tdx.memSeptRemove(4, 1), // walk fails
        yield* tdx.memSeptRemove(2, 1), // still not free
      ];
    });
    expect(names).toEqual([
      "TDX_OPERAND_INVALID|RCX", "TDX_GPA_RANGE_NOT_BLOCKED|RCX", "TDX_SUCCESS", "TDX_TLB_TRACKING_NOT_DONE|RCX", "TDX_SUCCESS",
      "TDX_EPT_PAGE_NOT_FREE|RCX", "TDX_EPT_WALK_FAILED|RCX", "TDX_EPT_PAGE_NOT_FREE|RCX",
    ]);
    expect(statusHex(raw[5]!)).toBe("0xC0000B0E00000001");
    expect(tdx.entry(2, 1).stateName).toBe("NL_BLOCKED");
  });
  it("removes an empty table; a FREE entry is STATE_INCORRECT", () => {
    const { tdx, names } = seq(cfgWith(), function* (tdx) {
      return [yield* tdx.memRangeBlock(2, 1), yield* tdx.memTrack(), yield* tdx.memSeptRemove(2, 1), yield* tdx.memSeptRemove(2, 1)];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_EPT_ENTRY_STATE_INCORRECT|RCX"]);
    expect(tdx.entry(2, 1).stateName).toBe("FREE");
    expect(tdx.pfnInfo(10).ptName).toBe("PT_NDA");
  });
  it("before finalize an NL_MAPPED table is removed without BLOCK", () => {
    expect(seq(cfgWith([], INIT), function* (tdx) { return [yield* tdx.memSeptRemove(2, 1)]; }).names).toEqual(["TDX_SUCCESS"]);
  });
});

describe("TDH.MR.EXTEND / TDH.MR.FINALIZE / TDH.VP.INIT", () => {
  it("build flow: PAGE.ADD, MR.EXTEND, VP.INIT, MR.FINALIZE, then VP.ENTER", () => {
    const { tdx, names } = seq(cfgWith([], { ...INIT, vcpusInitialized: false }), function* (tdx) {
      return [
        yield* tdx.memPageAdd(0, 0),
        yield* tdx.mrExtend(0),
        yield* tdx.mrExtend(1), // not mapped
        yield* tdx.vpEnter(0), // not runnable yet
        yield* tdx.vpInit(0),
        yield* tdx.vpInit(0), // twice
        yield* tdx.mrFinalize(),
        yield* tdx.mrFinalize(), // twice
        yield* tdx.mrExtend(0), // after finalize
        yield* tdx.vpEnter(1), // vCPU 1 never initialized
        yield* tdx.vpEnter(0),
      ];
    });
    expect(names).toEqual([
      "TDX_SUCCESS", "TDX_SUCCESS", "TDX_EPT_ENTRY_NOT_PRESENT|RCX", "TDX_OP_STATE_INCORRECT|1", "TDX_SUCCESS", "TDX_VCPU_STATE_INCORRECT",
      "TDX_SUCCESS", "TDX_OP_STATE_INCORRECT|2", "TDX_OP_STATE_INCORRECT|2", "TDX_VCPU_STATE_INCORRECT", "TDX_SUCCESS",
    ]);
    expect(tdx.opState()).toBe("RUNNABLE");
    expect(tdx.vcpuInGuest(0)).toBe(true);
  });
});

describe("TDH.VP.ENTER / TD exit / TDH.VP.FLUSH", () => {
  it("enter holds refcount, TDR and TDVPR until the TD exit", () => {
    const { tdx, names } = seq(cfgWith(), function* (tdx) {
      const r = [yield* tdx.vpEnter(0)];
      r.push(yield* tdx.vpFlush(0)); // TDVPR held SH by the guest session
      r.push(yield* tdx.mngVpFlushDone()); // TDR held SH by the guest session
      r.push(yield* tdx.tdExit(0));
      r.push(yield* tdx.vpEnter(0, 1)); // associated with LP 0
      r.push(yield* tdx.vpFlush(0, 1)); // not associated with LP 1
      r.push(yield* tdx.vpFlush(0));
      r.push(yield* tdx.vpEnter(0, 1));
      return r;
    });
    expect(names).toEqual([
      "TDX_SUCCESS", "TDX_OPERAND_BUSY|RCX", "TDX_OPERAND_BUSY|RCX", "TD_EXIT(EXTERNAL_INTERRUPT)", "TDX_VCPU_ASSOCIATED", "TDX_VCPU_NOT_ASSOCIATED",
      "TDX_SUCCESS", "TDX_SUCCESS",
    ]);
    expect(tdx.vcpuAssoc(0)).toBe(1);
    expect(tdx.refcount(1)).toBe(1);
  });
  it("not runnable / keys not configured", () => {
    expect(seq(cfgWith([], INIT), function* (tdx) { return [yield* tdx.vpEnter(0)]; }).names).toEqual(["TDX_OP_STATE_INCORRECT|1"]);
    expect(seq(cfgWith([], { lifecycle: "BLOCKED" }), function* (tdx) { return [yield* tdx.vpEnter(0), yield* tdx.vpFlush(0)]; }).names).toEqual([
      "TDX_TD_KEYS_NOT_CONFIGURED", "TDX_TD_KEYS_NOT_CONFIGURED",
    ]);
  });
});

describe("teardown: VPFLUSHDONE, CACHE.WB, KEY.FREEID, RECLAIM, WBINVD", () => {
  it("full teardown makes every page reclaimable", () => {
    const { tdx, names, raw } = seq(cfgWith([{ gpa: 0, level: 0, state: "MAPPED", pfn: 0 }]), function* (tdx) {
      return [
        yield* tdx.vpEnter(0),
        yield* tdx.tdExit(0),
        yield* tdx.phymemPageReclaim(0), // lifecycle not TEARDOWN
        yield* tdx.mngKeyFreeid(), // not BLOCKED yet
        yield* tdx.mngVpFlushDone(), // vCPU 0 still associated
        yield* tdx.vpFlush(0),
        yield* tdx.mngVpFlushDone(),
        yield* tdx.mngVpFlushDone(), // twice
        yield* tdx.memPageAug(1, 0, 1), // S-EPT ops are over
        yield* tdx.mngKeyFreeid(), // cache WB not done
        yield* tdx.phymemCacheWb(),
        yield* tdx.mngKeyFreeid(),
        yield* tdx.phymemPageReclaim(tdx.tdrPfn), // pages left
        yield* tdx.phymemPageReclaim(0),
        yield* tdx.phymemPageReclaim(0), // already NDA
        yield* tdx.phymemPageWbinvd(0),
        yield* tdx.phymemPageWbinvd(8), // still owned (S-EPT page)
        yield* tdx.phymemPageReclaim(8),
        yield* tdx.phymemPageReclaim(9),
        yield* tdx.phymemPageReclaim(10),
        yield* tdx.phymemPageReclaim(tdx.tdvprPfn(0)),
        yield* tdx.phymemPageReclaim(tdx.tdvprPfn(1)),
        yield* tdx.phymemPageReclaim(tdx.tdrPfn),
      ];
    });
    expect(names).toEqual([
      "TDX_SUCCESS", "TD_EXIT(EXTERNAL_INTERRUPT)", "TDX_LIFECYCLE_STATE_INCORRECT", "TDX_LIFECYCLE_STATE_INCORRECT", "TDX_FLUSHVP_NOT_DONE",
      "TDX_SUCCESS", "TDX_SUCCESS", "TDX_LIFECYCLE_STATE_INCORRECT", "TDX_TD_KEYS_NOT_CONFIGURED", "TDX_WBCACHE_NOT_COMPLETE", "TDX_SUCCESS",
      "TDX_SUCCESS", "TDX_TD_ASSOCIATED_PAGES_EXIST", "TDX_SUCCESS", "TDX_PAGE_METADATA_INCORRECT|RCX", "TDX_SUCCESS",
      "TDX_PAGE_METADATA_INCORRECT|RCX", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS",
    ]);
    expect(statusHex(raw[4]!)).toBe("0x8000082400000000");
    expect(statusHex(raw[12]!)).toBe("0xC000040000000000");
    expect(tdx.lifecycle()).toBe("TD_TEARDOWN");
    expect(tdx.chldcnt()).toBe(0);
  });
});

describe("guest: TDG.MEM.PAGE.ACCEPT and access", () => {
  const M = [
    { gpa: 0, level: 0, state: "PENDING" as const, pfn: 0 },
    { gpa: 1, level: 0, state: "MAPPED" as const, pfn: 1 },
    { gpa: 3, level: 0, state: "BLOCKED" as const, pfn: 3 },
  ];
  it("access: MAPPED ok, PENDING #VE, FREE/BLOCKED EPT-violation TD exit; ACCEPT then access", () => {
    const { tdx, names, raw } = seq(cfgWith(M), function* (tdx) {
      const r = [yield* tdx.vpEnter(0), yield* tdx.guestAccess(0, 1), yield* tdx.guestAccess(0, 0)];
      r.push(yield* tdx.guestAccept(0, 0), yield* tdx.guestAccess(0, 0), yield* tdx.guestAccept(0, 0), yield* tdx.guestAccess(0, 2));
      r.push(yield* tdx.vpEnter(0), yield* tdx.guestAccess(0, 3), yield* tdx.vpEnter(0), yield* tdx.guestAccess(0, 6));
      return r;
    });
    expect(names).toEqual([
      "TDX_SUCCESS", "TDX_SUCCESS", "GUEST_#VE(EPT_VIOLATION) gpa=0", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_PAGE_ALREADY_ACCEPTED", "TD_EXIT(EPT_VIOLATION) gpa=2",
      "TDX_SUCCESS", "TD_EXIT(EPT_VIOLATION) gpa=3", "TDX_SUCCESS", "TD_EXIT(EPT_VIOLATION) gpa=6",
    ]);
    expect(statusHex(raw[6]!)).toBe("0x0000000000000030");
    expect(statusHex(raw[5]!)).toBe("0x00000B0A00000000");
    expect(tdx.entry(0, 0).stateName).toBe("MAPPED");
    expect(tdx.vcpuInGuest(0)).toBe(false);
  });
  it("PENDING_VE_DISABLE: access to PENDING exits to the host with EEQ type PENDING_EPT_VIOLATION", () => {
    const { names } = seq(cfgWith(M, { pendingVeDisable: true }), function* (tdx) { return [yield* tdx.vpEnter(0), yield* tdx.guestAccess(0, 0)]; });
    expect(names).toEqual(["TDX_SUCCESS", "TD_EXIT(EPT_VIOLATION, EEQ PENDING) gpa=0"]);
  });
  it("ACCEPT errors: size mismatch, already accepted above, invalid, violation on FREE/BLOCKED", () => {
    const cfg = { levels: 3, fanout: 2, pfns: 12, vcpus: 1, initial: [TABLES[0]!, TABLES[1]!, { gpa: 2, level: 1, state: "MAPPED" as const, pfn: 4 }, { gpa: 0, level: 0, state: "BLOCKED" as const, pfn: 0 }] };
    const { names, raw } = seq(cfg, function* (tdx) {
      const r = [yield* tdx.vpEnter(0)];
      r.push(yield* tdx.guestAccept(0, 0, 1)); // a 4K table exists under L1@0
      r.push(yield* tdx.guestAccept(0, 3, 0)); // inside a 2M MAPPED leaf
      r.push(yield* tdx.guestAccept(0, 2, 2)); // level 2 not acceptable
      r.push(yield* tdx.guestAccept(0, 1, 0)); // FREE -> violation exit
      r.push(yield* tdx.vpEnter(0));
      r.push(yield* tdx.guestAccept(0, 0, 0)); // BLOCKED -> violation exit
      r.push(yield* tdx.vpEnter(0));
      r.push(yield* tdx.guestAccept(0, 4, 0)); // FREE L2@4 above -> violation
      return r;
    });
    expect(names).toEqual([
      "TDX_SUCCESS", "TDX_PAGE_SIZE_MISMATCH|1", "TDX_PAGE_ALREADY_ACCEPTED|1", "TDX_OPERAND_INVALID|RCX", "TD_EXIT(EPT_VIOLATION) gpa=1",
      "TDX_SUCCESS", "TD_EXIT(EPT_VIOLATION) gpa=0", "TDX_SUCCESS", "TD_EXIT(EPT_VIOLATION) gpa=4",
    ]);
    expect(statusHex(raw[1]!)).toBe("0xC0000B0B00000001");
    expect(statusHex(raw[2]!)).toBe("0x00000B0A00000001");
  });
  it("2M ACCEPT zeroes every chunk and maps the 2M leaf", () => {
    const cfg = { levels: 3, fanout: 2, pfns: 12, vcpus: 1, initial: [TABLES[0]!, { gpa: 2, level: 1, state: "PENDING" as const, pfn: 4 }] };
    const { tdx, names } = seq(cfg, function* (tdx) { return [yield* tdx.vpEnter(0), yield* tdx.guestAccept(0, 2, 1), yield* tdx.guestAccess(0, 3)]; });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(tdx.entry(2, 1)).toMatchObject({ stateName: "MAPPED", acceptCounter: 0 });
    expect(st(C.OPERAND_BUSY, OP.RCX)).toBe(st(C.OPERAND_BUSY, 1));
  });
});

describe("op_state gating of TDH.VP.INIT (seamcall_state_lookup[22])", () => {
  it("VP.INIT only before finalize", () => {
    const r = seq(cfgWith([], { vcpusInitialized: false }), function* (tdx) { return [yield* tdx.vpInit(0)]; });
    expect(r.names).toEqual(["TDX_OP_STATE_INCORRECT|2"]);
  });
});
