// The stateful search (`cache`) on several worker threads (docs/design.md, "All cores on one cell").
//
// Every worker runs the sequential depth-first search (schedulers/dfs.ts) against one visited set
// in a SharedArrayBuffer (shared-fpset.ts). Work is shared by stack splitting: a worker that has
// nothing to do makes the coordinator ask for work, and a busy worker answers at its next
// execution by handing over the unexplored threads of its shallowest node that has any (a
// `WorkItem`: the path to that node and the thread to run there). The receiver replays the path
// and explores that subtree. A state is expanded by the one worker whose insert made it new, so
// with partial-order reduction off every state is expanded exactly once, as in one worker, and
// the set of stored states is the same (the test compares the counts); the state graph that
// livelock is judged on is the union of the workers' edges, the same graph.
//
// The coordinator is this thread, and it blocks: it waits on the control block and reads the
// workers' messages with receiveMessageOnPort, so the caller keeps a synchronous explore().
// Fusion's learnt facts are shared too (FusionState.share): when a fusion turns out to rely on a
// false fact, every worker stops, the visited set is cleared, and the search starts again.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { FusionState } from "../fusion.js";
import type { Program } from "../program.js";
import { newStats, type Counterexample, type ExploreOptions, type ExploreResult, type Stats } from "../result.js";
import { learntFacts, livelockReplayed, type WorkItem } from "../schedulers/dfs.js";
import { StateGraph, type StateGraphData } from "../stategraph.js";
import { C_CELLS, C_EVT, C_EXECS, C_GIVE, C_STOP, type FromWorker, type ParallelFault, type ProgramSource, type ToWorker, type WorkerInit } from "./protocol.js";
import { SharedFingerprintSet } from "./shared-fpset.js";

export type { ProgramSource } from "./protocol.js";

export interface ParallelOptions {
  /** Worker threads (>= 1). */
  workers: number;
  /** How a worker rebuilds the program. */
  source: ProgramSource;
  /** Partial-order reduction (sleep sets stored with states), as `cache`'s `por`. */
  sleepSets: boolean;
  /** Test hook: a deliberately broken sharing. */
  fault?: ParallelFault;
  /** Test hook: the shared table's first size (log2; small: it grows many times while the workers insert). */
  tableLog2?: number;
}

const TS = import.meta.url.endsWith(".ts");
const WORKER_URL = new URL(`./worker${TS ? ".ts" : ".js"}`, import.meta.url);

interface Thread {
  worker: Worker;
  port: MessagePort;
  wake: Int32Array;
}

/** Threads kept between searches (starting one costs more than a small search). */
const spare: Thread[] = [];

/** A worker thread running worker.ts/js; from TypeScript sources (the tests), through tsx's loader. */
function startThread(): Thread {
  const ch = new MessageChannel();
  const wakeBuf = new SharedArrayBuffer(4);
  const workerData = { port: ch.port2, wake: wakeBuf };
  const transferList = [ch.port2];
  let worker: Worker;
  if (!TS) worker = new Worker(WORKER_URL, { workerData, transferList });
  else {
    const api = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href.replace(/index\.cjs$/, "index.mjs");
    const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
    worker = new Worker(code, { eval: true, workerData, transferList });
  }
  // Kept threads wait on their wake cell between searches; they must not keep the process alive.
  worker.unref();
  return { worker, port: ch.port1, wake: new Int32Array(wakeBuf) };
}

const SUM: (keyof Stats)[] = ["complete", "blocked", "cycles", "sleepPruned", "cachePruned", "violating", "executions", "steps", "fusedSteps", "replaySteps"];

/** Largest table the parallel search allocates (states); the budget decides below it. */
const MAX_TABLE = 100_000_000;

export function parallelCache(program: Program, opts: ExploreOptions, par: ParallelOptions): ExploreResult {
  const t0 = Date.now();
  const nW = Math.max(1, Math.floor(par.workers));
  const props = opts.properties ? new Set(opts.properties) : null;
  const livelock = props === null || props.has("livelock");
  // As in dfsExplore: POR is off while livelock is judged (it needs every edge).
  const sleepSets = par.sleepSets && !livelock;
  const fusion = opts.fusion !== false && !sleepSets;
  const maxStates = Math.min(opts.maxStates ?? MAX_TABLE, MAX_TABLE);
  const table = SharedFingerprintSet.create(maxStates, par.tableLog2);
  const ctrlBuf = new SharedArrayBuffer(4 * C_CELLS);
  const ctrl = new Int32Array(ctrlBuf);
  // Fusion's facts are shared before they are learnt: the threads start (and rebuild the program)
  // while this thread runs the learning walks; the facts are in place before any work item is sent.
  const fus = fusion ? new FusionState(program) : null;
  const fusionBuf = fus !== null ? fus.share() : null;
  const plain: ExploreOptions = {};
  for (const k of ["maxExecutions", "maxSteps", "unboundedPaths", "maxGraphEdges", "properties", "allViolations", "fusion", "memo"] as const) if (opts[k] !== undefined) (plain as Record<string, unknown>)[k] = opts[k];

  const threads: Thread[] = [];
  while (threads.length < nW) threads.push(spare.pop() ?? startThread());
  const ports = threads.map((t) => t.port);
  const send = (w: number, m: ToWorker): void => {
    const t = threads[w]!;
    t.port.postMessage(m);
    Atomics.add(t.wake, 0, 1);
    Atomics.notify(t.wake, 0);
  };
  for (let w = 0; w < nW; w++) {
    const init: WorkerInit = { source: par.source, index: w, table: table.buffers, maxStates, ctrl: ctrlBuf, sleepSets, livelock, opts: plain, fusion: fusionBuf, ...(par.fault ? { fault: par.fault } : {}) };
    send(w, { type: "search", init });
  }
  let completed = false;
  /** Wait until some worker sent something; returns [worker, message] pairs. */
  const waitMessages = (timeoutMs: number): [number, FromWorker][] => {
    for (let round = 0; ; round++) {
      const seen = Atomics.load(ctrl, C_EVT);
      const got: [number, FromWorker][] = [];
      for (let w = 0; w < nW; w++) {
        for (let m = receiveMessageOnPort(ports[w]!); m !== undefined; m = receiveMessageOnPort(ports[w]!)) got.push([w, m.message as FromWorker]);
      }
      if (got.length > 0 || round > 0) return got;
      Atomics.wait(ctrl, C_EVT, seen, timeoutMs);
    }
  };
  const fail = (msg: string): never => {
    throw new Error(`parallel search: ${msg}`);
  };

  const stats = newStats(`cache${nW > 1 ? `/${nW} workers` : ""}`);
  const phasesMs = { start: 0, learn: 0, search: 0, graph: 0, merge: 0, livelock: 0 };
  const phasesCpuMs = { start: 0, learn: 0, search: 0, graph: 0, merge: 0, livelock: 0 };
  const profiles: NonNullable<Stats["parallel"]>["workers"] = [];
  let wastedExecutions = 0;
  let tPhase = performance.now();
  let cPhase = threadCpuMs();
  const phase = (k: keyof typeof phasesMs): void => {
    const t = performance.now();
    const c = threadCpuMs();
    phasesMs[k] += Math.round(t - tPhase);
    phasesCpuMs[k] += Math.round(c - cPhase);
    tPhase = t;
    cPhase = c;
  };
  let violations: Counterexample[] = [];
  const coverage = new Set<string>();
  let stopReason: string | undefined;
  let restarts = 0;
  try {
    if (fus !== null && opts.fusionLearning !== false) {
      const known = learntFacts(program, opts);
      fus.touched.set(known.touched);
      fus.nonLock.set(known.nonLock);
    }
    phase("learn");
    // Every worker has rebuilt the program before the clock of the search starts.
    for (let ready = 0; ready < nW; ) {
      for (const [, m] of waitMessages(1000)) {
        if (m.type === "error") fail(m.message);
        if (m.type === "ready") ready++;
      }
    }
    phase("start");
    for (;;) {
      const queue: (WorkItem | null)[] = [null];
      const idle = new Set<number>(Array.from({ length: nW }, (_, w) => w));
      let stopping = false;
      let invalid = false;
      let error: string | undefined;
      let epoch = 0;
      Atomics.store(ctrl, C_STOP, 0);
      Atomics.store(ctrl, C_EXECS, 0);
      Atomics.store(ctrl, C_GIVE, 0);
      for (const k of SUM) (stats[k] as number) = 0;
      stats.maxDepth = 0;
      violations = [];
      coverage.clear();
      stopReason = undefined;
      const seenProps = new Set<string>();
      for (;;) {
        while (!stopping && queue.length > 0 && idle.size > 0) {
          const w = Math.min(...idle);
          idle.delete(w);
          send(w, { type: "item", item: queue.shift()! });
        }
        if (idle.size === nW && (stopping || queue.length === 0)) break;
        // Someone waits and nothing is queued: ask the busy workers for work (a new value each
        // time, so that each gives once per request).
        if (!stopping && idle.size > 0 && queue.length === 0) Atomics.store(ctrl, C_GIVE, ++epoch);
        else Atomics.store(ctrl, C_GIVE, 0);
        for (const [w, m] of waitMessages(50)) {
          if (m.type === "error") fail(m.message);
          if (m.type === "items") {
            if (!stopping) queue.push(...m.items);
          } else if (m.type === "idle") {
            idle.add(w);
            for (const k of SUM) (stats[k] as number) += m.stats[k] as number;
            stats.maxDepth = Math.max(stats.maxDepth, m.stats.maxDepth);
            for (const c of m.coverage) coverage.add(c);
            for (const v of m.violations) {
              if (seenProps.has(v.property)) continue;
              seenProps.add(v.property);
              violations.push(v);
              if (stats.firstViolationMs < 0) stats.firstViolationMs = Date.now() - t0;
            }
            if (m.invalid) invalid = true;
            if (m.error !== undefined) error ??= m.error;
            if (m.stopReason !== undefined && m.stopReason !== "stopped" && m.stopReason !== "fusion-restart" && stopReason === undefined) stopReason = m.stopReason;
          }
        }
        const budget = Atomics.load(ctrl, C_STOP) === 2;
        const timeUp = opts.timeLimitMs !== undefined && Date.now() - t0 >= opts.timeLimitMs;
        const asked = opts.shouldStop?.() === true;
        if (!stopping && (invalid || error !== undefined || stopReason !== undefined || budget || timeUp || asked || (violations.length > 0 && !opts.allViolations))) {
          stopping = true;
          if (!invalid && stopReason === undefined) stopReason = budget ? "max-executions" : timeUp ? "time-limit" : asked ? "interrupted" : undefined;
          Atomics.store(ctrl, C_STOP, 1);
          queue.length = 0;
        }
        if (opts.onProgress) opts.onProgress({ ...stats, executions: Atomics.load(ctrl, C_EXECS), statesStored: table.size, wallMs: Date.now() - t0 });
      }
      // An exception in a round that a false fusion fact invalidated is that round's (its paths may
      // have replayed differently); otherwise it is the search's.
      if (!invalid && error !== undefined) fail(error);
      if (!invalid) break;
      // A fusion relied on something now known false: start again, knowing more (as dfsExplore).
      restarts++;
      wastedExecutions += stats.executions;
      table.clear();
      for (let w = 0; w < nW; w++) send(w, { type: "restart" });
    }
    phase("search");
    stats.statesStored = table.size;
    stats.fusionRestarts = restarts;
    let stop = violations.length > 0 && !opts.allViolations;
    if (table.reached && stopReason === undefined && !stop) stopReason = "max-states";
    // Each worker's part of the state graph (when livelock is judged) and its profile.
    const judge = livelock && !stop && stopReason === undefined;
    for (let w = 0; w < nW; w++) send(w, { type: "graph", want: judge });
    const parts: StateGraphData[] = [];
    for (let got = 0; got < nW; ) {
      for (const [w, m] of waitMessages(1000)) {
        if (m.type === "error") fail(m.message);
        if (m.type === "graph") {
          got++;
          profiles[w] = m.profile;
          if (m.data !== null) parts.push(m.data);
        }
      }
    }
    phase("graph");
    if (judge) {
      // Judged on the parts as the workers sent them (no merged copy; docs/design.md "Livelock: the
      // component search"): the merge phase is only a livelock witness's, inside `livelock`.
      phase("merge");
      const j = StateGraph.findLivelockInParts(parts, opts.maxGraphEdges);
      parts.length = 0;
      if (j.truncated) stopReason = "max-graph-edges";
      else {
        const v = j.livelock === null ? undefined : livelockReplayed(program, j.livelock.schedule, opts.properties);
        phase("livelock");
        if (v) {
          if (stats.firstViolationMs < 0) stats.firstViolationMs = Date.now() - t0;
          violations.push(v);
          stop = !opts.allViolations;
        }
      }
    }
    // The violated properties in the program's order, whichever worker found which first.
    violations.sort((a, b) => program.properties.indexOf(a.property) - program.properties.indexOf(b.property));
    stats.wallMs = Date.now() - t0;
    stats.parallel = { phasesMs, phasesCpuMs, wastedExecutions, workers: profiles };
    const exhaustive = !stop && stopReason === undefined;
    const res: ExploreResult = {
      program: program.name,
      verdict: violations.length > 0 ? "violated" : exhaustive ? "verified" : "incomplete",
      exhaustive,
      violations,
      stats,
      coverage: [...coverage].sort(),
      notDecided: [],
    };
    if (stopReason !== undefined) res.stopReason = stopReason;
    completed = true;
    return res;
  } finally {
    // A search left by an exception may have workers still inside it: they are not reused.
    if (!completed) for (const t of threads) void t.worker.terminate();
    else {
      // Back to the spare threads once each has left the search (a worker still busy in an item
      // stops at its next execution: STOP is set whenever the search ends early).
      Atomics.store(ctrl, C_STOP, 1);
      for (let w = 0; w < nW; w++) send(w, { type: "end" });
      spare.push(...threads);
    }
  }
}

/** This thread's CPU time so far (ms; Linux schedstat), or 0 elsewhere. */
function threadCpuMs(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1e6;
  } catch {
    return 0;
  }
}

/** Cores this machine has (for messages; the search never decides by it). */
export function coreCount(): number {
  return cpus().length;
}
