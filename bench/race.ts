// The benchmark family "N threads × M slots" of ../shared/bench/spin (race.pml, race_fixed.pml),
// written against the engine with exactly the same visible operations as the Promela:
//
//   Promela statement                                   engine step
//   old = mirror[s]                                     mirror[s].load()
//   atomic { if :: mirror[s]==old -> mirror[s]=nv ... } mirror[s].cmpxchg(old, nv)         (one step)
//   sept[s] = nv                                        sept[s].store(nv)
//   atomic { mirror[s] != FROZEN -> old = mirror[s] }   mirror[s].waitLoad(v => v !== FROZEN)  (blocks)
//   if :: sept[s]=nv; mirror[s]=nv :: mirror[s]=old     choose(2, env) after the cmpxchg, then the stores
//
// Promela's purely local statements (i++, s = (tid+i)%M, the do/if guards on locals, goto) are not
// steps. The `init` process of the Promela (spawning, `_nr_pr == 1`, the final assertion loop) is
// the engine's final invariant. Under -DQUIESCENT the Promela keeps an `inflight[s]` counter that
// the cmpxchg increments and the SEAMCALL step decrements, asserting mirror[s] == sept[s] when it
// drops to 0; here that is a critical window (t.enter/t.exit) on key s plus a quiescent invariant.
import { AtomicArray, choose, defineProgram, type Op, type Program, type ThreadApi } from "../src/engine/index.js";

export const FROZEN = 255;

/** Value formatter: FROZEN_SPTE shows as such. */
const spteFmt = (v: number): string => (v === FROZEN ? "FROZEN" : String(v));

export interface RaceOptions {
  /** race.pml -DQUIESCENT: check mirror == sept per slot when its last cmpxchg→SEAMCALL window closes. */
  quiescent?: boolean;
}

/** race.pml: load; cmpxchg old → nv (give up on failure); then sept = nv as a separate step. */
export function raceBuggy(n: number, m: number, opts: RaceOptions = {}): Program {
  const quiescent = opts.quiescent === true;
  return defineProgram(`race${quiescent ? "-quiescent" : ""}-${n}x${m}`, (w) => {
    const mirror = new AtomicArray(w, "mirror", m);
    const sept = new AtomicArray(w, "sept", m);
    const body = (tid: number) =>
      function* (t: ThreadApi): Generator<Op, void, number> {
        const nv = tid + 1;
        for (let i = 0; i < m; i++) {
          const s = (tid + i) % m;
          const old = yield mirror.at(s).load("1: old = mirror[s]");
          const seen = yield mirror.at(s).cmpxchg(old, nv, "2: CAS(mirror[s], old -> nv)");
          if (seen !== old) continue; // lost the race: spurious fault
          if (quiescent) t.enter(s);
          yield sept.at(s).store(nv, "3: sept[s] = nv (SEAMCALL)");
          if (quiescent) t.exit(s);
        }
      };
    const slots = Array.from({ length: m }, (_, s) => s);
    const mismatch = (s: number): string | null =>
      mirror.at(s).peek() === sept.at(s).peek() ? null : `slot ${s}: mirror = ${mirror.at(s).peek()} but sept = ${sept.at(s).peek()}`;
    return {
      threads: Array.from({ length: n }, (_, tid) => ({ name: `T${tid}`, body: body(tid) })),
      final: [
        {
          name: "mirror-equals-sept",
          check: () => {
            for (const s of slots) {
              const msg = mismatch(s);
              if (msg !== null) return msg;
            }
            return null;
          },
        },
      ],
      quiescent: quiescent
        ? [{ name: "quiescent-mirror-equals-sept", keys: slots, objsOf: (s) => [mirror.at(s).id, sept.at(s).id], check: mismatch }]
        : [],
    };
  });
}

export interface FixedOptions {
  /** race_fixed.pml -DBUG_LEAK: on BUSY over a populated slot the error path forgets to unfreeze. */
  leak?: boolean;
}

/**
 * race_fixed.pml: wait until mirror[s] is not FROZEN and load it; cmpxchg old → FROZEN (retry on
 * failure); the SEAMCALL either succeeds (sept = nv, then mirror = nv) or fails with
 * TDX_OPERAND_BUSY, an environment-injected failure (mirror = old, retry).
 */
export function raceFixed(n: number, m: number, opts: FixedOptions = {}): Program {
  const leak = opts.leak === true;
  return defineProgram(`race-fixed${leak ? "-leak" : ""}-${n}x${m}`, (w) => {
    const mirror = new AtomicArray(w, "mirror", m, 0, spteFmt);
    const sept = new AtomicArray(w, "sept", m);
    // The thread from slot i0 on; `atHead`: entered right after t.loopHead("retry", i0) (resume).
    const from = (tid: number) =>
      function* (t: ThreadApi, i0: number, atHead: boolean): Generator<Op, void, number> {
        const nv = tid + 1;
        for (let i = i0; i < m; i++) {
          const s = (tid + i) % m;
          for (;;) {
            // retry: the live locals are i (s and nv follow from it and tid); `old` is reassigned.
            if (!atHead) t.loopHead("retry", i);
            atHead = false;
            const old = yield mirror.at(s).waitLoad((v) => v !== FROZEN, "READ_ONCE(mirror[s]) unless FROZEN");
            const seen = yield mirror.at(s).cmpxchg(old, FROZEN, "CAS(mirror[s], old -> FROZEN)");
            if (seen !== old) continue; // goto retry
            const busy = yield choose(2, "SEAMCALL: ok | TDX_OPERAND_BUSY", { env: true });
            if (busy === 0) {
              yield sept.at(s).store(nv, "sept[s] = nv (SEAMCALL ok)");
              yield mirror.at(s).store(nv, "mirror[s] = nv (publish)");
              break;
            }
            if (leak && old !== 0) continue; // seeded bug: the BUSY path leaves the slot FROZEN
            yield mirror.at(s).store(old, "mirror[s] = old (BUSY: unfreeze)");
          }
        }
      };
    const body = (tid: number) => (t: ThreadApi) => from(tid)(t, 0, false);
    // Lets the engine rebuild a thread from its last loop head instead of from its start.
    const resume = (tid: number) => (t: ThreadApi, _label: string, locals: readonly number[]) => from(tid)(t, locals[0]!, true);
    return {
      threads: Array.from({ length: n }, (_, tid) => ({ name: `T${tid}`, body: body(tid), resume: resume(tid) })),
      final: [
        {
          name: "mirror-equals-sept",
          check: () => {
            for (let s = 0; s < m; s++)
              if (mirror.at(s).peek() !== sept.at(s).peek()) return `slot ${s}: mirror = ${spteFmt(mirror.at(s).peek())} but sept = ${sept.at(s).peek()}`;
            return null;
          },
        },
      ],
    };
  });
}

/**
 * The options of the bench's \`cache-safety\` row: what SPIN's -DSAFETY pan checks (assertions,
 * invalid end states, and here the final/quiescent invariants SPIN asserts), i.e. every property
 * of the program but livelock (no non-progress or acceptance cycles); without livelock no state
 * graph is recorded and the sleep sets stored with states are on (docs/bench.md, "Session 7").
 */
export function safetyOnly(program: Program): { stateCaching: true; sleepSets: true; properties: string[] } {
  return { stateCaching: true, sleepSets: true, properties: program.properties.filter((p) => p !== "livelock") };
}

export type RaceModel = "race" | "race-quiescent" | "race-fixed" | "race-fixed-leak";
export const RACE_MODELS: readonly RaceModel[] = ["race", "race-quiescent", "race-fixed", "race-fixed-leak"];

/** What each model must give: the buggy ones violate their property, the leak deadlocks. */
export const EXPECTED: Record<RaceModel, { verdict: "violated" | "verified"; property?: string }> = {
  race: { verdict: "violated", property: "mirror-equals-sept" },
  "race-quiescent": { verdict: "violated", property: "quiescent-mirror-equals-sept" },
  "race-fixed": { verdict: "verified" },
  "race-fixed-leak": { verdict: "violated", property: "deadlock" },
};

export function raceModel(model: RaceModel, n: number, m: number): Program {
  switch (model) {
    case "race":
      return raceBuggy(n, m);
    case "race-quiescent":
      return raceBuggy(n, m, { quiescent: true });
    case "race-fixed":
      return raceFixed(n, m);
    case "race-fixed-leak":
      return raceFixed(n, m, { leak: true });
  }
}

/** The SPIN source and -D flags of the same model. */
export function spinSource(model: RaceModel): { file: string; defines: string[] } {
  switch (model) {
    case "race":
      return { file: "race.pml", defines: [] };
    case "race-quiescent":
      return { file: "race.pml", defines: ["-DQUIESCENT"] };
    case "race-fixed":
      return { file: "race_fixed.pml", defines: [] };
    case "race-fixed-leak":
      return { file: "race_fixed.pml", defines: ["-DBUG_LEAK"] };
  }
}

export const SIZES: readonly (readonly [number, number])[] = [
  [2, 1], [2, 2], [3, 4], [4, 4], [3, 8], [4, 8],
];
