import { describe, expect, it } from "vitest";
import { SCENARIOS } from "../../src/kvm/index.js";

// Each expected verdict of each built-in scenario cites why (issue 9): the fix or mail for an
// expected violation, the reason for "verified".
describe("every expected verdict has a reason", () => {
  // Every scenario, every column (the dpamt-* scenarios included; their reasons are in WHY too).
  for (const [name, sc] of Object.entries(SCENARIOS)) {
    it(name, () => {
      for (const p of Object.keys(sc.expected)) expect(sc.why?.[p], `${name} on ${p}`).toMatch(/\S{3}/);
    });
  }
});
