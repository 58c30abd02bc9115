import { describe, expect, it } from "vitest";
import { MAIN_JOB_WIDTH, presetHead } from "../../src/cli/check.js";
import { PRESETS, SCENARIOS } from "../../src/kvm/index.js";
import { run } from "../helpers/run-cli.js";

// The main job stays readable on a 160-column terminal with every preset (eight once `hugepage`
// lands): short column heads with a legend line, full preset names in --json. One execution per
// cell keeps this cheap; the verdicts are then "stopped", the widest cell text the matrix has.
describe("the main job's matrix fits 160 columns", () => {
  it("short heads for every preset, unique, at most 10 characters; the 8th (hugepage) is 'huge'", () => {
    const heads = Object.keys(PRESETS).map(presetHead);
    expect(new Set(heads).size).toBe(heads.length);
    for (const h of heads) expect(h.length).toBeLessThanOrEqual(10);
    expect(presetHead("upstream-7.2")).toBe("7.2");
    expect(presetHead("seed-seamcall-lock")).toBe("seed+lock");
    expect(presetHead("hugepage")).toBe("huge");
  });
  // The whole main job's width is asserted by test/cli/cli.test.ts ("the main job"), which already
  // runs it at one execution per cell; here the pieces: heads, a full-width matrix, --json names.
  it("a check of every preset at once fits 160 columns; --json names full presets", async () => {
    const r = await run(["check", "seed-race", "read-zap-two-gfns", "--max-executions", "1"]);
    const all = r.out.split("\n");
    const header = all.find((l) => l.startsWith("scenario "))!;
    // the matrix and its legend (a named check's notes and step tables are not folded)
    const lines = all.slice(all.indexOf(header), all.findIndex((l) => l.startsWith("Columns: ")) + 1);
    expect(lines.filter((l) => l.length > MAIN_JOB_WIDTH)).toEqual([]);
    expect(header.split(/\s+/).slice(1)).toEqual(Object.keys(PRESETS).map(presetHead));
    expect(r.out).toMatch(/^Columns: .*6\.16 = upstream-6\.16/m);
    expect(SCENARIOS["seed-race"]).toBeDefined();
    const j = await run(["check", "seed-race", "--protocol", "upstream-7.2,seed-seamcall-lock", "--max-executions", "1", "--json"]);
    expect((JSON.parse(j.out).cells as { preset: string }[]).map((c) => c.preset)).toEqual(["upstream-7.2", "seed-seamcall-lock"]);
  });
});
