// Built-in scenarios.
import type { Scenario } from "./scenario.js";

/** The email's situation [SEAN23]: vCPU0 faults GFN x in while another thread zaps x. */
export const seedRace: Scenario = {
  name: "seed-race",
  description: "vCPU0 faults private GFN 0 (its page tables already linked) while another thread zaps GFN 0 under the lock its preset prescribes",
  initial: { tables: [{ level: 1, gfn: 0 }] },
  threads: [
    { kind: "fault", vcpu: 0, gfn: 0 },
    { kind: "zap", name: "zapper", start: 0, end: 1 },
  ],
  witnesses: ["tdh_mem_page_aug", "tdh_mem_page_remove"],
  expected: {
    seed: { violated: "mirror-sept-agreement" },
    "seed-seamcall-lock": { violated: "mirror-sept-agreement" },
    v11: "verified",
    "upstream-6.16": "verified",
    "upstream-6.19": "verified",
  },
};

export const SCENARIOS: Record<string, Scenario> = {
  "seed-race": seedRace,
};
