// Test helpers: run one thread's leaves sequentially, or explore small racing programs.
import { defineProgram, explore, type Op, type Program, type ThreadApi, type World } from "../../src/engine/index.js";
import { TdxModule, type Status, type TdxConfig } from "../../src/tdx/index.js";

export type Body = (tdx: TdxModule, t: ThreadApi) => Generator<Op, void, number>;

/**
 * A program of racing threads over one TdxModule. Each thread records its statuses in `out`
 * (per execution; reset by the engine's re-run of the generators, since `out` is rebuilt on each
 * execution start through `onStart`).
 */
export function race(name: string, cfg: TdxConfig, bodies: Record<string, Body>, final?: (tdx: TdxModule) => string | null): { program: Program; tdx: () => TdxModule } {
  let tdx!: TdxModule;
  const program = defineProgram(name, (w: World) => {
    tdx = new TdxModule(w, cfg);
    return {
      threads: Object.entries(bodies).map(([n, b]) => ({ name: n, body: (t: ThreadApi) => b(tdx, t) })),
      final: final ? [{ name: "final", check: () => final(tdx) }] : [],
      properties: ["found"],
    };
  });
  return { program, tdx: () => tdx };
}

/** Run `body` alone (single thread, one execution) and return what it returned plus the module. */
export function runSeq(cfg: TdxConfig, body: (tdx: TdxModule, t: ThreadApi) => Generator<Op, Status[] | void, number>): { tdx: TdxModule; results: Status[] } {
  let results: Status[] = [];
  let tdx!: TdxModule;
  const program = defineProgram("seq", (w: World) => {
    tdx = new TdxModule(w, cfg);
    return {
      threads: [
        {
          name: "T0",
          body: function* (t: ThreadApi) {
            const r = yield* body(tdx, t);
            if (r) results = r;
          },
        },
      ],
    };
  });
  const res = explore(program, { strategy: "exhaustive", maxExecutions: 2 });
  if (res.stats.complete !== 1) throw new Error(`sequential run did not complete: ${JSON.stringify(res.stats)} ${JSON.stringify(res.violations.map((v) => v.message))}`);
  return { tdx, results };
}
