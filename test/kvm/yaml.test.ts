import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { SCENARIOS } from "../../src/kvm/index.js";

// scenarios/*.yaml are the built-in scenarios in the file format; keep them equal to the TS objects.
describe("scenarios/*.yaml", () => {
  const files = readdirSync(new URL("../../scenarios/", import.meta.url)).filter((f) => f.endsWith(".yaml"));
  it("one file per built-in scenario", () => {
    expect(files.map((f) => f.replace(/\.yaml$/, "")).sort()).toEqual(Object.keys(SCENARIOS).sort());
  });
  for (const f of files) {
    it(f, () => {
      const data = parse(readFileSync(new URL(`../../scenarios/${f}`, import.meta.url), "utf8"));
      expect(data).toEqual(JSON.parse(JSON.stringify(SCENARIOS[data.name]!)));
    });
  }
});
