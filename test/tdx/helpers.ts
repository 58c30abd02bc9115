// Test helpers: run leaves sequentially, or explore small racing programs over one TdxModule.
import { expect } from "vitest";
import { defineProgram, explore, formatStepTable, type ExploreResult, type Op, type StrategyOptions, type ThreadApi, type World } from "../../src/engine/index.js";
import { TdxModule, statusName, type InitialMapping, type Status, type TdxConfig } from "../../src/tdx/index.js";

export type Gen<T> = Generator<Op, T, number>;

/** 3 levels x fan-out 2 (GPAs 0..7), 12 PFNs; tables: L2@0 -> pfn 8, L1@0 -> pfn 9, L1@2 -> pfn 10. */
export const TABLES: InitialMapping[] = [
  { gpa: 0, level: 2, state: "NL_MAPPED", pfn: 8 },
  { gpa: 0, level: 1, state: "NL_MAPPED", pfn: 9 },
  { gpa: 2, level: 1, state: "NL_MAPPED", pfn: 10 },
];
export function cfgWith(extra: InitialMapping[] = [], more: TdxConfig = {}): TdxConfig {
  return { levels: 3, fanout: 2, pfns: 12, vcpus: 2, initial: [...TABLES, ...extra], ...more };
}

/** Run `body` alone (one thread, one execution); returns its statuses (as names) and the module after it. */
export function seq(cfg: TdxConfig, body: (tdx: TdxModule, t: ThreadApi) => Gen<Status[]>): { tdx: TdxModule; names: string[]; raw: Status[] } {
  let raw: Status[] = [];
  let tdx!: TdxModule;
  const program = defineProgram("seq", (w: World) => {
    tdx = new TdxModule(w, cfg);
    return {
      threads: [
        {
          name: "T0",
          body: function* (t: ThreadApi) {
            raw = yield* body(tdx, t);
          },
        },
      ],
    };
  });
  // exhaustive DFS over the (single-thread) program: env choices (if any) take outcome 0 first
  const res = explore(program, { strategy: "exhaustive", maxExecutions: 1 });
  if (res.stats.complete !== 1) throw new Error(`sequential run did not complete: ${JSON.stringify(res.violations.map((v) => v.message))}`);
  const bad = tdx.consistency();
  if (bad !== null) throw new Error(`module inconsistent after the run: ${bad}`);
  return { tdx, names: raw.map(statusName), raw };
}

export type Results = Record<string, Status[]>;

export interface RaceRun {
  result: ExploreResult;
  tdx: TdxModule;
  threadNames: string[];
  /** The step table of the first counterexample. */
  table(): string;
}

/**
 * Explore threads racing on one module. Each body returns the statuses it got; `check` runs at
 * the end of every complete execution and returns a message when the execution is the one
 * looked for (property "found"), or null.
 */
export function race(
  cfg: TdxConfig,
  bodies: Record<string, (tdx: TdxModule, t: ThreadApi) => Gen<Status[]>>,
  check: (r: Results, tdx: TdxModule) => string | null,
  opts: StrategyOptions = {},
  always?: { check: (tdx: TdxModule) => string | null; objs: (tdx: TdxModule) => readonly { id: number }[] },
): RaceRun {
  let tdx!: TdxModule;
  const results: Results = {};
  const names = Object.keys(bodies);
  const program = defineProgram("race", (w: World) => {
    tdx = new TdxModule(w, cfg);
    // An invariant checked after every step, with its footprint (the objects it reads) so that
    // partial-order reduction only orders the writes it can observe.
    const inv = always ? { name: "always", check: () => always.check(tdx), objs: always.objs(tdx).map((o) => o.id) } : null;
    return {
      threads: names.map((n) => ({
        name: n,
        // Thread code may be re-run by the engine to rebuild a thread (engine: Execution.restore), so
        // it only resets its own entry; every complete execution overwrites every entry at the end.
        body: function* (t: ThreadApi) {
          results[n] = [];
          const out = yield* bodies[n]!(tdx, t);
          results[n] = out;
        },
      })),
      // module consistency (invariants.ts) first: every explored execution must end consistent
      final: [{ name: "module-consistency", check: () => tdx.consistency() }, { name: "found", check: () => check(results, tdx) }],
      invariants: inv ? [inv] : [],
    };
  });
  const result = explore(program, { strategy: "dpor", timeLimitMs: 20_000, ...opts });
  return {
    result,
    tdx,
    threadNames: names,
    table: () => (result.violations[0] ? formatStepTable(names, result.violations[0].steps) : "(no counterexample)"),
  };
}

/** Names of a thread's statuses. */
export function n(r: Results, t: string): string[] {
  return (r[t] ?? []).map(statusName);
}

/** Expect the exploration to have found the execution; return its message. */
export function found(run: RaceRun): string {
  expect(run.result.verdict, run.result.violations[0]?.message ?? "nothing found").toBe("violated");
  expect(run.result.violations[0]!.property).toBe("found");
  return run.result.violations[0]!.message;
}

/** Expect the whole space explored and the forbidden outcome absent. */
export function never(run: RaceRun): void {
  expect(run.result.violations.map((v) => v.message)).toEqual([]);
  expect(run.result.exhaustive).toBe(true);
  expect(run.result.stats.complete).toBeGreaterThanOrEqual(1);
}

/** Did thread `t` see status `s` in some explored execution? */
export const has = (r: Results, t: string, s: Status): boolean => (r[t] ?? []).includes(s);
