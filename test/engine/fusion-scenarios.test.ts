// Every built-in scenario under every preset gets the same verdict with the engine's reductions as
// with plain stateful search: fusion of scheduling points off, and threads rebuilt by re-running their
// code instead of following recorded code segments (memo off, design.md "Restoring threads"). A
// complete search with fusion never stores more states.
import { describe, expect, it } from "vitest";
import { PRESET_ORDER } from "../../src/cli/targets.js";
import { checkScenario, SCENARIOS } from "../../src/kvm/index.js";

describe("built-in scenarios: fusion and restoring from records change no verdict", () => {
  for (const [name, sc] of Object.entries(SCENARIOS)) {
    it(name, () => {
      for (const p of PRESET_ORDER) {
        // Without a 2M folio the hugepage preset runs exactly dpamt's program (no huge-page code
        // path is reachable, src/kvm/scenario.ts), which this loop already checks.
        if (p === "hugepage" && !sc.initial?.hugeFolios?.length) continue;
        const on = checkScenario(sc, p, { minimize: false });
        const off = checkScenario(sc, p, { minimize: false, fusion: false, memo: false });
        expect(on.verdict, `${name}@${p}`).toBe(off.verdict);
        expect(on.result.exhaustive, `${name}@${p}`).toBe(off.result.exhaustive);
        // A search that stops at its first violation stops at different points; a complete one stores fewer states.
        if (off.result.exhaustive) expect(on.result.stats.statesStored, `${name}@${p}`).toBeLessThanOrEqual(off.result.stats.statesStored);
      }
    }, 600_000); // the whole preset row twice: minutes for the retry-heavy removal scenarios
  }
});
