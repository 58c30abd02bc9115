// What the coordinator of a parallel stateful search (search.ts) and its worker threads
// (worker.ts) share: the layout of the control block and the messages.
import type { Counterexample, ExploreOptions, ParallelProfile, Stats } from "../result.js";
import type { WorkItem } from "../schedulers/dfs.js";
import type { StateGraphData } from "../stategraph.js";
import type { SharedTableBuffers } from "./shared-fpset.js";

/**
 * How a worker thread rebuilds the program (programs hold code, so they are rebuilt, not sent):
 * `module`'s export `export`, called with `arg` (structured-cloneable).
 */
export interface ProgramSource {
  module: string;
  export: string;
  arg: unknown;
}

/** Control block (Int32Array over a SharedArrayBuffer). */
// Cells that are written often have a cache line (16 cells) of their own: the executions count
// (an atomic add per execution) and the message counter would otherwise make every worker's poll
// of STOP and GIVE miss its cache.
export const C_STOP = 0; // 0 go on; 1 stop (a violation, a stop request); 2 the executions budget
export const C_GIVE = 1; // != 0: idle workers wait; each worker gives work once per value
export const C_EXECS = 16; // executions run, all workers
export const C_EVT = 32; // bumped by a worker after each message to the coordinator
/** Cells of the control block. */
export const C_CELLS = 48;
/** Each thread's own wake cell (Int32Array(1) over a SharedArrayBuffer): bumped after each message to it. */

/** A deliberately broken sharing, for the tests that show the differential harness catches it. */
export type ParallelFault = "lost-insert" | "lost-work";

/** Given to a thread when it starts: its port and wake cell. Threads are kept for later searches. */
export interface ThreadInit {
  port: unknown;
  wake: SharedArrayBuffer;
}

/** One search: what a thread needs to take part. */
export interface WorkerInit {
  source: ProgramSource;
  index: number;
  table: SharedTableBuffers;
  maxStates: number;
  ctrl: SharedArrayBuffer;
  sleepSets: boolean;
  livelock: boolean;
  /** The plain-data part of the options (budgets, properties, switches). */
  opts: ExploreOptions;
  /** Fusion's learnt facts and reliances, shared (FusionState.share); null: no fusion. */
  fusion: SharedArrayBuffer | null;
  fault?: ParallelFault;
}

export type ToWorker = { type: "search"; init: WorkerInit } | { type: "item"; item: WorkItem | null } | { type: "restart" } | { type: "graph"; want: boolean } | { type: "end" };

export type FromWorker =
  | { type: "ready" }
  | { type: "items"; items: WorkItem[] }
  | {
      type: "idle";
      stats: Stats;
      violations: Counterexample[];
      coverage: string[];
      stopReason?: string;
      /** A fusion relied on a fact that turned out false: the search must start again. */
      invalid?: boolean;
      /** The item ended with an exception (an error of the search unless the round is started again). */
      error?: string;
    }
  | { type: "graph"; data: StateGraphData | null; profile: ParallelProfile["workers"][number] }
  | { type: "error"; message: string };
