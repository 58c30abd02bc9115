// Programs that the parallel search's worker threads rebuild in the tests (workers.test.ts): a
// program is code, so a worker gets this module's name and the program's description.
import type { Program } from "../../src/engine/index.js";
import { build, resetInstrIds, type ProgDesc } from "./gen.js";

export function genProgram(d: ProgDesc): Program {
  // Every worker numbers the instructions of its own copy from 0, so they agree on fingerprints.
  resetInstrIds();
  return build(structuredClone(d)).program;
}
