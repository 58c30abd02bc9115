// S-EPT huge pages in the module model: 2M AUG / REMOVE with Dynamic PAMT, TDH.MEM.PAGE.DEMOTE and
// TDH.MEM.PAGE.PROMOTE — success, each status of their checks, and the tree-lock races.
// Layout: 3 levels × fan-out 2 (GPAs 0..7), PFNs 0..11; L2@0 → S-EPT page 8, L2@4 → S-EPT page 9;
// a 2M leaf at GPA 4 (module level 1) maps PFNs 4, 5; PFN 11 is the new S-EPT page of a DEMOTE.
import { describe, expect, it } from "vitest";
import { statusName, type InitialMapping, type TdxConfig } from "../../src/tdx/index.js";
import { n, race, seq } from "./helpers.js";

type St = InitialMapping["state"];
function hp(state: St = "BLOCKED", more: TdxConfig = {}, extra: InitialMapping[] = []): TdxConfig {
  return {
    levels: 3,
    fanout: 2,
    pfns: 12,
    vcpus: 1,
    initial: [
      { gpa: 0, level: 2, state: "NL_MAPPED", pfn: 8 },
      { gpa: 4, level: 2, state: "NL_MAPPED", pfn: 9 },
      { gpa: 4, level: 1, state, pfn: 4 },
      ...extra,
    ],
    ...more,
  };
}

describe("TDH.MEM.PAGE.DEMOTE", () => {
  it("blocked + tracked 2M MAPPED leaf → NL_MAPPED over two MAPPED 4K leaves, no UNBLOCK needed", () => {
    const { tdx, names } = seq(hp("BLOCKED"), function* (tdx) {
      return [yield* tdx.memPageDemote(4, 1, 11), yield* tdx.memTrack(), yield* tdx.memPageDemote(4, 1, 11)];
    });
    expect(names).toEqual(["TDX_TLB_TRACKING_NOT_DONE|RCX", "TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(tdx.entry(4, 1)).toMatchObject({ stateName: "NL_MAPPED", pfn: 11, tdel: false });
    expect([tdx.entry(4, 0), tdx.entry(5, 0)].map((e) => `${e.stateName} ${e.pfn}`)).toEqual(["MAPPED 4", "MAPPED 5"]);
    expect(tdx.pfnInfo(11).ptName).toBe("PT_EPT");
    expect(tdx.pfnOwnedBy(5)).toEqual({ gpa: 5, level: 0 });
    // seq() also checked module consistency (chldcnt +1 for the new S-EPT page).
  });
  it("PENDING_BLOCKED → PENDING children; MAPPED while running → GPA_RANGE_NOT_BLOCKED", () => {
    const a = seq(hp("PENDING_BLOCKED"), function* (tdx) {
      return [yield* tdx.memTrack(), yield* tdx.memPageDemote(4, 1, 11)];
    });
    expect(a.names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS"]);
    expect([a.tdx.entry(4, 0).stateName, a.tdx.entry(5, 0).stateName]).toEqual(["PENDING", "PENDING"]);
    const b = seq(hp("MAPPED"), function* (tdx) {
      return [yield* tdx.memPageDemote(4, 1, 11)];
    });
    expect(b.names).toEqual(["TDX_GPA_RANGE_NOT_BLOCKED|RCX"]);
    expect(b.tdx.entry(4, 1).stateName).toBe("MAPPED");
  });
  it("TD not running (INITIALIZED): no BLOCK or tracking required", () => {
    const { names, tdx } = seq(hp("MAPPED", { opState: "INITIALIZED" }), function* (tdx) {
      return [yield* tdx.memPageDemote(4, 1, 11)];
    });
    expect(names).toEqual(["TDX_SUCCESS"]);
    expect(tdx.entry(4, 0).stateName).toBe("MAPPED");
  });
  it("input and state errors leave everything as it was", () => {
    const { names, tdx } = seq(hp("BLOCKED", {}, [{ gpa: 0, level: 1, state: "NL_MAPPED", pfn: 10 }]), function* (tdx) {
      return [
        yield* tdx.memPageDemote(4, 0, 11), // 4K level
        yield* tdx.memPageDemote(5, 1, 11), // not 2M aligned
        yield* tdx.memPageDemote(0, 1, 11), // a non-leaf
        yield* tdx.memPageDemote(6, 2, 11), // not aligned to its (1G-like) level
        yield* tdx.memTrack(),
        yield* tdx.memPageDemote(4, 1, 10), // new page already an S-EPT page
        yield* tdx.memPageDemote(4, 1, 99), // new page out of range
      ];
    });
    expect(names).toEqual([
      "TDX_OPERAND_INVALID|RCX", "TDX_OPERAND_INVALID|RCX", "TDX_EPT_ENTRY_STATE_INCORRECT|RCX", "TDX_OPERAND_INVALID|RCX",
      "TDX_SUCCESS", "TDX_PAGE_METADATA_INCORRECT|R8", "TDX_OPERAND_INVALID|R8",
    ]);
    expect(tdx.entry(4, 1).stateName).toBe("BLOCKED");
    expect(tdx.pfnInfo(11).ptName).toBe("PT_NDA");
  });
  it("Dynamic PAMT: the pair becomes the range's node (count 2); missing pair / pair in use / no node for R8", () => {
    const D = hp("BLOCKED", { dpamt: true });
    const { tdx, names } = seq(D, function* (tdx) {
      const base = tdx.pamtLayout().poolBase;
      const free = base + 2 * tdx.pamtLayout().initialNodes;
      return [
        yield* tdx.memTrack(),
        yield* tdx.memPageDemote(4, 1, 11, [free, free + 1]), // range of pfn 11 (5) has no node
        yield* tdx.phymemPamtAdd(11, free, free + 1),
        yield* tdx.memPageDemote(4, 1, 11, null),
        yield* tdx.memPageDemote(4, 1, 11, [free, free + 2]), // free is now a PAMT page (range 5's pair)
        yield* tdx.memPageDemote(4, 1, 11, [free + 2, free + 3]),
      ];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_MISSING_PAMT_PAGE_PAIR|R8", "TDX_SUCCESS", "TDX_OPERAND_INVALID|R12", "TDX_PAGE_NOT_FREE|R12", "TDX_SUCCESS"]);
    const r = tdx.pamtRange(4);
    expect(tdx.pamtNode(r)).toMatchObject({ kind: "PT_PAMT", count: 2, locked: false });
    expect(tdx.pamtBitmapPfns()).toEqual(expect.arrayContaining(tdx.pamtNode(r).pair));
  });
  it("Dynamic PAMT: a 2M AUG needs a PT_NDA range and makes it the 2M page's; 2M REMOVE gives it back", () => {
    const D: TdxConfig = { levels: 3, fanout: 2, pfns: 12, vcpus: 1, dpamt: true, initial: [{ gpa: 0, level: 2, state: "NL_MAPPED", pfn: 8 }, { gpa: 4, level: 2, state: "NL_MAPPED", pfn: 9 }] };
    const { tdx, names } = seq(D, function* (tdx) {
      const out = [yield* tdx.memPageAug(4, 1, 8), yield* tdx.memPageAug(4, 1, 2)];
      const afterAug = tdx.pamtNode(1).kind;
      out.push(yield* tdx.memRangeBlock(4, 1), yield* tdx.memTrack(), yield* tdx.memPageRemove(4, 1));
      expect(afterAug).toBe("2M leaf");
      return out;
    });
    // PFNs 8, 9 are S-EPT pages: range 4 is a node → PAGE_METADATA_INCORRECT|R8
    expect(names).toEqual(["TDX_PAGE_METADATA_INCORRECT|R8", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(tdx.pamtNode(1)).toMatchObject({ kind: "PT_NDA", count: 0 });
  });
  it("tree lock SH vs a BLOCK (EX) of another GPA: BUSY on either side, or DEMOTE sees the host-priority bit → INTERRUPTED_BUSY", () => {
    const seen = new Set<string>();
    const run = race(
      hp("BLOCKED", {}, [{ gpa: 0, level: 1, state: "NL_MAPPED", pfn: 10 }, { gpa: 0, level: 0, state: "MAPPED", pfn: 0 }]),
      {
        demoter: function* (tdx) {
          const t = yield* tdx.memTrack();
          return [t, yield* tdx.memPageDemote(4, 1, 11)];
        },
        blocker: function* (tdx) {
          return [yield* tdx.memRangeBlock(0, 0)];
        },
      },
      (r, tdx) => {
        if (n(r, "demoter")[0] !== "TDX_SUCCESS") return null;
        const d = n(r, "demoter")[1]!;
        seen.add(`${d} / ${n(r, "blocker")[0]}`);
        // Nothing committed on an interrupted DEMOTE: the 2M leaf is still BLOCKED.
        if (d === "TDX_INTERRUPTED_BUSY" && tdx.entry(4, 1).stateName !== "BLOCKED") return "interrupted DEMOTE changed the entry";
        return null;
      },
      { strategy: "cache" },
    );
    expect(run.result.violations.map((v) => v.message)).toEqual([]);
    expect(run.result.exhaustive).toBe(true);
    expect([...seen]).toEqual(expect.arrayContaining(["TDX_SUCCESS / TDX_SUCCESS", "TDX_INTERRUPTED_BUSY / TDX_OPERAND_BUSY|SEPT_TREE", "TDX_OPERAND_BUSY|SEPT_TREE / TDX_SUCCESS"]));
  });
  it("a module without ENHANCE_DEMOTE_INTERRUPTIBILITY: a host interrupt → INTERRUPTED_RESTARTABLE, entry left BLOCKED", () => {
    const seen = new Set<string>();
    const run = race(
      hp("BLOCKED", { demoteHostInterrupts: true }),
      {
        demoter: function* (tdx) {
          const t = yield* tdx.memTrack();
          return [t, yield* tdx.memPageDemote(4, 1, 11)];
        },
      },
      (r, tdx) => {
        seen.add(`${n(r, "demoter")[1]} ${tdx.entry(4, 1).stateName}`);
        return null;
      },
      { strategy: "cache" },
    );
    expect(run.result.violations).toEqual([]);
    expect([...seen].sort()).toEqual(["TDX_INTERRUPTED_RESTARTABLE BLOCKED", "TDX_SUCCESS NL_MAPPED"]);
  });
});

describe("TDH.MEM.PAGE.PROMOTE", () => {
  it("split then merge back: NL_BLOCKED + tracked + uniform children → 2M leaf, old S-EPT page returned", () => {
    const { tdx, names, raw } = seq(hp("BLOCKED"), function* (tdx) {
      const out = [yield* tdx.memTrack(), yield* tdx.memPageDemote(4, 1, 11)];
      const p0 = yield* tdx.memPagePromote(4, 1); // not blocked
      out.push(p0.status, yield* tdx.memRangeBlock(4, 1));
      const p1 = yield* tdx.memPagePromote(4, 1); // not tracked
      out.push(p1.status, yield* tdx.memTrack());
      const p2 = yield* tdx.memPagePromote(4, 1);
      out.push(p2.status, p2.oldPage);
      return out;
    });
    expect(names.slice(0, 7)).toEqual([
      "TDX_SUCCESS", "TDX_SUCCESS", "TDX_EPT_ENTRY_STATE_INCORRECT|RCX", "TDX_SUCCESS", "TDX_TLB_TRACKING_NOT_DONE|RCX", "TDX_SUCCESS", "TDX_SUCCESS",
    ]);
    expect(raw[7]).toBe(11);
    expect(tdx.entry(4, 1)).toMatchObject({ stateName: "MAPPED", pfn: 4 });
    expect(tdx.entry(4, 0).stateName).toBe("FREE");
    expect(tdx.pfnInfo(11).ptName).toBe("PT_NDA");
    expect(tdx.pfnOwnedBy(5)).toEqual({ gpa: 5, level: 1 });
  });
  it("children not uniform (one accepted, one pending) → TDX_EPT_INVALID_PROMOTE_CONDITIONS, nothing changed", () => {
    const cfg: TdxConfig = {
      levels: 3, fanout: 2, pfns: 12, vcpus: 1,
      initial: [
        { gpa: 0, level: 2, state: "NL_MAPPED", pfn: 8 },
        { gpa: 0, level: 1, state: "NL_MAPPED", pfn: 9 },
        { gpa: 0, level: 0, state: "MAPPED", pfn: 0 },
        { gpa: 1, level: 0, state: "PENDING", pfn: 1 },
      ],
    };
    const { tdx, names } = seq(cfg, function* (tdx) {
      return [yield* tdx.memRangeBlock(0, 1), yield* tdx.memTrack(), (yield* tdx.memPagePromote(0, 1)).status];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS", "TDX_EPT_INVALID_PROMOTE_CONDITIONS|RCX"]);
    expect(statusName(0)).toBe("TDX_SUCCESS");
    expect(tdx.entry(0, 1).stateName).toBe("NL_BLOCKED");
    expect(tdx.entry(1, 0).stateName).toBe("PENDING");
  });
});

// Module 1.0 (qizhangz/tdx-module@d5fc67a tdh_mem_page_demote.c / tdh_mem_page_promote.c): the tree
// lock EX and no entry lock, BLOCKED + tracked in every TD state, no interruption check, no
// Dynamic PAMT, TDX_EPT_ENTRY_NOT_LEAF / TDX_EPT_ENTRY_LEAF; each paired with the 1.5.25 outcome.
describe("DEMOTE / PROMOTE on module 1.0", () => {
  const v10: TdxConfig = { version: "1.0" };
  it("DEMOTE: tracked BLOCKED leaf → NL_MAPPED over MAPPED children; an untracked one → TLB_TRACKING_NOT_DONE", () => {
    const { tdx, names } = seq(hp("BLOCKED", v10), function* (tdx) {
      return [yield* tdx.memPageDemote(4, 1, 11), yield* tdx.memTrack(), yield* tdx.memPageDemote(4, 1, 11)];
    });
    expect(names).toEqual(["TDX_TLB_TRACKING_NOT_DONE|RCX", "TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(tdx.entry(4, 1)).toMatchObject({ stateName: "NL_MAPPED", pfn: 11 });
    expect([tdx.entry(4, 0), tdx.entry(5, 0)].map((e) => `${e.stateName} ${e.pfn}`)).toEqual(["MAPPED 4", "MAPPED 5"]);
  });
  it("DEMOTE of an unblocked leaf of a TD not yet runnable: GPA_RANGE_NOT_BLOCKED on 1.0, success on 1.5.25; a non-leaf: EPT_ENTRY_NOT_LEAF vs STATE_INCORRECT", () => {
    const one = (more: TdxConfig) =>
      seq(hp("MAPPED", { opState: "INITIALIZED", ...more }, [{ gpa: 0, level: 1, state: "NL_MAPPED", pfn: 10 }]), function* (tdx) {
        return [yield* tdx.memPageDemote(4, 1, 11), yield* tdx.memPageDemote(0, 1, 11)];
      }).names;
    expect(one(v10)).toEqual(["TDX_GPA_RANGE_NOT_BLOCKED|RCX", "TDX_EPT_ENTRY_NOT_LEAF|RCX"]);
    expect(one({})).toEqual(["TDX_SUCCESS", "TDX_EPT_ENTRY_STATE_INCORRECT|RCX"]);
  });
  it("DEMOTE has no interruption check on 1.0 (INTERRUPTED_RESTARTABLE unreachable even with host interrupts)", () => {
    const seen = new Set<string>();
    const run = race(
      hp("BLOCKED", { ...v10, demoteHostInterrupts: true }),
      { demoter: function* (tdx) { return [yield* tdx.memTrack(), yield* tdx.memPageDemote(4, 1, 11)]; } },
      (r) => {
        seen.add(n(r, "demoter")[1]!);
        return null;
      },
      { strategy: "cache" },
    );
    expect(run.result.violations).toEqual([]);
    expect([...seen]).toEqual(["TDX_SUCCESS"]);
  });
  it("DEMOTE vs a BLOCK of another GPA: both take the tree lock EX on 1.0, so DEMOTE can get BUSY|SEPT_TREE and never INTERRUPTED_BUSY", () => {
    const seen = new Set<string>();
    const run = race(
      hp("BLOCKED", v10, [{ gpa: 0, level: 1, state: "NL_MAPPED", pfn: 10 }, { gpa: 0, level: 0, state: "MAPPED", pfn: 0 }]),
      {
        demoter: function* (tdx) { return [yield* tdx.memTrack(), yield* tdx.memPageDemote(4, 1, 11)]; },
        blocker: function* (tdx) { return [yield* tdx.memRangeBlock(0, 0)]; },
      },
      (r) => {
        if (n(r, "demoter")[0] === "TDX_SUCCESS") seen.add(`${n(r, "demoter")[1]} / ${n(r, "blocker")[0]}`);
        return null;
      },
      { strategy: "cache" },
    );
    expect(run.result.violations.map((v) => v.message)).toEqual([]);
    expect([...seen]).toContain("TDX_OPERAND_BUSY|SEPT_TREE / TDX_SUCCESS");
    expect([...seen].some((x) => x.includes("INTERRUPTED"))).toBe(false);
  });
  it("PROMOTE: a leaf → EPT_ENTRY_LEAF, a non-blocked table → GPA_RANGE_NOT_BLOCKED, PENDING children → INVALID_PROMOTE_CONDITIONS (1.5.25 promotes them)", () => {
    const pend = (more: TdxConfig) =>
      seq(
        {
          levels: 3, fanout: 2, pfns: 12, vcpus: 1, ...more,
          initial: [
            { gpa: 0, level: 2, state: "NL_MAPPED", pfn: 8 },
            { gpa: 0, level: 1, state: "NL_MAPPED", pfn: 9 },
            { gpa: 0, level: 0, state: "PENDING", pfn: 0 },
            { gpa: 1, level: 0, state: "PENDING", pfn: 1 },
          ],
        },
        function* (tdx) {
          const a = (yield* tdx.memPagePromote(0, 1)).status;
          return [a, yield* tdx.memRangeBlock(0, 1), yield* tdx.memTrack(), (yield* tdx.memPagePromote(0, 1)).status];
        },
      ).names;
    expect(pend(v10)).toEqual(["TDX_GPA_RANGE_NOT_BLOCKED|RCX", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_EPT_INVALID_PROMOTE_CONDITIONS|RCX"]);
    expect(pend({})).toEqual(["TDX_EPT_ENTRY_STATE_INCORRECT|RCX", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS"]);
    const leaf = seq(hp("BLOCKED", v10), function* (tdx) {
      return [(yield* tdx.memPagePromote(4, 1)).status];
    }).names;
    expect(leaf).toEqual(["TDX_EPT_ENTRY_LEAF|RCX"]);
  });
  it("PROMOTE on 1.0: split then merge back; the 2M leaf is written MAPPED under the tree lock", () => {
    const { tdx, names } = seq(hp("BLOCKED", v10), function* (tdx) {
      const out = [yield* tdx.memTrack(), yield* tdx.memPageDemote(4, 1, 11), yield* tdx.memRangeBlock(4, 1), yield* tdx.memTrack()];
      out.push((yield* tdx.memPagePromote(4, 1)).status);
      return out;
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(tdx.entry(4, 1)).toMatchObject({ stateName: "MAPPED", pfn: 4 });
  });
});
