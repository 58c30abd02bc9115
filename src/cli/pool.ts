// Runs check cells on up to `jobs` worker threads (or in this thread when the CLI runs from its
// TypeScript sources, as under the test runner). Results come back in the order of the specs,
// whatever order the cells finish in, so the output stays deterministic.
import { availableParallelism } from "node:os";
import { setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";
import { runCell, type CellResult, type CellSpec } from "./cell.js";

export interface PoolHooks {
  /** Called on progress and when a cell finishes: cells done, total, executions so far (all cells). */
  onProgress?: (done: number, total: number, executions: number, running: string[]) => void;
  /**
   * Per spec, an estimate of its cost (counted, never timed: cell-costs.ts), for the order cells
   * start in (dispatchOrder): the longest do not come last and leave one worker alone at the end.
   * Only the order they start in changes: results come back in spec order.
   */
  costs?: number[];
}

export interface Pool {
  run(specs: CellSpec[], labels: string[], hooks?: PoolHooks): Promise<CellResult[]>;
  /** Ask running cells to stop (Ctrl-C); cells not started yet are not started. */
  stop(): void;
  /** End the workers of a pool that will not run (the check was refused before it started). */
  close(): Promise<void>;
}

export function defaultJobs(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

const WORKER_URL = new URL(`./worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url);
const IN_PROCESS = import.meta.url.endsWith(".ts");

function notRun(spec: CellSpec): CellResult {
  let expected: string | undefined;
  if (spec.kind === "scenario" && Object.keys(spec.overrides).length === 0) {
    const e = spec.scenario.expected[spec.preset];
    if (e !== undefined) expected = e === "verified" ? "verified" : `violated:${e.violated}`;
  }
  return {
    ...(expected !== undefined ? { expected, ok: false } : {}),
    verdict: "incomplete",
    stopReason: "not run (interrupted)",
    exhaustive: false,
    notDecided: [],
    stats: { strategy: spec.opts.strategy, complete: 0, blocked: 0, cycles: 0, sleepPruned: 0, cachePruned: 0, violating: 0, executions: 0, steps: 0, fusedSteps: 0, fusionRestarts: 0, replaySteps: 0, statesStored: 0, maxDepth: 0, wallMs: 0, firstViolationMs: -1 },
    missingWitnesses: [],
    counterexamples: [],
    fingerprint: "",
  };
}

/**
 * The order cells start in. Without costs, spec order. With costs: first the cheapest quarter of
 * the cells (cheapest first), then the others in decreasing cost; ties in spec order. Longest
 * first, because the job's wall is set by its tail (a long cell started last runs alone); but not
 * from the very start: each worker thread's JIT warms up on its first cells, and warming up on the
 * largest cells cost 1.5-2 s more CPU over the main job than on small ones (docs/bench.md,
 * "Session 6: the main job").
 */
export function dispatchOrder(n: number, costs?: readonly number[]): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (costs === undefined) return order;
  order.sort((a, b) => costs[a]! - costs[b]! || a - b);
  const warm = order.slice(0, Math.floor(n / 4));
  const rest = order.slice(warm.length).sort((a, b) => costs[b]! - costs[a]! || a - b);
  return [...warm, ...rest];
}

type Msg = { type: string; id: number; executions?: number; result?: CellResult };

/**
 * A worker thread, started when the pool is created (the first one) or when a run needs it: its
 * module loading overlaps the planning of the cells on the main thread.
 */
function startWorker(stopBuf: SharedArrayBuffer): { w: Worker; error: Error | undefined; onMessage: ((m: Msg) => void) | undefined; onError: ((e: Error) => void) | undefined } {
  const rec: ReturnType<typeof startWorker> = { w: new Worker(WORKER_URL, { workerData: { stop: stopBuf } }), error: undefined, onMessage: undefined, onError: undefined };
  rec.w.on("message", (m: Msg) => rec.onMessage?.(m));
  rec.w.on("error", (e) => {
    rec.error ??= e;
    rec.onError?.(e);
  });
  return rec;
}

/**
 * V8's interrupt budget (bytes of bytecode a function runs between tiering checks) for the pool's
 * worker isolates. Each worker is a fresh isolate that optimizes the engine and the model from
 * scratch on background threads: with V8 11.3's default (132 KiB) that optimizing, and the
 * re-optimizing after deopts on type feedback gathered too early, was about half the main job's CPU
 * (per thread, quiet or loaded: each worker thread 2.8-3.0 s, V8's compile threads 6 s in all;
 * with --no-concurrent-recompilation each worker thread 6 s). With a larger budget fewer functions
 * are optimized, each on riper feedback. 800 KiB was the lowest main-job CPU measured
 * (docs/bench.md, "Session 7: the main job"); 4 MiB costs more again (too long interpreted).
 * Performance only: no result depends on it. Set before the first worker starts (V8 reads it when
 * a function's feedback is allocated); it also holds for this thread from then on.
 */
export const WORKER_INTERRUPT_BUDGET = 800 * 1024;

let flagsSet = false;
function tuneWorkerJit(): void {
  if (flagsSet) return;
  flagsSet = true;
  setFlagsFromString(`--interrupt-budget=${WORKER_INTERRUPT_BUDGET}`);
}

export function createPool(jobs: number): Pool {
  if (!IN_PROCESS) tuneWorkerJit();
  const stopBuf = new SharedArrayBuffer(4);
  const stopFlag = new Int32Array(stopBuf);
  // Compiled, cells always run on workers: the main thread stays free to take Ctrl-C.
  const idle = IN_PROCESS ? [] : [startWorker(stopBuf)];
  return {
    stop: () => void Atomics.store(stopFlag, 0, 1),
    async close() {
      await Promise.all(idle.splice(0).map((r) => r.w.terminate()));
    },
    async run(specs, labels, hooks = {}) {
      const results: (CellResult | undefined)[] = new Array(specs.length);
      const execs = new Array<number>(specs.length).fill(0);
      let done = 0;
      const running = new Set<number>();
      const report = (): void => hooks.onProgress?.(done, specs.length, execs.reduce((a, b) => a + b, 0), [...running].map((i) => labels[i]!));
      const stopped = (): boolean => Atomics.load(stopFlag, 0) !== 0;
      const order = dispatchOrder(specs.length, hooks.costs);
      if (IN_PROCESS) {
        for (const i of order) {
          if (stopped()) {
            results[i] = notRun(specs[i]!);
            continue;
          }
          running.add(i);
          results[i] = runCell(specs[i]!, { shouldStop: stopped, onProgress: (e) => ((execs[i] = e), report()) });
          running.delete(i);
          execs[i] = results[i]!.stats.executions;
          done++;
          report();
          // Let signal handlers run between cells.
          await new Promise((r) => setImmediate(r));
        }
        return results as CellResult[];
      }
      let next = 0;
      const nWorkers = Math.max(1, Math.min(jobs, specs.length));
      const workers = idle.splice(0, nWorkers);
      while (workers.length < nWorkers) workers.push(startWorker(stopBuf));
      // Workers started but not needed (fewer cells than jobs) end now.
      await Promise.all(idle.splice(0).map((r) => r.w.terminate()));
      await Promise.all(
        workers.map(
          (rec) =>
            new Promise<void>((resolve, reject) => {
              const w = rec.w;
              let current = -1;
              const feed = (): void => {
                while (next < order.length && stopped()) {
                  const i = order[next++]!;
                  results[i] = notRun(specs[i]!);
                }
                if (next >= order.length) {
                  void w.terminate().then(() => resolve());
                  return;
                }
                current = order[next++]!;
                running.add(current);
                w.postMessage({ id: current, spec: specs[current] });
              };
              rec.onMessage = (m) => {
                if (m.type === "progress") {
                  execs[m.id] = m.executions!;
                  report();
                  return;
                }
                results[m.id] = m.result!;
                execs[m.id] = m.result!.stats.executions;
                running.delete(m.id);
                done++;
                report();
                feed();
              };
              rec.onError = (e) => {
                if (current >= 0 && results[current] === undefined) reject(e);
              };
              if (rec.error !== undefined) {
                reject(rec.error);
                return;
              }
              feed();
            }),
        ),
      );
      return results as CellResult[];
    },
  };
}
