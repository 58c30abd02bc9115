// Run one execution to its end with a thread-picking function (random walk, PCT, replay).
import { judgeCycle } from "../cycle.js";
import type { Execution } from "../execution.js";

export type WalkEnd = "complete" | "deadlock" | "violation" | "cycle" | "step-limit" | "picker-stop";

/**
 * `pick(enabledMask, stepIndex)` returns the thread to run, or -1 to stop here.
 * The caller has reset `ex`. `enabledAt` receives the enabled mask before each step.
 */
export function walk(
  ex: Execution,
  pick: (enabled: number, i: number) => number,
  enabledAt: number[],
  maxSteps = 1_000_000,
  cutCycles = true,
  fps: { fp1: number[]; fp2: number[] } = { fp1: [], fp2: [] },
): WalkEnd {
  const seen = new Map<number, number[]>(); // fp1 -> step indices whose pre-state had it
  const fp2s = fps.fp2;
  for (let i = 0; ; i++) {
    if (ex.fatal) return "violation";
    const enabled = ex.enabledMask();
    if (enabled === 0) {
      if (ex.allDone()) {
        ex.checkFinal();
        return ex.fatal ? "violation" : "complete";
      }
      const names: string[] = [];
      for (let t = 0; t < ex.n; t++) if (!ex.done[t]) names.push(`${ex.program.threads[t]!.name} at ${ex.pending[t]?.label ?? "?"}`);
      ex.addViolation("deadlock", `every unfinished thread is blocked: ${names.join("; ")}`, -1, true);
      return "deadlock";
    }
    if (i >= maxSteps) return "step-limit";
    const tid = pick(enabled, i);
    if (tid < 0) return "picker-stop";
    if ((enabled & (1 << tid)) === 0) throw new Error(`picker chose thread ${tid}, which is not enabled`);
    ex.fingerprint();
    const l = seen.get(ex.fp1);
    if (l) l.push(i);
    else seen.set(ex.fp1, [i]);
    fp2s.push(ex.fp2);
    fps.fp1.push(ex.fp1);
    enabledAt.push(enabled);
    ex.step(tid);
    if (ex.fatal) return "violation";
    if (!cutCycles) continue;
    ex.fingerprint();
    const back = seen.get(ex.fp1);
    if (back) {
      for (const j of back) {
        if (fp2s[j] !== ex.fp2) continue;
        judgeCycle(ex, j, i, enabledAt);
        return ex.fatal ? "violation" : "cycle";
      }
    }
  }
}

/** mulberry32: a small, fast, seedable PRNG (deterministic across platforms). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBit(mask: number, r: number): number {
  let count = 0;
  for (let m = mask; m !== 0; m &= m - 1) count++;
  let k = Math.floor(r * count);
  for (let m = mask; m !== 0; m &= m - 1) {
    if (k-- === 0) return 31 - Math.clz32(m & -m);
  }
  return 31 - Math.clz32(mask & -mask);
}
