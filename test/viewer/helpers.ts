// Shared by the viewer tests: the CLI in-process, and the seed race's replay string (from a check
// run, so that it follows the model).
import { run } from "../helpers/run-cli.js";

export { run };

let seed: string | undefined;
/** The seed race's replay string (seed-race@seed:FINGERPRINT:z2:...). */
export async function seedRaceReplay(): Promise<string> {
  if (seed === undefined) {
    const r = await run(["check", "seed-race", "--protocol", "seed", "--json", "--jobs", "1"]);
    seed = (JSON.parse(r.out) as { cells: { counterexamples: { replay: string }[] }[] }).cells[0]!.counterexamples[0]!.replay;
  }
  return seed;
}
