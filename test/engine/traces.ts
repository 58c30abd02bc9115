// Oracle for optimal DPOR: the number of Mazurkiewicz traces of a program's complete executions,
// counted by plain enumeration of every interleaving and a Foata normal form per execution.
import { Execution, eventsConflict } from "../../src/engine/execution.js";
import type { Program } from "../../src/engine/index.js";

/**
 * Two executions are the same trace iff they have the same Foata normal form: the events (thread,
 * its k-th step, what the step did) grouped by level, where an event's level is one more than the
 * highest level of an earlier event it depends on (same thread, or conflicting: a common object
 * and not both reads / both shared, or a common observer group). Dependence is judged on the
 * executed steps, so a failed compare-exchange, an RMW that changed nothing and a failed try-lock
 * are reads, and lock operations are writes.
 */
export function foata(ex: Execution, conflict: (ex: Execution, f: number, e: number) => boolean = eventsConflict): string {
  const len = ex.length;
  const level = new Array<number>(len).fill(0);
  const nth = new Array<number>(ex.n).fill(0);
  const names: string[] = [];
  for (let e = 0; e < len; e++) {
    let l = 0;
    for (let f = 0; f < e; f++) if (ex.evTid[f] === ex.evTid[e] || conflict(ex, f, e)) l = Math.max(l, level[f]! + 1);
    level[e] = l;
    const t = ex.evTid[e]!;
    names.push(`${t}.${nth[t]!++}:${ex.evLabel[e]}:${ex.evRead[e]}>${ex.evWrite[e]}`);
  }
  const byLevel: string[][] = [];
  for (let e = 0; e < len; e++) (byLevel[level[e]!] ??= []).push(names[e]!);
  return byLevel.map((l) => l.sort().join(",")).join(" | ");
}

/** Traces of complete executions, and how many interleavings (complete executions) there are. */
export function countTraces(program: Program, conflict: (ex: Execution, f: number, e: number) => boolean = eventsConflict): { traces: number; interleavings: number } {
  const oracle = { choose: (): number => 0 };
  const ex = new Execution(program, oracle);
  ex.stopOnFatal = false;
  const seen = new Set<string>();
  let interleavings = 0;
  const prefix: number[] = [];
  const go = (): void => {
    ex.reset();
    for (const t of prefix) ex.step(t);
    const en = ex.enabledMask();
    if (en === 0) {
      if (ex.allDone()) {
        interleavings++;
        seen.add(foata(ex, conflict));
      }
      return;
    }
    for (let t = 0; t < ex.n; t++) {
      if ((en & (1 << t)) === 0) continue;
      prefix.push(t);
      go();
      prefix.pop();
    }
  };
  go();
  return { traces: seen.size, interleavings };
}
