// The main job's plumbing (issue 12, "the main job's wall"): cells start longest first after a
// warm-up on small ones, by a counted cost table that names only built-in cells; a built-in cell's
// program is built once, where it runs, and its provenance is the one the planning would have given.
import { describe, expect, it } from "vitest";
import { COSTED_CELLS, DEFAULT_COST, cellCost } from "../../src/cli/cell-costs.js";
import { runCell } from "../../src/cli/cell.js";
import { planCells } from "../../src/cli/check.js";
import { dispatchOrder } from "../../src/cli/pool.js";
import { PRESET_ORDER } from "../../src/cli/targets.js";
import { SCENARIOS } from "../../src/kvm/index.js";

describe("dispatch order", () => {
  it("is spec order without costs, and a permutation: the cheapest quarter first, then decreasing cost, ties in spec order", () => {
    expect(dispatchOrder(5)).toEqual([0, 1, 2, 3, 4]);
    const costs = [3, 9, 1, 9, 4, 2, 7, 1];
    const o = dispatchOrder(costs.length, costs);
    expect([...o].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Two warm-up cells (8 / 4): the two cheapest, in spec order on a tie; then 9, 9, 7, 4, 3, 2.
    expect(o).toEqual([2, 7, 1, 3, 6, 4, 0, 5]);
  });
});

describe("cell cost table", () => {
  it("names only built-in cells (scenario@preset), every one of them, with positive counted costs", () => {
    const all = Object.keys(SCENARIOS).flatMap((s) => PRESET_ORDER.map((p) => `${s}@${p}`));
    expect([...COSTED_CELLS].sort()).toEqual([...all].sort());
    const { cells } = planCells([], {}, true);
    for (const c of cells) expect(cellCost(c.spec)).toBeGreaterThanOrEqual(1);
    // A --set cell is not the table's: the default.
    const { cells: set } = planCells(["seed-race"], { protocol: "seed", set: ["install=freeze"] }, true);
    expect(cellCost(set[0]!.spec)).toBe(DEFAULT_COST);
  });
});

describe("programs built once", () => {
  it("a deferred built-in cell gets from its run the fingerprint and reductions the planning would have given", () => {
    const args = ["seed-race"];
    const eager = planCells(args, { protocol: "upstream-7.2" }).cells[0]!;
    const lazy = planCells(args, { protocol: "upstream-7.2" }, true).cells[0]!;
    expect(eager.provenance.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(lazy.provenance.fingerprint).toBe("");
    const r = runCell(lazy.spec);
    expect(r.built).toEqual({ fingerprint: eager.provenance.fingerprint, reductions: eager.provenance.reductions });
    // Cells given a --set are built (and so checked) before anything runs.
    const set = planCells(args, { protocol: "upstream-7.2", set: ["install=freeze"] }, true).cells[0]!;
    expect(set.provenance.fingerprint).toMatch(/^[0-9a-f]{16}$/);
  });
});
