import { describe, expect, it } from "vitest";
import { SCENARIOS } from "../../src/kvm/index.js";
import { WHY } from "../../src/kvm/why.js";

// Each expected verdict of each built-in scenario cites why (issue 9): the fix or mail for an
// expected violation, the reason for "verified".
describe("every expected verdict has a reason", () => {
  // The dpamt-* scenarios carry reasons for their dpamt column only (DPAMT_EXPECTED); the rest: WHY.
  for (const [name, sc] of Object.entries(SCENARIOS).filter(([n]) => n in WHY)) {
    it(name, () => {
      for (const p of Object.keys(sc.expected)) expect(sc.why?.[p], `${name} on ${p}`).toMatch(/\S{3}/);
    });
  }
});
