// Step-table presentation on synthetic traces: SEAMCALL folding and outcome, repeated retry blocks,
// state columns (the entries a message names, S-EPT beside mirror), folding of uninvolved steps.
import { describe, expect, it } from "vitest";
import { defineProgram, type StepRecord } from "../../src/engine/index.js";
import { formatExplain, formatKvmTable } from "../../src/cli/steptable.js";

function program() {
  return defineProgram("synthetic", (w) => {
    w.alloc("mmu_lock", "rwlock", [0, 0]);
    w.alloc("sp4(L1 gfn0 T0)[0]", "cell", [0], (v) => (v === 0 ? "NP" : `LEAF(pfn ${v})`));
    w.alloc("sept.L0[gpa 0]", "cell", [0], (v) => (v === 0 ? "FREE" : `PENDING pfn=${v}`));
    w.alloc("memslot", "cell", [0]);
    w.alloc("tdr.lock", "sharex", [0]);
    const body = function* () {};
    return { threads: [{ name: "vCPU0", body }, { name: "zapper", body }] };
  });
}

let n = 0;
function step(thread: number, op: string, object: string, label: string, extra: Partial<StepRecord> = {}): StepRecord {
  return { index: n++, thread, threadName: thread === 0 ? "vCPU0" : "zapper", op, object, label, ...extra };
}

describe("KVM step tables", () => {
  it("folds SEAMCALLs, marks BUSY and retries, folds repeats, names the state", () => {
    n = 0;
    const steps: StepRecord[] = [
      step(0, "load", "memslot", "kvm_mmu_faultin_pfn: slot->flags", { read: "0" }),
      step(0, "load", "memslot", "kvm_mmu_faultin_pfn: again", { read: "0" }),
      step(0, "read_lock", "mmu_lock", "kvm_tdp_mmu_page_fault: read_lock(&kvm->mmu_lock)"),
      step(0, "cmpxchg", "sp4(L1 gfn0 T0)[0]", "tdp_mmu_set_spte_atomic: try_cmpxchg64", { read: "NP", written: "LEAF(pfn 1)" }),
    ];
    for (let i = 0; i < 4; i++) {
      steps.push(step(0, "try_lock_sh", "tdr.lock", "tdh_mem_page_aug: TDR lock: try_lock SH", { read: "busy" }));
      steps.push(step(0, "load", "memslot", "tdx_sept_set_private_spte: retry", { read: "0" }));
    }
    steps.push(step(0, "try_lock_sh", "tdr.lock", "tdh_mem_page_aug: TDR lock: try_lock SH", { read: "acquired" }));
    steps.push(step(0, "rmw", "sept.L0[gpa 0]", "tdh_mem_page_aug: commit entry", { read: "FREE", written: "PENDING pfn=1" }));
    steps.push(step(1, "store", "sp4(L1 gfn0 T0)[0]", "zap: WRITE_ONCE(sptep, 0)", { written: "NP" }));
    const t = formatKvmTable(program(), steps, { message: "L1 gfn 0: mirror NP (not present) but S-EPT PENDING pfn 1" });
    const lines = t.split("\n");
    expect(lines[0]).toMatch(/^# \| vCPU0\s+\| zapper\s+\| mirror L1 gfn 0 \| S-EPT L1 gfn 0 \| mmu_lock$/);
    expect(lines[2]).toMatch(/\(initial state\).*\| NP\s+\| FREE\s+\| -$/);
    expect(t).toContain("... 2 steps: kvm_mmu_faultin_pfn");
    expect(t).toMatch(/\| R vCPU0$/m);
    expect(t).toContain("SEAMCALL tdh_mem_page_aug -> BUSY");
    expect(t).toContain("... rows 4-5 again 3 more times");
    expect(t).toMatch(/SEAMCALL tdh_mem_page_aug\s+\|\s+\|\s+\| PENDING pfn=1/);
    expect(lines[lines.length - 1]).toMatch(/zap: WRITE_ONCE\(sptep, 0\)\s+\| NP/);
    const e = formatExplain(program(), steps, {});
    expect(e).toContain("- mirror L1 gfn 0: NP -> LEAF(pfn 1)");
    expect(e).toContain("- S-EPT L1 gfn 0: FREE -> PENDING pfn=1");
    expect(e).toContain("[arch/x86/kvm/mmu/tdp_mmu.c]");
  });

  it("--expand keeps every KVM-level row", () => {
    n = 0;
    const steps = [
      step(0, "load", "memslot", "kvm_mmu_faultin_pfn: a", { read: "0" }),
      step(0, "load", "memslot", "kvm_mmu_faultin_pfn: b", { read: "0" }),
      step(0, "load", "memslot", "kvm_mmu_faultin_pfn: c", { read: "0" }),
      step(1, "store", "sp4(L1 gfn0 T0)[0]", "zap: x", { written: "NP" }),
    ];
    expect(formatKvmTable(program(), steps, {}).split("\n")).toHaveLength(5);
    expect(formatKvmTable(program(), steps, { expand: true }).split("\n")).toHaveLength(7);
  });
});
