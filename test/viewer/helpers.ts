// Shared by the viewer tests: the CLI in-process, and the seed race's replay string (from a check
// run, so that it follows the model).
import { vi } from "vitest";
import { main } from "../../src/cli/main.js";

export async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

let seed: string | undefined;
/** The seed race's replay string (seed-race@seed:FINGERPRINT:z2:...). */
export async function seedRaceReplay(): Promise<string> {
  if (seed === undefined) {
    const r = await run(["check", "seed-race", "--protocol", "seed", "--json", "--jobs", "1"]);
    seed = (JSON.parse(r.out) as { cells: { counterexamples: { replay: string }[] }[] }).cells[0]!.counterexamples[0]!.replay;
  }
  return seed;
}
