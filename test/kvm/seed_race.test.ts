import { describe, expect, it } from "vitest";
import { checkScenario, formatKvmSteps, kvmSteps, SCENARIOS } from "../../src/kvm/index.js";

const seedRace = SCENARIOS["seed-race"]!;

/** The email's KVM-level steps (Message-ID Y8m34OEVBfL7Q4Ns@google.com), in order, as (thread, label substring). */
const EMAIL_STEPS: [string, string][] = [
  ["vCPU0", "try_cmpxchg64(sptep, old, new) [leaf, mirror first]"],
  ["zapper", "seed zap: old = xchg(sptep, REMOVED_SPTE)"],
  ["zapper", "SEAMCALL tdh_mem_range_block"],
  ["zapper", "seed zap: WRITE_ONCE(sptep, SHADOW_NONPRESENT_VALUE)"],
  ["vCPU0", "SEAMCALL tdh_mem_page_aug"],
];

function subsequenceIndex(rows: { thread: string; label: string }[], want: [string, string][]): number[] {
  const idx: number[] = [];
  let j = 0;
  rows.forEach((r, i) => {
    if (j < want.length && r.thread === want[j]![0] && r.label.includes(want[j]![1])) {
      idx.push(i);
      j++;
    }
  });
  return idx;
}

describe("seed-race", () => {
  for (const preset of ["seed", "seed-seamcall-lock"]) {
    it(`${preset}: mirror/S-EPT agreement is violated with the email's steps`, () => {
      const r = checkScenario(seedRace, preset);
      expect(r.verdict).toBe("violated:mirror-sept-agreement");
      expect(r.ok).toBe(true);
      const cex = r.counterexample!;
      expect(cex.message).toMatch(/L1 gfn 0: mirror NP \(not present\) but S-EPT PENDING pfn 1/);
      const rows = kvmSteps(cex.steps);
      const idx = subsequenceIndex(rows, EMAIL_STEPS);
      if (idx.length !== EMAIL_STEPS.length) console.log(formatKvmSteps(["vCPU0", "zapper"], rows));
      expect(idx.length).toBe(EMAIL_STEPS.length);
      // The AUG is the last KVM-level row (bar the seamcall_lock release): the violation is
      // detected when the install completes.
      expect(rows.slice(idx[idx.length - 1]! + 1).every((r) => r.label.includes("seamcall_lock"))).toBe(true);
      if (preset === "seed-seamcall-lock") expect(rows.some((r) => r.label.includes("spin_lock(&kvm_tdx->seamcall_lock) [TDH.MEM.PAGE.AUG]"))).toBe(true);
      // The zapper's BLOCK found the S-EPT entry FREE (not yet AUGed): it ran entirely before the AUG.
      const block = rows[idx[2]!]!;
      const aug = rows[idx[4]!]!;
      expect(Math.max(...block.raw)).toBeLessThan(Math.min(...aug.raw));
    });
  }

  it("upstream-6.19: verified exhaustively, witnesses reached", () => {
    const r = checkScenario(seedRace, "upstream-6.19");
    expect(r.result.exhaustive).toBe(true);
    expect(r.missingWitnesses).toEqual([]);
    expect(r.verdict).toBe("verified");
    expect(r.ok).toBe(true);
  });

  it("upstream-6.16 and v11: verified", () => {
    for (const p of ["upstream-6.16", "v11"]) expect(checkScenario(seedRace, p).verdict).toBe("verified");
  });

  it("seed with the install switched to freeze alone: agreement holds", () => {
    const r = checkScenario(seedRace, "seed", { overrides: { install: "freeze" }, properties: ["mirror-sept-agreement", "mirror-sept-agreement-final"] });
    expect(r.verdict).toBe("verified");
  });
});
