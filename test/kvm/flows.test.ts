// Single-flow tests: each flow's steps and each KVM hook's success and error paths, on one thread
// (or with injected BUSY), inspecting the final mirror / S-EPT / KVM state.
import { describe, expect, it } from "vitest";
import { explore, type ExploreResult } from "../../src/engine/index.js";
import { buildProgramWithModel, type BuiltModel, type Scenario, type ThreadDecl } from "../../src/kvm/index.js";
import { formatSpte } from "../../src/kvm/spte.js";

function run(
  threads: ThreadDecl[],
  opts: { preset?: string; overrides?: Record<string, string>; initial?: Scenario["initial"]; inject?: string[]; properties?: string[] } = {},
): { r: ExploreResult; m: BuiltModel; labels: string[] } {
  const sc: Scenario = { name: "t", description: "", threads, expected: {}, initial: opts.initial, inject: opts.inject };
  const { program, model } = buildProgramWithModel(sc, opts.preset ?? "upstream-6.19", opts.overrides ?? {});
  const r = explore(program, { strategy: "cache", properties: opts.properties, allViolations: true });
  return { r, m: model, labels: r.coverage };
}
const mirror = (m: BuiltModel, gfn: number, level = 1) => {
  const e = m.kvm.mirror.peekEntry(level, gfn);
  return e ? formatSpte(e.value) : "absent";
};
const sept = (m: BuiltModel, gfn: number, level = 1) => {
  const e = m.tdx.peekEntry(level, gfn);
  return e ? `${e.state}${e.pfn >= 0 ? ` pfn ${e.pfn}` : ""}` : "absent";
};
const has = (labels: string[], s: string) => labels.some((l) => l.includes(s));

const linked: Scenario["initial"] = { tables: [{ level: 1, gfn: 0 }] };
const mapped: Scenario["initial"] = { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "MAPPED" }] };

describe("private EPT-violation fault (tdx_handle_ept_violation())", () => {
  it("links both missing tables with SEPT.ADD and AUGs the leaf through the freeze", () => {
    const { r, m, labels } = run([{ kind: "fault", vcpu: 0, gfn: 0 }]);
    expect(r.verdict).toBe("verified");
    expect(mirror(m, 0, 3)).toMatch(/^TABLE/);
    expect(mirror(m, 0, 2)).toMatch(/^TABLE/);
    expect(mirror(m, 0)).toBe("LEAF(pfn 1)");
    expect(sept(m, 0, 3)).toMatch(/^NL_MAPPED/);
    expect(sept(m, 0, 2)).toMatch(/^NL_MAPPED/);
    expect(sept(m, 0)).toBe("PENDING pfn 1");
    for (const l of ["try_cmpxchg64(sptep, old, FROZEN_SPTE) [table]", "unfreeze table", "try_cmpxchg64(sptep, old, FROZEN_SPTE) [leaf]", "unfreeze leaf", "tdh_mem_sept_add", "tdh_mem_page_aug", "is_page_fault_stale"])
      expect(has(labels, l), l).toBe(true);
  });
  it("a private fault on a shared GFN exits to userspace without a SEAMCALL", () => {
    const { m, labels } = run([{ kind: "fault", vcpu: 0, gfn: 0 }], { initial: { ...linked, shared: [0] } });
    expect(mirror(m, 0)).toBe("NP");
    expect(has(labels, "tdh_")).toBe(false);
  });
  it("AUG BUSY (injected): the mirror is restored, RET_PF_RETRY, the local retry installs it", () => {
    // (several executions: inspect coverage, not the last execution's state)
    const { r, labels } = run([{ kind: "fault", vcpu: 0, gfn: 0 }], { initial: linked, inject: ["TDH.MEM.PAGE.AUG"] });
    expect(r.verdict).toBe("verified");
    expect(has(labels, "restore after -16")).toBe(true);
    expect(has(labels, "tdx_handle_ept_violation: kvm_check_request(KVM_REQ_VM_DEAD)")).toBe(true);
    expect(has(labels, "unfreeze leaf")).toBe(true);
  });
  it("SEPT.ADD BUSY (injected) on v11: -EAGAIN after the bounded retry, the fault returns RET_PF_RETRY", () => {
    const { r, labels } = run([{ kind: "fault", vcpu: 0, gfn: 0 }], { preset: "v11", initial: { tables: [{ level: 2, gfn: 0 }] }, inject: ["TDH.MEM.SEPT.ADD"] });
    expect(r.verdict).toBe("verified");
    expect(has(labels, "restore after -11")).toBe(true);
  });
  it("hypothetical restore-on-failure=off: the entry stays FROZEN (final agreement violated)", () => {
    const { r } = run([{ kind: "fault", vcpu: 0, gfn: 0 }], { preset: "v11", initial: linked, inject: ["TDH.MEM.PAGE.AUG"], overrides: { "restore-on-failure": "off" }, properties: ["mirror-sept-agreement-final"] });
    expect(r.violations.map((v) => v.property)).toContain("mirror-sept-agreement-final");
  });
  it("TD still being built, 6.19, no page_add_src: KVM_BUG_ON in tdx_mem_page_add", () => {
    const { r } = run([{ kind: "fault", vcpu: 0, gfn: 0 }], { initial: { ...linked, td: "building" }, properties: ["no-kvm-bug-on"] });
    expect(r.violations[0]?.message).toMatch(/tdx_mem_page_add: no page_add_src/);
  });
});

describe("leaf zap under the write lock (tdp_mmu_set_spte())", () => {
  it("stores NP, then BLOCK, TRACK, kick, REMOVE, WBINVD", () => {
    const { r, m, labels } = run([{ kind: "zap", start: 0, end: 1 }], { initial: mapped });
    expect(r.verdict).toBe("verified");
    expect(mirror(m, 0)).toBe("NP");
    expect(sept(m, 0)).toBe("FREE");
    // (no vCPU exists, so the kick has nobody to wait for and is not a step)
    for (const l of ["tdh_mem_range_block", "tdh_mem_track", "tdh_mem_page_remove", "tdh_phymem_page_wbinvd"]) expect(has(labels, l), l).toBe(true);
  });
  it("BLOCK BUSY (injected): the no-vCPU retry sets wait_for_sept_zap, kicks and retries once", () => {
    const { r, m, labels } = run([{ kind: "zap", start: 0, end: 1 }], { initial: mapped, inject: ["TDH.MEM.RANGE.BLOCK"] });
    expect(r.verdict).toBe("verified");
    expect(has(labels, "WRITE_ONCE(kvm_tdx->wait_for_sept_zap, true)")).toBe(true);
    expect(sept(m, 0)).toBe("FREE");
  });
  it("REMOVE BUSY (injected) with removal-failure=bug: KVM_BUG_ON, mirror NP while the S-EPT keeps the page", () => {
    const { r } = run([{ kind: "zap", start: 0, end: 1 }], { initial: mapped, inject: ["TDH.MEM.PAGE.REMOVE"], overrides: { "removal-failure": "bug" } });
    const props = r.violations.map((v) => v.property);
    expect(props).toContain("no-kvm-bug-on");
    expect(props).toContain("mirror-sept-agreement");
  });
  it("v11: BLOCK BUSY|SEPT (injected) is retried, then -EAGAIN is only WARNed and nothing is rolled back", () => {
    const { r } = run([{ kind: "zap", start: 0, end: 1 }], { preset: "v11", initial: mapped, inject: ["TDH.MEM.RANGE.BLOCK"] });
    const props = r.violations.map((v) => v.property);
    expect(props).toContain("no-warn");
    expect(props).toContain("mirror-sept-agreement");
  });
});

describe("userspace flows", () => {
  it("KVM_SET_MEMORY_ATTRIBUTES private→shared zaps the leaf and bumps the invalidation sequence", () => {
    const { m } = run([{ kind: "set-attributes", start: 0, end: 1, to: "shared" }], { initial: mapped });
    expect(mirror(m, 0)).toBe("NP");
    expect(sept(m, 0)).toBe("FREE");
    expect(m.kvm.attrs[0]!.peek()).toBe(0);
    expect(m.kvm.invalidateSeq.peek()).toBe(1);
  });
  it("punch hole removes the page from the S-EPT before freeing it", () => {
    const { r, m } = run([{ kind: "punch-hole", start: 0, end: 1 }], { initial: mapped });
    expect(r.verdict).toBe("verified");
    expect(sept(m, 0)).toBe("FREE");
    expect(m.kvm.pages[1]!.peek() & 3).toBe(1);
  });
  it("punch hole with ≤6.18 pinning: the page was pinned at map time and is released by the removal", () => {
    const { m } = run([{ kind: "punch-hole", start: 0, end: 1 }], { preset: "upstream-6.16", initial: mapped });
    expect(m.kvm.pages[1]!.peek()).toBe(1); // freed, no pins left
  });
  it("memslot deletion zaps the private leaves of the slot", () => {
    const { m } = run([{ kind: "memslot-delete" }], { initial: mapped });
    expect(mirror(m, 0)).toBe("NP");
    expect(sept(m, 0)).toBe("FREE");
    expect(m.kvm.slot.peek()).toBe(2);
  });
  it("INIT_MEM_REGION (6.19): PAGE.ADD inside the freeze, then MR.EXTEND", () => {
    const { r, m, labels } = run([{ kind: "init-mem-region", gfn: 0 }], { initial: { ...linked, td: "building" } });
    expect(r.verdict).toBe("verified");
    expect(mirror(m, 0)).toBe("LEAF(pfn 1)");
    expect(sept(m, 0)).toBe("MAPPED pfn 1");
    expect(has(labels, "tdh_mem_page_add")).toBe(true);
    expect(has(labels, "tdh_mr_extend")).toBe(true);
  });
  it("INIT_MEM_REGION (6.16): pre-map (nr_premapped++), PAGE.ADD outside mmu_lock, nr_premapped--", () => {
    const { r, m, labels } = run([{ kind: "init-mem-region", gfn: 0 }], { preset: "upstream-6.16", initial: { ...linked, td: "building" } });
    expect(r.verdict).toBe("verified");
    expect(sept(m, 0)).toBe("MAPPED pfn 1");
    expect(m.kvm.nrPremapped.peek()).toBe(0);
    expect(has(labels, "atomic64_inc(&kvm_tdx->nr_premapped)")).toBe(true);
  });
  it("KVM_TDX_FINALIZE_VM: TDH.MR.FINALIZE, state RUNNABLE, then pre_fault_allowed", () => {
    const { r, m, labels } = run([{ kind: "finalize" }], { initial: { ...linked, td: "building" } });
    expect(r.verdict).toBe("verified");
    expect(m.kvm.tdState.peek()).toBe(2);
    expect(m.kvm.preFaultAllowed.peek()).toBe(1);
    expect(has(labels, "tdh_mr_finalize")).toBe(true);
  });
  it("KVM_PRE_FAULT_MEMORY after finalize AUGs the page; before finalize it is refused", () => {
    const a = run([{ kind: "pre-fault", vcpu: 0, gfn: 0 }], { initial: linked });
    expect(sept(a.m, 0)).toBe("PENDING pfn 1");
    const b = run([{ kind: "pre-fault", vcpu: 0, gfn: 0 }], { initial: { ...linked, td: "building" } });
    expect(has(b.labels, "tdh_mem_page_aug")).toBe(false);
    expect(has(b.labels, "tdh_mem_page_add")).toBe(false);
  });
  it("TDH.VP.INIT under the write lock (6.19)", () => {
    const { r, labels } = run([{ kind: "vp-init", vcpu: 0 }], { initial: { td: "building", vcpusInitialized: false } });
    expect(r.verdict).toBe("verified");
    expect(has(labels, "tdx_td_vcpu_init: write_lock")).toBe(true);
  });
  it("teardown (upstream order): leaves removed with the HKID assigned, HKID released, tables reclaimed", () => {
    const { r, m, labels } = run([{ kind: "teardown" }], { initial: mapped });
    expect(r.verdict).toBe("verified");
    expect(m.kvm.hkid.peek()).toBe(0);
    for (const l of ["tdh_mem_page_remove", "tdh_mng_vpflushdone", "tdh_mng_key_freeid", "tdh_phymem_page_reclaim"]) expect(has(labels, l), l).toBe(true);
  });
  it("teardown (v11 order): HKID first, leaves reclaimed with RECLAIM", () => {
    const { r, labels } = run([{ kind: "teardown" }], { preset: "v11", initial: mapped });
    expect(r.verdict).toBe("verified");
    expect(has(labels, "tdh_mem_page_remove")).toBe(false);
    expect(has(labels, "tdh_phymem_page_reclaim")).toBe(true);
  });
});

describe("vCPU run loop", () => {
  it("guest access to an unmapped page: EPT violation exit, fault, re-entry, #VE, ACCEPT, access", () => {
    const { r, m, labels } = run([{ kind: "vcpu", vcpu: 0, actions: [{ op: "access", gfn: 0 }] }], { initial: linked });
    expect(r.verdict).toBe("verified");
    expect(sept(m, 0)).toBe("MAPPED pfn 1");
    for (const l of ["tdh_vp_enter", "td_ept_violation", "tdh_mem_page_aug", "tdg_mem_page_accept"]) expect(has(labels, l), l).toBe(true);
  });
});
