// Runs check cells on up to `jobs` worker threads (or in this thread when the CLI runs from its
// TypeScript sources, as under the test runner). Results come back in the order of the specs,
// whatever order the cells finish in, so the output stays deterministic.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { runCell, type CellResult, type CellSpec } from "./cell.js";

export interface PoolHooks {
  /** Called on progress and when a cell finishes: cells done, total, executions so far (all cells). */
  onProgress?: (done: number, total: number, executions: number, running: string[]) => void;
}

export interface Pool {
  run(specs: CellSpec[], labels: string[], hooks?: PoolHooks): Promise<CellResult[]>;
  /** Ask running cells to stop (Ctrl-C); cells not started yet are not started. */
  stop(): void;
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

export function createPool(jobs: number): Pool {
  const stopBuf = new SharedArrayBuffer(4);
  const stopFlag = new Int32Array(stopBuf);
  return {
    stop: () => void Atomics.store(stopFlag, 0, 1),
    async run(specs, labels, hooks = {}) {
      const results: (CellResult | undefined)[] = new Array(specs.length);
      const execs = new Array<number>(specs.length).fill(0);
      let done = 0;
      const running = new Set<number>();
      const report = (): void => hooks.onProgress?.(done, specs.length, execs.reduce((a, b) => a + b, 0), [...running].map((i) => labels[i]!));
      const stopped = (): boolean => Atomics.load(stopFlag, 0) !== 0;
      // Compiled, cells always run on workers: the main thread stays free to take Ctrl-C.
      if (IN_PROCESS) {
        for (let i = 0; i < specs.length; i++) {
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
      await Promise.all(
        Array.from({ length: nWorkers }, () =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(WORKER_URL, { workerData: { stop: stopBuf } });
            let current = -1;
            const feed = (): void => {
              while (next < specs.length && stopped()) results[next] = notRun(specs[next++]!);
              if (next >= specs.length) {
                void w.terminate().then(() => resolve());
                return;
              }
              current = next++;
              running.add(current);
              w.postMessage({ id: current, spec: specs[current] });
            };
            w.on("message", (m: { type: string; id: number; executions?: number; result?: CellResult }) => {
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
            });
            w.on("error", (e) => {
              if (current >= 0 && results[current] === undefined) reject(e);
            });
            feed();
          }),
        ),
      );
      return results as CellResult[];
    },
  };
}
