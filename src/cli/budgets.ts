// Counted budgets: what may stop a run. A verdict depends only on the scenario, the preset and the
// options, never on the machine: every budget that stops a run is a count (executions, stored
// states, steps in one execution, state-graph edges, and memory as stored states x bytes per state),
// checked at the same point of the same exploration whatever the load. A wall-clock limit exists
// only when the user gives --time-limit; hitting it is "stopped by time, no verdict" (exit 3).
//
// Defaults: every built-in cell (and every engine demo) finishes under them with at least 5x
// margin (test/cli/budgets.test.ts measures the largest cell and checks the margin).
// Other commands that explore (simulate, ablate, view) MUST take their budgets from here.

/** The counted budgets of one run. */
export interface Budgets {
  maxExecutions: number;
  maxStates: number;
  /** Steps in one execution (also bounds a replayed schedule's length). */
  maxSteps: number;
  maxGraphEdges: number;
  /** Memory, counted: stored states x BYTES_PER_STATE, in MiB. */
  maxMemoryMb: number;
}

/**
 * Bytes one stored state costs, counted, not measured: the fingerprint set's slot (8 bytes of
 * fingerprint + 4 of id at a load of at most 3/4, doubled when it grows: at most 32), the state
 * graph's per-state arrays (8, doubled: 16) and its edges, 12 bytes each (stategraph.ts), about
 * three per state on the KVM model (zap and convert K = 3: 3.2 and 3.3), doubled when the arrays
 * grow (72): 120, rounded up to leave room for models with more edges per state. Checked in
 * session 5 (docs/bench.md): zap K = 3 peaks at about 150 bytes of resident memory per stored
 * state with the heap, code and thread records included.
 */
export const BYTES_PER_STATE = 160;

/**
 * The largest built-in cell (removal-vs-zero-step, exhaustive+cache) takes about 40 000 executions,
 * 46 000 states, 85 000 steps in all and 423 steps in its longest execution; these defaults are at
 * least 20x that.
 */
export const DEFAULT_BUDGETS: Budgets = {
  maxExecutions: 1_000_000,
  maxStates: 1_000_000,
  maxSteps: 10_000,
  maxGraphEdges: 5_000_000,
  maxMemoryMb: 512,
};

/** The option that raises each budget, and what it counts. */
export const BUDGET_INFO: Record<string, { option: string; unit: string; key: keyof Budgets }> = {
  "max-executions": { option: "--max-executions", unit: "executions", key: "maxExecutions" },
  "max-states": { option: "--max-states", unit: "stored states", key: "maxStates" },
  "max-steps": { option: "--max-steps", unit: "steps in one execution", key: "maxSteps" },
  "max-graph-edges": { option: "--max-graph-edges", unit: "state-graph edges", key: "maxGraphEdges" },
  "max-memory": { option: "--max-memory", unit: "MiB of stored states (counted)", key: "maxMemoryMb" },
};

/** States the memory budget allows. */
export function statesForMemory(mb: number): number {
  return Math.max(1, Math.floor((mb * 1048576) / BYTES_PER_STATE));
}

/** Why a run stopped, in words, with how to go further. `value` is the budget that was hit. */
export function describeStop(reason: string | undefined, b: Partial<Budgets> & { timeLimitMs?: number }): string {
  if (reason === undefined) return "stopped";
  if (reason === "time-limit") return `stopped by time (--time-limit ${Math.round((b.timeLimitMs ?? 0) / 1000)} s), no verdict`;
  if (reason === "interrupted") return "interrupted (Ctrl-C), no verdict";
  if (reason === "not run (interrupted)") return "not run (interrupted)";
  const info = Object.prototype.hasOwnProperty.call(BUDGET_INFO, reason) ? BUDGET_INFO[reason] : undefined;
  if (!info) return `stopped by ${reason}, no verdict`;
  const v = b[info.key] ?? DEFAULT_BUDGETS[info.key];
  return `stopped by the ${reason} budget (${v} ${info.unit}), no verdict; raise it with ${info.option}`;
}
