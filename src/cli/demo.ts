// The engine's own demo targets (until the KVM model lands, the main job checks these).
import type { Program } from "../engine/index.js";
import { CLASSIC } from "../examples/classic.js";

export interface DemoTarget {
  name: string;
  description: string;
  make: () => Program;
  /** "verified" or the property whose violation is expected. */
  expected: string;
}

export const DEMOS: DemoTarget[] = [
  { name: "lost-update", description: "two threads increment with load+store", make: CLASSIC["lost-update"]!, expected: "no-lost-update" },
  { name: "counter-atomic", description: "the same with a cmpxchg retry loop", make: CLASSIC["counter-atomic"]!, expected: "verified" },
  { name: "peterson", description: "Peterson's mutual exclusion", make: CLASSIC["peterson"]!, expected: "verified" },
  { name: "peterson-broken", description: "turn written before the flag", make: CLASSIC["peterson-broken"]!, expected: "mutual-exclusion" },
  { name: "dekker", description: "Dekker's mutual exclusion", make: CLASSIC["dekker"]!, expected: "verified" },
  { name: "dekker-broken", description: "test the other flag, then raise yours", make: CLASSIC["dekker-broken"]!, expected: "mutual-exclusion" },
  { name: "philosophers", description: "3 philosophers, left fork first", make: CLASSIC["philosophers"]!, expected: "deadlock" },
  { name: "philosophers-ordered", description: "forks taken in global order", make: CLASSIC["philosophers-ordered"]!, expected: "verified" },
  { name: "handshake", description: "wait-until request/acknowledge", make: CLASSIC["handshake"]!, expected: "verified" },
  { name: "polite-spin", description: "both raise a flag and back off", make: CLASSIC["polite-spin"]!, expected: "livelock" },
  { name: "mutual-spin", description: "both wait for the other's flag", make: CLASSIC["mutual-spin"]!, expected: "livelock" },
];
