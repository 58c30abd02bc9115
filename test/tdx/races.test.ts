// The races between the modelled leaves (twelve, numbered below), each reproduced by the
// engine exploring two or three small threads. Every test asserts the exact status token, its
// printed 64-bit value with operand id, and (where it matters) that the other interleavings exist
// or that a claimed conflict-freedom holds over the whole explored space.
import { describe, expect, it } from "vitest";
import { C, OP, isTdExit, st, statusHex, statusName, type Status } from "../../src/tdx/index.js";
import { cfgWith, found, has, n, never, race } from "./helpers.js";

const BUSY_RCX = st(C.OPERAND_BUSY, OP.RCX);
const BUSY_TREE = st(C.OPERAND_BUSY, OP.SEPT_TREE);
const BUSY_EPOCH = st(C.OPERAND_BUSY, OP.TD_EPOCH);


describe("race 1: two host ops on the same GPA/level: loser BUSY|RCX, TDHP set", () => {
  it("AUG vs AUG of one GPA", () => {
    const run = race(cfgWith(), {
      aug1: function* (tdx) { return [yield* tdx.memPageAug(0, 0, 0)]; },
      aug2: function* (tdx) { return [yield* tdx.memPageAug(0, 0, 1)]; },
    }, (r, tdx) => (has(r, "aug2", BUSY_RCX) && tdx.entry(0, 0).tdhp ? `aug1 ${n(r, "aug1")} aug2 ${n(r, "aug2")}` : null));
    expect(found(run)).toBe("aug1 TDX_SUCCESS aug2 TDX_OPERAND_BUSY|RCX");
    expect(statusHex(BUSY_RCX)).toBe("0x8000020000000001");
    expect(run.tdx.entry(0, 0)).toMatchObject({ stateName: "PENDING", pfn: 0, tdhp: true, tdel: false });
  });
  it("REMOVE vs REMOVE of one blocked, tracked page", () => {
    const run = race(cfgWith([{ gpa: 1, level: 0, state: "BLOCKED", pfn: 1, bepoch: 0 }]), {
      rm1: function* (tdx) { return [yield* tdx.memPageRemove(1, 0)]; },
      rm2: function* (tdx) { return [yield* tdx.memPageRemove(1, 0)]; },
    }, (r) => (has(r, "rm1", BUSY_RCX) ? `rm1 ${n(r, "rm1")} rm2 ${n(r, "rm2")}` : null));
    expect(found(run)).toBe("rm1 TDX_OPERAND_BUSY|RCX rm2 TDX_SUCCESS");
    expect(run.tdx.entry(1, 0)).toMatchObject({ stateName: "FREE", tdhp: true }); // TDHP survives the FREE write
  });
});

describe("race 2: exclusive-tree op vs shared-tree op on any GPA: BUSY|SEPT_TREE", () => {
  it("BLOCK(gpa 1) vs AUG(gpa 2): either side can lose", () => {
    const cfg = cfgWith([{ gpa: 1, level: 0, state: "MAPPED", pfn: 1 }]);
    const bodies = {
      block: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memRangeBlock(1, 0)]; },
      aug: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memPageAug(2, 0, 2)]; },
    };
    const a = race(cfg, bodies, (r) => (has(r, "aug", BUSY_TREE) ? `aug ${n(r, "aug")} block ${n(r, "block")}` : null));
    expect(found(a)).toBe("aug TDX_OPERAND_BUSY|SEPT_TREE block TDX_SUCCESS");
    expect(statusHex(BUSY_TREE)).toBe("0x8000020000000092");
    const b = race(cfg, bodies, (r) => (has(r, "block", BUSY_TREE) ? `aug ${n(r, "aug")} block ${n(r, "block")}` : null));
    expect(found(b)).toBe("aug TDX_SUCCESS block TDX_OPERAND_BUSY|SEPT_TREE");
    // AUG's failed shared host acquire set the tree lock's HP bit (sharex_hp_lock_t, >= 1.5.20);
    // BLOCK's exclusive release keeps it (release_sharex_lock_hp_ex)
    expect(a.tdx.treeLockState()).toEqual({ ex: false, readers: 0, hp: true });
  });
  it("shared-tree ops never conflict: AUG vs AUG vs REMOVE on different GPAs all succeed", () => {
    const run = race(cfgWith([{ gpa: 3, level: 0, state: "BLOCKED", pfn: 3, bepoch: 0 }]), {
      aug0: function* (tdx) { return [yield* tdx.memPageAug(0, 0, 0)]; },
      aug1: function* (tdx) { return [yield* tdx.memPageAug(1, 0, 1)]; },
      rm3: function* (tdx) { return [yield* tdx.memPageRemove(3, 0)]; },
    }, (r) => ([...n(r, "aug0"), ...n(r, "aug1"), ...n(r, "rm3")].every((x) => x === "TDX_SUCCESS") ? null : `${JSON.stringify(r)}`));
    never(run);
  });
});

describe("race 3: VP.ENTER with a non-empty EPF list vs exclusive-tree host op", () => {
  const cfg = cfgWith([{ gpa: 1, level: 0, state: "MAPPED", pfn: 1 }, { gpa: 0, level: 0, state: "MAPPED", pfn: 0 }], { initialEpf: [{ vcpu: 0, gpas: [0] }] });
  const bodies = {
    enter: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.vpEnter(0)]; },
    block: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memRangeBlock(1, 0)]; },
  };
  it("BUSY|SEPT_TREE on either side (1.5.25: the filter takes the tree lock SHARED)", () => {
    const a = race(cfg, bodies, (r) => (has(r, "enter", BUSY_TREE) ? `enter ${n(r, "enter")} block ${n(r, "block")}` : null));
    expect(found(a)).toBe("enter TDX_OPERAND_BUSY|SEPT_TREE block TDX_SUCCESS");
    expect(a.tdx.refcount(1)).toBe(0); // the refcount increment was reverted
    const b = race(cfg, bodies, (r) => (has(r, "block", BUSY_TREE) ? `enter ${n(r, "enter")} block ${n(r, "block")}` : null));
    expect(found(b)).toBe("enter TDX_SUCCESS block TDX_OPERAND_BUSY|SEPT_TREE");
  });
  it("with an empty EPF list VP.ENTER never takes the tree lock", () => {
    const run = race({ ...cfg, initialEpf: [] }, bodies, (r) => (has(r, "enter", BUSY_TREE) || has(r, "block", BUSY_TREE) ? JSON.stringify(r) : null));
    never(run);
  });
  it("1.5.25: the SHARED filter does not conflict with a shared-tree AUG", () => {
    const run = race(cfg, {
      enter: bodies.enter,
      aug: function* (tdx) { return [yield* tdx.memPageAug(2, 0, 2)]; },
    }, (r) => (has(r, "enter", BUSY_TREE) || has(r, "aug", BUSY_TREE) ? JSON.stringify(r) : null));
    never(run);
  });
  it("1.5.16: the filter takes the tree lock EXCLUSIVE and conflicts with AUG too", () => {
    const c16 = { ...cfg, version: "1.5.16" as const };
    const bodies16 = { enter: bodies.enter, aug: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memPageAug(2, 0, 2)]; } };
    const a = race(c16, bodies16, (r) => (has(r, "aug", BUSY_TREE) ? `enter ${n(r, "enter")} aug ${n(r, "aug")}` : null));
    expect(found(a)).toBe("enter TDX_SUCCESS aug TDX_OPERAND_BUSY|SEPT_TREE");
    const b = race(c16, bodies16, (r) => (has(r, "enter", BUSY_TREE) ? `enter ${n(r, "enter")} aug ${n(r, "aug")}` : null));
    expect(found(b)).toBe("enter TDX_OPERAND_BUSY|SEPT_TREE aug TDX_SUCCESS");
  });
});

describe("race 4: VP.ENTER vs TRACK on the epoch lock: BUSY|TD_EPOCH on either side", () => {
  const bodies = {
    enter: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.vpEnter(0)]; },
    track: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memTrack()]; },
  };
  it("TRACK loses", () => {
    const run = race(cfgWith(), bodies, (r) => (has(r, "track", BUSY_EPOCH) ? `enter ${n(r, "enter")} track ${n(r, "track")}` : null));
    expect(found(run)).toBe("enter TDX_SUCCESS track TDX_OPERAND_BUSY|TD_EPOCH");
    expect(statusHex(BUSY_EPOCH)).toBe("0x80000200000000A9");
  });
  it("VP.ENTER loses and reverts nothing it did not take", () => {
    const run = race(cfgWith(), bodies, (r, tdx) => (has(r, "enter", BUSY_EPOCH) ? `enter ${n(r, "enter")} track ${n(r, "track")} rc=${tdx.refcount(0)},${tdx.refcount(1)} inGuest=${tdx.vcpuInGuest(0)}` : null));
    expect(found(run)).toBe("enter TDX_OPERAND_BUSY|TD_EPOCH track TDX_SUCCESS rc=0,0 inGuest=false");
  });
});

describe("race 5: TRACK, TRACK with a vCPU still in the guest from the older epoch", () => {
  it("second TRACK: PREVIOUS_TLB_EPOCH_BUSY; after the vCPU exits both succeed", () => {
    const bodies = {
      vcpu: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.vpEnter(0), yield* tdx.tdExit(0)]; },
      host: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memTrack(), yield* tdx.memTrack()]; },
    };
    const busy = st(C.PREVIOUS_TLB_EPOCH_BUSY);
    const a = race(cfgWith(), bodies, (r) => (n(r, "host")[1] === statusName(busy) ? `host ${n(r, "host")}` : null));
    expect(found(a)).toBe("host TDX_SUCCESS,TDX_PREVIOUS_TLB_EPOCH_BUSY");
    expect(statusHex(busy)).toBe("0x8000020100000000");
    const b = race(cfgWith(), bodies, (r) => (n(r, "host").join() === "TDX_SUCCESS,TDX_SUCCESS" && n(r, "vcpu")[0] === "TDX_SUCCESS" ? "both" : null));
    expect(found(b)).toBe("both");
  });
});

describe("race 6/7: REMOVE / SEPT.REMOVE / UNBLOCK and TLB tracking", () => {
  it("PAGE.REMOVE after BLOCK and TRACK but with a pre-BLOCK vCPU still in the guest: TLB_TRACKING_NOT_DONE", () => {
    const cfg = cfgWith([{ gpa: 1, level: 0, state: "MAPPED", pfn: 1 }]);
    const bodies = {
      vcpu: function* (tdx: import("../../src/tdx/index.js").TdxModule) {
        const e = yield* tdx.vpEnter(0);
        if (e !== 0) return [e];
        const a = yield* tdx.guestAccess(0, 1);
        return isTdExit(a) ? [e, a] : [e, a, yield* tdx.tdExit(0)];
      },
      host: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memRangeBlock(1, 0), yield* tdx.memTrack(), yield* tdx.memPageRemove(1, 0)]; },
    };
    const notDone = st(C.TLB_TRACKING_NOT_DONE, OP.RCX);
    const a = race(cfg, bodies, (r) => (n(r, "host").join() === `TDX_SUCCESS,TDX_SUCCESS,${statusName(notDone)}` ? `host ${n(r, "host")} vcpu ${n(r, "vcpu")}` : null));
    expect(found(a)).toBe("host TDX_SUCCESS,TDX_SUCCESS,TDX_TLB_TRACKING_NOT_DONE|RCX vcpu TDX_SUCCESS,TDX_SUCCESS,TD_EXIT(EXTERNAL_INTERRUPT)");
    expect(statusHex(notDone)).toBe("0xC0000B0800000001");
    // Safety, checked after every step of every explored execution: once the page is freed
    // (PT_NDA), no vCPU that entered in an epoch <= the BLOCK epoch (1) is still in the guest.
    const safe = race(cfg, bodies, () => null, {}, {
      check: (tdx) => (tdx.pfnInfo(1).ptName === "PT_NDA" && tdx.vcpuInGuest(0) && tdx.vcpuEpoch(0) <= 1 ? "page freed under a pre-BLOCK vCPU" : null),
      objs: (tdx) => [tdx.pamtObj(1), tdx.objects.vcpus[0]!],
    });
    expect(safe.result.violations).toEqual([]);
    expect(safe.result.exhaustive).toBe(true);
    // ... and the check is not vacuous: some execution frees the page.
    const freed = race(cfg, bodies, (r) => (n(r, "host")[2] === "TDX_SUCCESS" ? "freed" : null));
    expect(found(freed)).toBe("freed");
  });
  it("PAGE.REMOVE after BLOCK before TRACK, or without BLOCK", () => {
    const run = race(cfgWith([{ gpa: 1, level: 0, state: "MAPPED", pfn: 1 }, { gpa: 0, level: 0, state: "MAPPED", pfn: 0 }]), {
      h1: function* (tdx) { return [yield* tdx.memRangeBlock(1, 0), yield* tdx.memPageRemove(1, 0)]; },
      h2: function* (tdx) { return [yield* tdx.memPageRemove(0, 0)]; },
    }, (r) => (n(r, "h1")[1] === "TDX_TLB_TRACKING_NOT_DONE|RCX" && n(r, "h2")[0] === "TDX_GPA_RANGE_NOT_BLOCKED|RCX" ? "ok" : null));
    expect(found(run)).toBe("ok");
    expect(statusHex(st(C.GPA_RANGE_NOT_BLOCKED, OP.RCX))).toBe("0xC0000B0600000001");
  });
  it("SEPT.REMOVE with a pre-BLOCK vCPU in the guest: TLB_TRACKING_NOT_DONE; UNBLOCK before TRACK: TLB_TRACKING_NOT_DONE", () => {
    const cfg = cfgWith([{ gpa: 1, level: 0, state: "MAPPED", pfn: 1 }]);
    const a = race(cfg, {
      vcpu: function* (tdx) { const e = yield* tdx.vpEnter(0); return e === 0 ? [e, yield* tdx.tdExit(0)] : [e]; },
      host: function* (tdx) { return [yield* tdx.memRangeBlock(2, 1), yield* tdx.memTrack(), yield* tdx.memSeptRemove(2, 1)]; },
    }, (r) => (n(r, "host")[2] === "TDX_TLB_TRACKING_NOT_DONE|RCX" && n(r, "host")[1] === "TDX_SUCCESS" ? `host ${n(r, "host")}` : null));
    expect(found(a)).toBe("host TDX_SUCCESS,TDX_SUCCESS,TDX_TLB_TRACKING_NOT_DONE|RCX");
    const b = race(cfg, {
      vcpu: function* (tdx) { const e = yield* tdx.vpEnter(0); return e === 0 ? [e, yield* tdx.tdExit(0)] : [e]; },
      host: function* (tdx) { return [yield* tdx.memRangeBlock(1, 0), yield* tdx.memRangeUnblock(1, 0)]; },
    }, (r) => (n(r, "host")[1] === "TDX_TLB_TRACKING_NOT_DONE|RCX" ? `host ${n(r, "host")}` : null));
    expect(found(b)).toBe("host TDX_SUCCESS,TDX_TLB_TRACKING_NOT_DONE|RCX");
  });
});

describe("race 8: guest ACCEPT holding TDEL vs host BLOCK (host priority)", () => {
  const cfg = cfgWith([{ gpa: 1, level: 0, state: "PENDING", pfn: 1 }], { vcpus: 1 });
  it("host BUSY|RCX sets TDHP; later guest ACCEPTs see BUSY (never BUSY_HOST_PRIORITY) until the timeout TD exit", () => {
    const run = race(cfg, {
      guest: function* (tdx) {
        const r = [yield* tdx.vpEnter(0)];
        for (let i = 0; i < 3; i++) {
          const a = yield* tdx.guestAccept(0, 1);
          r.push(a);
          if (isTdExit(a)) break;
        }
        return r;
      },
      host: function* (tdx) { return [yield* tdx.memRangeBlock(1, 0)]; },
    }, (r, tdx) => (n(r, "host")[0] === "TDX_OPERAND_BUSY|RCX" && n(r, "guest")[1] === "TDX_SUCCESS" && n(r, "guest")[2] === "TDX_OPERAND_BUSY|RCX" && tdx.entry(1, 0).tdhp ? `host ${n(r, "host")} guest ${n(r, "guest")}` : null));
    const msg = found(run);
    expect(msg).toBe("host TDX_OPERAND_BUSY|RCX guest TDX_SUCCESS,TDX_SUCCESS,TDX_OPERAND_BUSY|RCX,TDX_HOST_PRIORITY_BUSY_TIMEOUT");
    expect(statusHex(st(C.HOST_PRIORITY_BUSY_TIMEOUT))).toBe("0x9000020500000000");
    expect(run.tdx.vcpuInGuest(0)).toBe(false); // the timeout was an asynchronous TD exit
    expect(run.tdx.entry(1, 0)).toMatchObject({ stateName: "MAPPED", tdhp: true });
  });
  it("the guest never sees TDX_OPERAND_BUSY_HOST_PRIORITY (0x8000020400000001)", () => {
    const run = race(cfg, {
      guest: function* (tdx) { const r = [yield* tdx.vpEnter(0)]; for (let i = 0; i < 3; i++) { const a = yield* tdx.guestAccept(0, 1); r.push(a); if (isTdExit(a)) break; } return r; },
      host: function* (tdx) { return [yield* tdx.memRangeBlock(1, 0)]; },
    }, (r) => (has(r, "guest", st(C.OPERAND_BUSY_HOST_PRIORITY, OP.RCX)) ? JSON.stringify(n(r, "guest")) : null));
    never(run);
    expect(run.result.stats.complete).toBeGreaterThan(3);
  });
  it("the timeout is a fair environment choice: the guest may also keep getting BUSY", () => {
    const run = race(cfg, {
      guest: function* (tdx) { const r = [yield* tdx.vpEnter(0)]; for (let i = 0; i < 3; i++) { const a = yield* tdx.guestAccept(0, 1); r.push(a); if (isTdExit(a)) break; } return r; },
      host: function* (tdx) { return [yield* tdx.memRangeBlock(1, 0)]; },
    }, (r) => (n(r, "guest").slice(2).join() === "TDX_OPERAND_BUSY|RCX,TDX_OPERAND_BUSY|RCX" ? "busy twice" : null));
    expect(found(run)).toBe("busy twice");
  });
  it("the host retry succeeds and clears TDHP", () => {
    const run = race(cfg, {
      guest: function* (tdx) { const r = [yield* tdx.vpEnter(0)]; r.push(yield* tdx.guestAccept(0, 1)); return r; },
      host: function* (tdx) { const a = yield* tdx.memRangeBlock(1, 0); return a === BUSY_RCX ? [a, yield* tdx.memRangeBlock(1, 0)] : [a]; },
    }, (r, tdx) => (n(r, "host").join() === "TDX_OPERAND_BUSY|RCX,TDX_SUCCESS" ? `host ${n(r, "host")} guest ${n(r, "guest")} tdhp=${tdx.entry(1, 0).tdhp} ${tdx.entry(1, 0).stateName}` : null));
    expect(found(run)).toBe("host TDX_OPERAND_BUSY|RCX,TDX_SUCCESS guest TDX_SUCCESS,TDX_SUCCESS tdhp=false BLOCKED");
  });
});

describe("race 9: guest ACCEPT vs host BLOCK of the same PENDING entry", () => {
  const cfg = cfgWith([{ gpa: 1, level: 0, state: "PENDING", pfn: 1 }], { vcpus: 1 });
  const bodies = {
    guest: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.vpEnter(0), yield* tdx.guestAccept(0, 1)]; },
    host: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memRangeBlock(1, 0)]; },
  };
  it("BLOCK first: ACCEPT finds PENDING_BLOCKED and exits with an EPT violation", () => {
    const run = race(cfg, bodies, (r) => (n(r, "guest")[1]?.startsWith("TD_EXIT") ? `guest ${n(r, "guest")} host ${n(r, "host")}` : null));
    expect(found(run)).toBe("guest TDX_SUCCESS,TD_EXIT(EPT_VIOLATION) gpa=1 host TDX_SUCCESS");
    expect(run.tdx.entry(1, 0).stateName).toBe("PENDING_BLOCKED");
  });
  it("ACCEPT first: BLOCK gets BUSY|RCX", () => {
    const run = race(cfg, bodies, (r) => (has(r, "host", BUSY_RCX) ? `guest ${n(r, "guest")} host ${n(r, "host")}` : null));
    expect(found(run)).toBe("guest TDX_SUCCESS,TDX_SUCCESS host TDX_OPERAND_BUSY|RCX");
  });
});

describe("race 10: zero-step: repeated EPT violations at one RIP, then the VP.ENTER check", () => {
  it("the 7th exit records the GPA; the next VP.ENTER emulates the exit while still blocked, enters once resolved", () => {
    const cfg = cfgWith([{ gpa: 1, level: 0, state: "BLOCKED", pfn: 1, bepoch: 0 }], { vcpus: 1 });
    const run = race(cfg, {
      vcpu: function* (tdx) {
        const r: Status[] = [];
        for (let i = 0; i < 7; i++) {
          r.push(yield* tdx.vpEnter(0));
          r.push(yield* tdx.guestAccess(0, 1, 9));
          if (i === 5 && tdx.epfList(0).length !== 0) throw new Error("recorded too early");
        }
        if (tdx.epfList(0).join() !== "1") throw new Error(`7th exit did not record: ${tdx.epfList(0).join()}`);
        r.push(yield* tdx.vpEnter(0)); // still BLOCKED: emulated EPT violation, no VM entry
        return r;
      },
    }, (r) => `${n(r, "vcpu").slice(-3).join(" ; ")}`, { strategy: "exhaustive" });
    expect(found(run)).toBe("TDX_SUCCESS ; TD_EXIT(EPT_VIOLATION) gpa=1 ; TD_EXIT(EPT_VIOLATION) gpa=1");
    expect(run.tdx.vcpuInGuest(0)).toBe(false);
    expect(run.tdx.refcount(0) + run.tdx.refcount(1)).toBe(0);
  });
  it("threshold is a parameter; guest progress (another RIP) clears the list; a resolved GPA lets the vCPU in", () => {
    const cfg = cfgWith([{ gpa: 1, level: 0, state: "BLOCKED", pfn: 1, bepoch: 0 }], { vcpus: 1, zeroStepThreshold: 1 });
    const run = race(cfg, {
      vcpu: function* (tdx) {
        const r: Status[] = [];
        for (let i = 0; i < 2; i++) r.push(yield* tdx.vpEnter(0), yield* tdx.guestAccess(0, 1, 9));
        const rec = tdx.epfList(0).join();
        r.push(yield* tdx.vpEnter(0)); // emulated exit
        r.push(yield* tdx.memRangeUnblock(1, 0)); // host resolves it (tracked: bepoch 0 < epoch-1)
        r.push(yield* tdx.vpEnter(0)); // filter walks gpa 1: MAPPED now -> enter
        r.push(yield* tdx.guestAccess(0, 1, 9));
        r.push(yield* tdx.guestAccess(0, 4, 10)); // progress: another RIP faults
        return rec === "1" && tdx.epfList(0).length === 0 ? r : [];
      },
    }, (r) => n(r, "vcpu").slice(4).join(" ; "), { strategy: "exhaustive" });
    expect(found(run)).toBe("TD_EXIT(EPT_VIOLATION) gpa=1 ; TDX_SUCCESS ; TDX_SUCCESS ; TDX_SUCCESS ; TD_EXIT(EPT_VIOLATION) gpa=4");
  });
});

describe("race 11: SEPT.REMOVE vs AUG into the child table", () => {
  const cfg = cfgWith();
  const bodies = {
    host: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memRangeBlock(2, 1), yield* tdx.memTrack(), yield* tdx.memSeptRemove(2, 1)]; },
    aug: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memPageAug(3, 0, 3)]; },
  };
  it("after BLOCK of the parent the AUG walk fails", () => {
    const run = race(cfg, bodies, (r) => (n(r, "aug")[0] === "TDX_EPT_WALK_FAILED|RCX" ? `aug ${n(r, "aug")} host ${n(r, "host")}` : null));
    expect(found(run)).toBe("aug TDX_EPT_WALK_FAILED|RCX host TDX_SUCCESS,TDX_SUCCESS,TDX_SUCCESS");
    expect(statusHex(st(C.EPT_WALK_FAILED, OP.RCX))).toBe("0xC0000B0000000001");
  });
  it("AUG first: SEPT.REMOVE gets EPT_PAGE_NOT_FREE", () => {
    const run = race(cfg, bodies, (r) => (n(r, "host")[2] === "TDX_EPT_PAGE_NOT_FREE|RCX" ? `aug ${n(r, "aug")} host ${n(r, "host")}` : null));
    expect(found(run)).toBe("aug TDX_SUCCESS host TDX_SUCCESS,TDX_SUCCESS,TDX_EPT_PAGE_NOT_FREE|RCX");
  });
  it("tree EX vs SH exclusion: BUSY|SEPT_TREE on either side", () => {
    const a = race(cfg, bodies, (r) => (has(r, "aug", BUSY_TREE) ? "aug busy" : null));
    expect(found(a)).toBe("aug busy");
    const b = race(cfg, bodies, (r) => (has(r, "host", BUSY_TREE) ? `host ${n(r, "host")}` : null));
    expect(found(b)).toMatch(/TDX_OPERAND_BUSY\|SEPT_TREE/);
  });
});

describe("race 12: PAGE.ADD (TDR EX) vs other SEAMCALLs of the TD: BUSY on the TDR operand", () => {
  const cfg = cfgWith([], { opState: "INITIALIZED" });
  it("vs SEPT.ADD: BUSY|RDX on either side; vs TRACK: BUSY|RCX", () => {
    const bodies = {
      add: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memPageAdd(0, 0)]; },
      other: function* (tdx: import("../../src/tdx/index.js").TdxModule) { return [yield* tdx.memSeptAdd(4, 2, 1)]; },
    };
    const busyRdx = st(C.OPERAND_BUSY, OP.RDX);
    const a = race(cfg, bodies, (r) => (has(r, "other", busyRdx) ? `add ${n(r, "add")} other ${n(r, "other")}` : null));
    expect(found(a)).toBe("add TDX_SUCCESS other TDX_OPERAND_BUSY|RDX");
    expect(statusHex(busyRdx)).toBe("0x8000020000000002");
    const b = race(cfg, bodies, (r) => (has(r, "add", busyRdx) ? `add ${n(r, "add")} other ${n(r, "other")}` : null));
    expect(found(b)).toBe("add TDX_OPERAND_BUSY|RDX other TDX_SUCCESS");
    const c = race(cfg, { add: bodies.add, track: function* (tdx) { return [yield* tdx.memTrack()]; } }, (r) => (has(r, "track", BUSY_RCX) ? `track ${n(r, "track")}` : null));
    expect(found(c)).toBe("track TDX_OPERAND_BUSY|RCX");
  });
  it("vs VP.INIT: BUSY on the implicit TDR operand (0x80)", () => {
    const run = race({ ...cfg, vcpusInitialized: false }, {
      add: function* (tdx) { return [yield* tdx.memPageAdd(0, 0)]; },
      init: function* (tdx) { return [yield* tdx.vpInit(0)]; },
    }, (r) => (has(r, "init", st(C.OPERAND_BUSY, OP.TDR)) ? `init ${n(r, "init")}` : null));
    expect(found(run)).toBe("init TDX_OPERAND_BUSY|TDR");
    expect(statusHex(st(C.OPERAND_BUSY, OP.TDR))).toBe("0x8000020000000080");
  });
});


describe("three threads: vCPU (ACCEPT, access) vs AUG vs BLOCK/TRACK/REMOVE", () => {
  it("every explored execution ends consistent (invariants.ts) and never frees a page under a pre-BLOCK vCPU", () => {
    const cfg = cfgWith([{ gpa: 1, level: 0, state: "MAPPED", pfn: 1 }, { gpa: 0, level: 0, state: "PENDING", pfn: 0 }], { vcpus: 1 });
    const run = race(cfg, {
      vcpu: function* (tdx) {
        const e = yield* tdx.vpEnter(0);
        if (e !== 0) return [e];
        const a = yield* tdx.guestAccept(0, 0);
        if (isTdExit(a)) return [e, a];
        const b = yield* tdx.guestAccess(0, 1);
        return isTdExit(b) ? [e, a, b] : [e, a, b, yield* tdx.tdExit(0)];
      },
      aug: function* (tdx) { return [yield* tdx.memPageAug(2, 0, 2)]; },
      rm: function* (tdx) { return [yield* tdx.memRangeBlock(1, 0), yield* tdx.memTrack(), yield* tdx.memPageRemove(1, 0)]; },
    }, () => null, {}, {
      check: (tdx) => (tdx.pfnInfo(1).ptName === "PT_NDA" && tdx.vcpuInGuest(0) && tdx.vcpuEpoch(0) <= 1 ? "page freed under a pre-BLOCK vCPU" : null),
      objs: (tdx) => [tdx.pamtObj(1), tdx.objects.vcpus[0]!],
    });
    expect(run.result.violations).toEqual([]);
    expect(run.result.verdict).toBe("verified");
    expect(run.result.stats.complete).toBeGreaterThan(50);
  });
});
