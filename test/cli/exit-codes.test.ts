// One exit-code table: --help prints it, the README carries the same text, and the codes combine
// by one precedence.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { EXIT, EXIT_TABLE, exitCodeTable, worstExit } from "../../src/cli/exit-codes.js";

async function help(): Promise<string> {
  let out = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  try {
    expect(await main(["--help"])).toBe(0);
  } finally {
    o.mockRestore();
  }
  return out;
}

describe("the exit-code table", () => {
  it("--help and the README print the same table, every code of it", async () => {
    const table = exitCodeTable();
    const h = await help();
    expect(h).toContain(table);
    const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
    expect(readme).toContain(table);
    for (const e of EXIT_TABLE) expect(table).toMatch(new RegExp(`^  ${e.code}\\s+${e.meaning.slice(0, 20).replace(/[()]/g, "\\$&")}`, "m"));
    expect(new Set(EXIT_TABLE.map((e) => e.code))).toEqual(new Set(Object.values(EXIT)));
  });

  it("130 over 2 over 1 over 3 over 0, whatever the order", () => {
    const order = [EXIT.ok, EXIT.limit, EXIT.violation, EXIT.usage, EXIT.interrupted];
    for (let i = 0; i < order.length; i++)
      for (let j = 0; j < order.length; j++) {
        expect(worstExit(order[i]!, order[j]!)).toBe(order[Math.max(i, j)]);
      }
  });

  it("`tdxmc help` and `tdxmc help COMMAND` are valid commands", async () => {
    let out = "";
    const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    try {
      expect(await main(["help"])).toBe(0);
      expect(out).toContain("Exit codes:");
      out = "";
      expect(await main(["help", "check"])).toBe(0);
      expect(out).toContain("--max-steps");
    } finally {
      o.mockRestore();
    }
  });
});
