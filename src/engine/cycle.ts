// Judging a cycle: events j..i of an execution led from a state back to the same state.
//
// It is a livelock (SPIN's non-progress cycle) unless
//  - something progresses inside it (a thread finishes, or calls ThreadApi.progress()), or
//  - an environment-injected failure keeps it going (the environment is fair: it stops failing), or
//  - it is unfair to a thread: some thread is enabled at every state of the cycle yet never runs
//    in it (weak fairness between threads rules such a cycle out).
import type { Execution } from "./execution.js";

export function judgeCycle(ex: Execution, j: number, i: number, enabledAt: readonly number[]): void {
  let alwaysEnabled = ex.enabledMask();
  let ran = 0;
  for (let e = j; e <= i; e++) {
    if (ex.evProgress[e] || ex.evEnvFail[e]) return;
    alwaysEnabled &= enabledAt[e]!;
    ran |= 1 << ex.evTid[e]!;
  }
  if ((alwaysEnabled & ~ran) !== 0) return;
  const who: string[] = [];
  for (let t = 0; t < ex.n; t++) if (ran & (1 << t)) who.push(ex.program.threads[t]!.name);
  ex.addViolation(
    "livelock",
    `${who.join(", ")} ${who.length > 1 ? "retry" : "retries"} forever without progress (a cycle of ${i - j + 1} steps)`,
    ex.evTid[i]!,
    true,
    j,
  );
}
