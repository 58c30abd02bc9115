import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { SCENARIOS } from "../../src/kvm/index.js";

// scenarios/*.yaml are the built-in scenarios in the file format; keep them equal to the TS objects.
// Regenerate after changing src/kvm/scenarios.ts: UPDATE_SCENARIOS=1 npx vitest run test/kvm/yaml.test.ts
const dir = new URL("../../scenarios/", import.meta.url);
if (process.env.UPDATE_SCENARIOS === "1")
  for (const [name, sc] of Object.entries(SCENARIOS))
    writeFileSync(new URL(`${name}.yaml`, dir), `# Built-in scenario '${name}' (generated from src/kvm/scenarios.ts; test/kvm/yaml.test.ts keeps them equal).\n` + stringify(sc, { lineWidth: 0 }));

describe("scenarios/*.yaml", () => {
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
  it("one file per built-in scenario", () => {
    expect(files.map((f) => f.replace(/\.yaml$/, "")).sort()).toEqual(Object.keys(SCENARIOS).sort());
  });
  for (const f of files) {
    it(f, () => {
      const data = parse(readFileSync(new URL(f, dir), "utf8"));
      expect(data).toEqual(JSON.parse(JSON.stringify(SCENARIOS[data.name]!)));
    });
  }
});
