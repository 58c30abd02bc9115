// The BUSY error paths of the leaves that races.test.ts does not already cover, and the chunked 2M ACCEPT:
// each found by exploring two small threads, with the exact status and its 64-bit value.
import { describe, expect, it } from "vitest";
import { C, OP, isTdExit, st, statusHex, type Status, type TdxModule } from "../../src/tdx/index.js";
import { TABLES, cfgWith, n, race, type Results } from "./helpers.js";

function found(run: ReturnType<typeof race>): string {
  expect(run.result.verdict, run.result.violations[0]?.message ?? "nothing found").toBe("violated");
  expect(run.result.violations[0]!.property, run.result.violations[0]!.message).toBe("found");
  return run.result.violations[0]!.message;
}
const has = (r: Results, t: string, s: Status): boolean => (r[t] ?? []).includes(s);
type Body = (tdx: TdxModule) => Generator<import("../../src/engine/index.js").Op, Status[], number>;
function one(f: (tdx: TdxModule) => Generator<import("../../src/engine/index.js").Op, Status, number>): Body {
  return function* (tdx) {
    return [yield* f(tdx)];
  };
}

describe("entry-lock BUSY|RCX", () => {
  it("two SEPT.ADDs of one entry", () => {
    const run = race(cfgWith(), { a: one((t) => t.memSeptAdd(4, 2, 0)), b: one((t) => t.memSeptAdd(4, 2, 1)) }, (r, tdx) =>
      has(r, "b", st(C.OPERAND_BUSY, OP.RCX)) ? `a ${n(r, "a")} b ${n(r, "b")} table pfn ${tdx.entry(4, 2).pfn}` : null);
    expect(found(run)).toBe("a TDX_SUCCESS b TDX_OPERAND_BUSY|RCX table pfn 0");
  });
  it("BLOCK of a non-leaf entry vs a guest ACCEPT(2M) that transiently locks it (PAGE_SIZE_MISMATCH path)", () => {
    const run = race(cfgWith([], { vcpus: 1 }), {
      guest: function* (tdx) { const e = yield* tdx.vpEnter(0); if (e !== 0) return [e]; const a = yield* tdx.guestAccept(0, 2, 1); return isTdExit(a) ? [e, a] : [e, a, yield* tdx.tdExit(0)]; },
      host: function* (tdx) { return [yield* tdx.memRangeBlock(2, 1)]; },
    }, (r) => (has(r, "host", st(C.OPERAND_BUSY, OP.RCX)) ? `guest ${n(r, "guest")} host ${n(r, "host")}` : null));
    expect(found(run)).toBe("guest TDX_SUCCESS,TDX_PAGE_SIZE_MISMATCH|1,TD_EXIT(EXTERNAL_INTERRUPT) host TDX_OPERAND_BUSY|RCX");
  });
  it("race 8 with PAGE.REMOVE: ACCEPT holding TDEL makes REMOVE fail BUSY|RCX (before its blocked check) and sets TDHP", () => {
    const run = race(cfgWith([{ gpa: 1, level: 0, state: "PENDING", pfn: 1 }], { vcpus: 1 }), {
      guest: function* (tdx) { const e = yield* tdx.vpEnter(0); return e === 0 ? [e, yield* tdx.guestAccept(0, 1)] : [e]; },
      host: function* (tdx) { return [yield* tdx.memPageRemove(1, 0)]; },
    }, (r, tdx) => (has(r, "host", st(C.OPERAND_BUSY, OP.RCX)) ? `guest ${n(r, "guest")} host ${n(r, "host")} tdhp=${tdx.entry(1, 0).tdhp}` : null));
    expect(found(run)).toBe("guest TDX_SUCCESS,TDX_SUCCESS host TDX_OPERAND_BUSY|RCX tdhp=true");
  });
  it("guest ACCEPT while a host holds TDEL: BUSY|RCX without host priority", () => {
    const run = race(cfgWith([{ gpa: 1, level: 0, state: "PENDING", pfn: 1 }], { vcpus: 1 }), {
      guest: function* (tdx) { const e = yield* tdx.vpEnter(0); return e === 0 ? [e, yield* tdx.guestAccept(0, 1)] : [e]; },
      host: function* (tdx) { return [yield* tdx.memRangeBlock(1, 0)]; },
    }, (r, tdx) => (has(r, "guest", st(C.OPERAND_BUSY, OP.RCX)) ? `guest ${n(r, "guest")} host ${n(r, "host")} tdhp=${tdx.entry(1, 0).tdhp}` : null));
    expect(found(run)).toBe("guest TDX_SUCCESS,TDX_OPERAND_BUSY|RCX host TDX_SUCCESS tdhp=false");
  });
});

describe("tree-lock BUSY|SEPT_TREE for the other leaves", () => {
  it("UNBLOCK (EX) vs SEPT.ADD (SH), PAGE.REMOVE (SH) vs SEPT.REMOVE (EX)", () => {
    const cfg = cfgWith([{ gpa: 0, level: 0, state: "BLOCKED", pfn: 0, bepoch: 0 }, { gpa: 1, level: 0, state: "BLOCKED", pfn: 1, bepoch: 0 }], { initialEpoch: 3 });
    const a = race(cfg, { unblock: one((t) => t.memRangeUnblock(0, 0)), septAdd: one((t) => t.memSeptAdd(4, 2, 2)) }, (r) =>
      has(r, "septAdd", st(C.OPERAND_BUSY, OP.SEPT_TREE)) ? `unblock ${n(r, "unblock")} septAdd ${n(r, "septAdd")}` : null);
    expect(found(a)).toBe("unblock TDX_SUCCESS septAdd TDX_OPERAND_BUSY|SEPT_TREE");
    const b = race(cfg, { remove: one((t) => t.memPageRemove(1, 0)), septRemove: one((t) => t.memSeptRemove(2, 1)) }, (r) =>
      has(r, "remove", st(C.OPERAND_BUSY, OP.SEPT_TREE)) ? `remove ${n(r, "remove")} septRemove ${n(r, "septRemove")}` : null);
    expect(found(b)).toBe("remove TDX_OPERAND_BUSY|SEPT_TREE septRemove TDX_GPA_RANGE_NOT_BLOCKED|RCX");
  });
});

describe("TDR-lock and TDVPR-lock BUSY", () => {
  it("VP.ENTER vs VPFLUSHDONE (TDR EX): BUSY|TDR (0x80) for the entry, BUSY|RCX for VPFLUSHDONE", () => {
    const bodies = { enter: one((t) => t.vpEnter(0)), done: one((t) => t.mngVpFlushDone()) };
    const a = race(cfgWith(), bodies, (r) => (has(r, "enter", st(C.OPERAND_BUSY, OP.TDR)) ? `enter ${n(r, "enter")} done ${n(r, "done")}` : null));
    expect(found(a)).toBe("enter TDX_OPERAND_BUSY|TDR done TDX_SUCCESS");
    expect(statusHex(st(C.OPERAND_BUSY, OP.TDR))).toBe("0x8000020000000080");
    const b = race(cfgWith(), bodies, (r) => (has(r, "done", st(C.OPERAND_BUSY, OP.RCX)) ? `enter ${n(r, "enter")} done ${n(r, "done")}` : null));
    expect(found(b)).toBe("enter TDX_SUCCESS done TDX_OPERAND_BUSY|RCX");
  });
  it("VP.ENTER vs VP.FLUSH of the same vCPU: BUSY|RCX on the TDVPR either way", () => {
    const cfg = cfgWith();
    const bodies = { enter: one((t) => t.vpEnter(0)), flush: one((t) => t.vpFlush(0)) };
    const a = race(cfg, bodies, (r) => (has(r, "enter", st(C.OPERAND_BUSY, OP.RCX)) ? `enter ${n(r, "enter")} flush ${n(r, "flush")}` : null));
    expect(found(a)).toMatch(/^enter TDX_OPERAND_BUSY\|RCX flush /);
    const b = race(cfg, bodies, (r) => (has(r, "flush", st(C.OPERAND_BUSY, OP.RCX)) ? `enter ${n(r, "enter")} flush ${n(r, "flush")}` : null));
    expect(found(b)).toBe("enter TDX_SUCCESS flush TDX_OPERAND_BUSY|RCX");
  });
  it("RECLAIM vs KEY.FREEID: BUSY|TDR (implicit TDR) or LIFECYCLE_STATE_INCORRECT", () => {
    const cfg = cfgWith([{ gpa: 0, level: 0, state: "MAPPED", pfn: 0 }], { lifecycle: "BLOCKED" });
    const bodies = { reclaim: one((t) => t.phymemPageReclaim(0)), freeid: function* (t: TdxModule) { return [yield* t.phymemCacheWb(), yield* t.mngKeyFreeid()]; } };
    const a = race(cfg, bodies, (r) => (has(r, "reclaim", st(C.OPERAND_BUSY, OP.TDR)) ? `reclaim ${n(r, "reclaim")} freeid ${n(r, "freeid")}` : null));
    expect(found(a)).toBe("reclaim TDX_OPERAND_BUSY|TDR freeid TDX_SUCCESS,TDX_SUCCESS");
    const b = race(cfg, bodies, (r) => (n(r, "reclaim")[0] === "TDX_SUCCESS" ? "reclaimed after FREEID" : null));
    expect(found(b)).toBe("reclaimed after FREEID");
    const c = race(cfg, bodies, (r) => (n(r, "reclaim")[0] === "TDX_LIFECYCLE_STATE_INCORRECT" ? "too early" : null));
    expect(found(c)).toBe("too early");
  });
  it("MR.EXTEND vs PAGE.ADD, VP.INIT vs VP.INIT", () => {
    const cfg = cfgWith([{ gpa: 1, level: 0, state: "MAPPED", pfn: 1 }], { opState: "INITIALIZED", vcpusInitialized: false });
    const a = race(cfg, { add: one((t) => t.memPageAdd(0, 0)), ext: one((t) => t.mrExtend(1)) }, (r) => (has(r, "ext", st(C.OPERAND_BUSY, OP.RDX)) ? `ext ${n(r, "ext")}` : null));
    expect(found(a)).toBe("ext TDX_OPERAND_BUSY|RDX");
    const b = race(cfg, { i1: one((t) => t.vpInit(0)), i2: one((t) => t.vpInit(0)) }, (r) => (has(r, "i2", st(C.OPERAND_BUSY, OP.RCX)) ? `i1 ${n(r, "i1")} i2 ${n(r, "i2")}` : null));
    expect(found(b)).toBe("i1 TDX_SUCCESS i2 TDX_OPERAND_BUSY|RCX");
  });
});

describe("2M ACCEPT in chunks", () => {
  const cfg = { levels: 3, fanout: 2, pfns: 12, vcpus: 1, initial: [TABLES[0]!, { gpa: 2, level: 1, state: "PENDING" as const, pfn: 4 }] };
  it("an interrupt between chunks saves accept_counter; the restarted ACCEPT resumes from it", () => {
    const run = race(cfg, {
      guest: function* (tdx) {
        const r = [yield* tdx.vpEnter(0), yield* tdx.guestAccept(0, 2, 1)];
        const saved = tdx.entry(2, 1).acceptCounter;
        r.push(yield* tdx.guestAccept(0, 2, 1));
        return saved === 1 ? r : [];
      },
    }, (r, tdx) => (n(r, "guest").join() === "TDX_SUCCESS,GUEST_TDCALL_INTERRUPTED(ACCEPT restarts),TDX_SUCCESS" ? `${n(r, "guest")} ${tdx.entry(2, 1).stateName}` : null), { strategy: "exhaustive" });
    expect(found(run)).toBe("TDX_SUCCESS,GUEST_TDCALL_INTERRUPTED(ACCEPT restarts),TDX_SUCCESS MAPPED");
  });
  it("BLOCK of a partly accepted 2M page cleans accept_counter (acceptance progress is lost)", () => {
    const run = race(cfg, {
      guest: function* (tdx) { return [yield* tdx.vpEnter(0), yield* tdx.guestAccept(0, 2, 1)]; },
      host: function* (tdx) { return [yield* tdx.memRangeBlock(2, 1)]; },
    }, (r, tdx) => (n(r, "guest")[1] === "GUEST_TDCALL_INTERRUPTED(ACCEPT restarts)" && n(r, "host")[0] === "TDX_SUCCESS" ? `${tdx.entry(2, 1).stateName} ac=${tdx.entry(2, 1).acceptCounter}` : null));
    expect(found(run)).toBe("PENDING_BLOCKED ac=0");
  });
});
