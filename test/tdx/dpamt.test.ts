// Dynamic PAMT in the module model: TDH.PHYMEM.PAMT.ADD / PAMT.REMOVE success and error paths, the
// 4K consumers' TDX_MISSING_PAMT_PAGE_PAIR, and the 2M-entry lock conflicts of dynamic-PAMT races.
// Layout (helpers.cfgWith): PFNs 0..11 TD pages, 12 TDR, 13-14 TDVPR; 2M range = 2 PFNs (fan-out 2);
// S-EPT tables at PFNs 8, 9, 10 → ranges 4 and 5 start with a node, as do 6 (TDR) and 7 (TDVPR).
// Pool of PAMT page candidates from PFN 15: the four initial nodes use 15..22.
import { describe, expect, it } from "vitest";
import { statusHex, type Status } from "../../src/tdx/index.js";
import { cfgWith, n, race, seq } from "./helpers.js";

const D = cfgWith([], { dpamt: true });
const POOL = 15;
const FREE0 = POOL + 8; // first pool page not used by an initial node

describe("Dynamic PAMT layout", () => {
  it("initial nodes for every range with a page in use, bitmap = their pairs", () => {
    // eslint-disable-next-line require-yield
    const { tdx } = seq(D, function* () {
      return [];
    });
    expect(tdx.pamtLayout()).toEqual({ ranges: 8, poolBase: POOL, poolPages: 30, initialNodes: 4 });
    expect([0, 1, 2, 3].map((r) => tdx.pamtNode(r).kind)).toEqual(["PT_NDA", "PT_NDA", "PT_NDA", "PT_NDA"]);
    expect(tdx.pamtNode(4)).toMatchObject({ kind: "PT_PAMT", pair: [15, 16], count: 2 }); // S-EPT pages 8, 9
    expect(tdx.pamtNode(5)).toMatchObject({ kind: "PT_PAMT", count: 1 }); // S-EPT page 10
    expect(tdx.pamtNode(6)).toMatchObject({ kind: "PT_PAMT", count: 2 }); // TDR 12, TDVPR 13
    expect(tdx.pamtNode(7)).toMatchObject({ kind: "PT_PAMT", count: 1 }); // TDVPR 14
    expect(tdx.pamtBitmapPfns()).toEqual([15, 16, 17, 18, 19, 20, 21, 22]);
  });
});

describe("TDH.PHYMEM.PAMT.ADD", () => {
  it("installs a node; AUG in the range then succeeds and counts", () => {
    const { tdx, names } = seq(D, function* (tdx) {
      return [yield* tdx.phymemPamtAdd(3, FREE0, FREE0 + 1), yield* tdx.memPageAug(1, 0, 3)];
    });
    expect(names).toEqual(["TDX_SUCCESS", "TDX_SUCCESS"]);
    expect(tdx.pamtNode(1)).toMatchObject({ kind: "PT_PAMT", pair: [FREE0, FREE0 + 1], count: 1, locked: false });
    expect(tdx.pamtBitmapPfns()).toContain(FREE0 + 1);
  });
  it("error paths", () => {
    const { tdx, names, raw } = seq(D, function* (tdx) {
      return [
        yield* tdx.phymemPamtAdd(8, FREE0, FREE0 + 1), // range 4 already has a node
        yield* tdx.phymemPamtAdd(2, 15, FREE0), // pool page 15 is a PAMT page already
        yield* tdx.phymemPamtAdd(2, FREE0, 16), // second page taken: first bit undone
        yield* tdx.phymemPamtAdd(2, 3, FREE0), // not a pool page (model restriction)
        yield* tdx.phymemPamtAdd(2, FREE0, FREE0), // same page twice
        yield* tdx.phymemPamtAdd(999, FREE0, FREE0 + 1),
      ];
    });
    expect(names).toEqual([
      "TDX_HPA_RANGE_NOT_FREE|RCX", "TDX_PAGE_NOT_FREE|RDX", "TDX_PAGE_NOT_FREE|R8", "TDX_OPERAND_INVALID|RDX",
      "TDX_OPERAND_INVALID|R8", "TDX_OPERAND_ADDR_RANGE_ERROR|RCX",
    ]);
    expect(statusHex(raw[0]!)).toBe("0xC000030400000001");
    expect(statusHex(raw[1]!)).toBe("0xC000030300000002");
    expect(tdx.pamtBitmapPfns()).not.toContain(FREE0);
    expect(tdx.pamtNode(1).kind).toBe("PT_NDA");
  });
  it("Dynamic PAMT off: OPERAND_INVALID|RAX", () => {
    const { names } = seq(cfgWith(), function* (tdx) {
      return [yield* tdx.phymemPamtAdd(2, 20, 21), (yield* tdx.phymemPamtRemove(2)).status];
    });
    expect(names).toEqual(["TDX_OPERAND_INVALID", "TDX_OPERAND_INVALID"]); // operand RAX (0)
  });
});

describe("TDH.PHYMEM.PAMT.REMOVE", () => {
  it("returns the pair once the range is empty; NOT_EMPTY while a page is in use; NO_PAMT_PAGE_PAIR without a node", () => {
    let pair: number[] = [];
    const { tdx, names, raw } = seq(D, function* (tdx) {
      const out: Status[] = [];
      out.push(yield* tdx.phymemPamtAdd(2, FREE0, FREE0 + 1));
      out.push(yield* tdx.memPageAug(3, 0, 3)); // pfn 3 = second half of range 1
      out.push((yield* tdx.phymemPamtRemove(2)).status);
      out.push(yield* tdx.memRangeBlock(3, 0));
      out.push(yield* tdx.memTrack());
      out.push(yield* tdx.memPageRemove(3, 0));
      const r = yield* tdx.phymemPamtRemove(2);
      pair = r.pair;
      out.push(r.status);
      out.push((yield* tdx.phymemPamtRemove(2)).status);
      return out;
    });
    expect(names).toEqual([
      "TDX_SUCCESS", "TDX_SUCCESS", "TDX_PAMT_PAGE_NOT_EMPTY|1", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS", "TDX_SUCCESS",
      "TDX_NO_PAMT_PAGE_PAIR|RCX",
    ]);
    expect(statusHex(raw[2]!)).toBe("0xC000030600000001");
    expect(statusHex(raw[7]!)).toBe("0xC000030500000001");
    expect(pair).toEqual([FREE0, FREE0 + 1]);
    expect(tdx.pamtNode(1)).toMatchObject({ kind: "PT_NDA", count: 0 });
    expect(tdx.pamtBitmapPfns()).not.toContain(FREE0);
  });
});

describe("4K consumers without a pair", () => {
  it("AUG, PAGE.ADD and SEPT.ADD of a page in a range without a node: TDX_MISSING_PAMT_PAGE_PAIR|R8", () => {
    const r = seq(D, function* (tdx) {
      return [yield* tdx.memPageAug(1, 0, 3), yield* tdx.memSeptAdd(4, 2, 6)];
    });
    expect(r.names).toEqual(["TDX_MISSING_PAMT_PAGE_PAIR|R8", "TDX_MISSING_PAMT_PAGE_PAIR|R8"]);
    expect(statusHex(r.raw[0]!)).toBe("0x8000030800000008");
    expect(r.tdx.entry(1, 0).stateName).toBe("FREE");
    const a = seq(cfgWith([], { dpamt: true, opState: "INITIALIZED" }), function* (tdx) {
      return [yield* tdx.memPageAdd(1, 3)];
    });
    expect(a.names).toEqual(["TDX_MISSING_PAMT_PAGE_PAIR|R8"]);
  });
  it("RECLAIM of a page whose range has no node: PAGE_METADATA_INCORRECT|RCX", () => {
    const r = seq(cfgWith([], { dpamt: true, lifecycle: "TEARDOWN" }), function* (tdx) {
      return [yield* tdx.phymemPageReclaim(3), yield* tdx.phymemPageReclaim(9)];
    });
    expect(r.names).toEqual(["TDX_PAGE_METADATA_INCORRECT|RCX", "TDX_SUCCESS"]);
  });
});

describe("Dynamic PAMT races (2M PAMT entry lock)", () => {
  it("PAMT.REMOVE(R) vs AUG of a page in R: each order and each lock conflict is reachable, the module stays consistent", () => {
    const seen = new Set<string>();
    const r2 = race(
      cfgWith([], { dpamt: true }),
      {
        remover: function* (tdx) {
          return [(yield* tdx.phymemPamtRemove(2)).status];
        },
        aug: function* (tdx) {
          return [yield* tdx.memPageAug(1, 0, 3)];
        },
        adder: function* (tdx) {
          return [yield* tdx.phymemPamtAdd(2, FREE0, FREE0 + 1)];
        },
      },
      (r) => {
        seen.add(`${n(r, "adder")[0]} / ${n(r, "remover")[0]} / ${n(r, "aug")[0]}`);
        return null;
      },
      {},
    );
    expect(r2.result.violations.map((v) => v.message)).toEqual([]);
    expect(r2.result.exhaustive).toBe(true);
    const all = [...seen];
    // AUG finds no pair (ADD not yet, or REMOVE already): MISSING_PAMT_PAGE_PAIR
    expect(all.some((x) => x.endsWith("TDX_MISSING_PAMT_PAGE_PAIR|R8"))).toBe(true);
    // AUG holds the 2M entry SH while ADD/REMOVE want it EX, or the reverse
    expect(all.some((x) => x.includes("TDX_OPERAND_BUSY|RCX"))).toBe(true);
    expect(all.some((x) => x.endsWith("TDX_OPERAND_BUSY|R8"))).toBe(true);
    // AUG between ADD and REMOVE: REMOVE finds the page in use
    expect(all.some((x) => x === "TDX_SUCCESS / TDX_PAMT_PAGE_NOT_EMPTY|1 / TDX_SUCCESS")).toBe(true);
    // REMOVE before ADD: no pair to remove
    expect(all.some((x) => x.includes("TDX_NO_PAMT_PAGE_PAIR|RCX"))).toBe(true);
  });
  it("two PAMT.ADD of one range: exactly one installs; the other gets BUSY|RCX or HPA_RANGE_NOT_FREE|RCX", () => {
    const seen = new Set<string>();
    const run = race(
      cfgWith([], { dpamt: true }),
      {
        a: function* (tdx) {
          return [yield* tdx.phymemPamtAdd(2, FREE0, FREE0 + 1)];
        },
        b: function* (tdx) {
          return [yield* tdx.phymemPamtAdd(3, FREE0 + 2, FREE0 + 3)];
        },
      },
      (r) => {
        const out = [n(r, "a")[0], n(r, "b")[0]].sort().join(" / ");
        seen.add(out);
        return out.split("TDX_SUCCESS").length === 2 ? null : `not exactly one success: ${out}`;
      },
      { strategy: "exhaustive" },
    );
    expect(run.result.violations.map((v) => v.message)).toEqual([]);
    expect([...seen].sort()).toEqual(["TDX_HPA_RANGE_NOT_FREE|RCX / TDX_SUCCESS", "TDX_OPERAND_BUSY|RCX / TDX_SUCCESS"]);
  });
});

