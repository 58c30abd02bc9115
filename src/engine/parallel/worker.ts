// A worker thread of the parallel stateful search (search.ts). It waits for a search, rebuilds the
// program, then explores the subtrees the coordinator hands it against the shared visited set
// until the search ends; then it waits for the next search (threads are kept: starting one costs
// more than a small search). Everything is synchronous: messages are read with
// receiveMessageOnPort while waiting on the thread's wake cell, so a busy worker's only cost of
// sharing is one atomic add and a few loads per execution.
import { readFileSync, readlinkSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { FusionState } from "../fusion.js";
import type { Program } from "../program.js";
import { newStats } from "../result.js";
import { dfsRun, type WorkItem } from "../schedulers/dfs.js";
import { StateGraph, partCsr } from "../stategraph.js";
import { C_CELLS, C_EVT, C_EXECS, C_GIVE, C_STOP, type FromWorker, type ThreadInit, type ToWorker, type WorkerInit } from "./protocol.js";
import { SharedFingerprintSet } from "./shared-fpset.js";

const thread = workerData as ThreadInit;
const port = thread.port as MessagePort;
const wake = new Int32Array(thread.wake);
let ctrl = new Int32Array(new SharedArrayBuffer(4 * C_CELLS));

function send(m: FromWorker): void {
  port.postMessage(m);
  Atomics.add(ctrl, C_EVT, 1);
  Atomics.notify(ctrl, C_EVT);
}

/** Wall time this thread spent waiting for a message (the profile's idle time). */
let waitedMs = 0;

function receive(): ToWorker {
  for (;;) {
    const seen = Atomics.load(wake, 0);
    const m = receiveMessageOnPort(port);
    if (m !== undefined) return m.message as ToWorker;
    const t = performance.now();
    Atomics.wait(wake, 0, seen);
    waitedMs += performance.now() - t;
  }
}

/** This thread's kernel id (Linux), or -1. */
function threadId(): number {
  try {
    return Number(readlinkSync("/proc/thread-self").split("/").pop());
  } catch {
    return -1;
  }
}

/** This thread's CPU time and run-queue wait so far (ns; Linux schedstat), or null elsewhere. */
function schedNs(): [number, number] | null {
  try {
    const f = readFileSync("/proc/thread-self/schedstat", "utf8").split(" ");
    return [Number(f[0]), Number(f[1])];
  } catch {
    return null;
  }
}

/** Executions added to the shared count at once. */
const EXEC_BATCH = 64;

const modules = new Map<string, Record<string, (arg: unknown) => Program>>();

async function search(init: WorkerInit): Promise<void> {
  ctrl = new Int32Array(init.ctrl);
  let program: Program;
  try {
    let mod = modules.get(init.source.module);
    if (mod === undefined) {
      mod = (await import(init.source.module)) as Record<string, (arg: unknown) => Program>;
      modules.set(init.source.module, mod);
    }
    program = mod[init.source.export]!(init.source.arg);
  } catch (e) {
    send({ type: "error", message: e instanceof Error ? e.message : String(e) });
    return;
  }
  const visited = new SharedFingerprintSet(init.table, init.maxStates);
  if (init.fault === "lost-insert" && init.index === 1) visited.loseInserts();
  const fus = init.fusion !== null ? new FusionState(program) : null;
  fus?.share(init.fusion!);
  let graph = init.livelock ? new StateGraph(init.opts.maxGraphEdges) : null;
  let given = 0;
  const maxExec = init.opts.maxExecutions;
  // Executions are added to the shared count in batches (an atomic add per execution made the
  // count's cache line travel between the cores at every execution), and at the end of each item.
  // Exact all the same, as in one worker (dfsRun stops when a next execution is due after
  // `maxExec`): the count passes `maxExec` iff the search needs more than `maxExec` executions in
  // all, and then the search stops (at most a batch per worker later) and says so; a search that
  // needs at most `maxExec` never sets it. The executions are those of one worker when POR is off
  // (each state is expanded once); with POR on they are not, and the budget does not apply
  // (docs/design.md).
  let unflushed = 0;
  const flush = (): void => {
    if (unflushed === 0) return;
    const e = Atomics.add(ctrl, C_EXECS, unflushed) + unflushed;
    unflushed = 0;
    if (maxExec !== undefined && e > maxExec) Atomics.compareExchange(ctrl, C_STOP, 0, 2);
  };
  const poll = (): "stop" | "give" | "go" => {
    if (++unflushed >= EXEC_BATCH) flush();
    if (Atomics.load(ctrl, C_STOP) !== 0) return "stop";
    const g = Atomics.load(ctrl, C_GIVE);
    if (g !== 0 && g !== given) {
      given = g;
      return "give";
    }
    return "go";
  };
  const give = (items: WorkItem[]): void => {
    if (init.fault === "lost-work" && init.index === 0) return;
    send({ type: "items", items });
  };
  const cfg = { mode: "exhaustive" as const, sleepSets: init.sleepSets, stateCaching: true };
  const opts = { ...init.opts, maxExecutions: undefined };
  send({ type: "ready" });
  const sched0 = schedNs();
  waitedMs = 0;
  let busyMs = 0;
  let items = 0;
  for (;;) {
    const m = receive();
    if (m.type === "end") return;
    if (m.type === "search") throw new Error("internal: a search while one runs");
    if (m.type === "restart") {
      // The coordinator cleared the table: ids start again from 0.
      visited.resetIds();
      if (fus !== null) fus.invalid = false;
      graph = init.livelock ? new StateGraph(init.opts.maxGraphEdges) : null;
      given = 0;
      continue;
    }
    if (m.type === "graph") {
      // The part's own arrays (views of them) are moved to the coordinator, not copied.
      const data = m.want ? (graph?.toData(false) ?? null) : null;
      // The part's livelock adjacency is built here, all workers at once (the coordinator joins them).
      if (data !== null) data.csr = partCsr(data);
      const moved = data === null ? [] : [...new Set([data.from, data.to, data.meta, data.chEdge, data.chPos, data.pool, data.enabled, data.parentEdge, data.csr!.deg, data.csr!.to].map((a) => a.buffer as ArrayBuffer))];
      const s1 = schedNs();
      const profile = {
        tid: threadId(),
        cpuMs: s1 !== null && sched0 !== null ? Math.round((s1[0] - sched0[0]) / 1e6) : -1,
        runqMs: s1 !== null && sched0 !== null ? Math.round((s1[1] - sched0[1]) / 1e6) : -1,
        busyMs: Math.round(busyMs),
        idleMs: Math.round(waitedMs),
        items,
      };
      port.postMessage({ type: "graph", data, profile } satisfies FromWorker, moved);
      Atomics.add(ctrl, C_EVT, 1);
      Atomics.notify(ctrl, C_EVT);
      graph = null;
      continue;
    }
    try {
      // Counted in while it may probe the table (a thread that grows it waits for the others to leave).
      visited.enter();
      const t = performance.now();
      items++;
      let r;
      try {
        r = dfsRun(program, cfg, opts, fus, { visited, graph, start: m.item, poll, give });
      } finally {
        visited.leave();
        flush();
        busyMs += performance.now() - t;
      }
      const out: FromWorker = { type: "idle", stats: r.stats, violations: r.violations, coverage: r.coverage };
      if (r.stopReason !== undefined) out.stopReason = r.stopReason;
      if (fus !== null && fus.invalid) out.invalid = true;
      send(out);
    } catch (e) {
      // Still idle for the coordinator; it decides whether the error ends the search (it does not
      // when a fusion turned out false in this round: the path replayed may have run differently).
      send({ type: "idle", stats: newStats("cache"), violations: [], coverage: [], error: e instanceof Error ? (e.stack ?? e.message) : String(e), ...(fus !== null && fus.invalid ? { invalid: true } : {}) });
    }
  }
}

async function main(): Promise<void> {
  for (;;) {
    const m = receive();
    if (m.type === "search") await search(m.init);
  }
}

void main();
