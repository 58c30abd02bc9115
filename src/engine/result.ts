// What every strategy returns: verdict, counterexamples, statistics, coverage.
import type { Execution, Violation } from "./execution.js";
import { KIND_NAMES, K } from "./ops.js";
import { formatSchedule, type Schedule } from "./schedule.js";

export interface ExploreOptions {
  /** Stop after this many executions (complete or not). */
  maxExecutions?: number;
  /** Stop after this many stored states (state caching). */
  maxStates?: number;
  /** Wall-clock limit in milliseconds. */
  timeLimitMs?: number;
  /** Heap limit in MB (checked periodically). Depends on the GC: the CLI uses maxStates as a counted proxy instead. */
  maxMemoryMb?: number;
  /** Counted budget: steps in one execution (stop reason "max-steps"). */
  maxSteps?: number;
  /**
   * The stateful search under --workers (explore.ts): maxSteps does not cut its paths (the depth
   * at which a state is first reached depends on how the workers share the work, so the budget
   * would not decide alike for every N; every path is bounded by the states stored, which
   * maxStates counts). maxSteps still bounds the learning walks. docs/design.md.
   */
  unboundedPaths?: boolean;
  /** Counted budget: edges of the recorded state graph (state caching; stop reason "max-graph-edges"). */
  maxGraphEdges?: number;
  /** Only these properties are checked/reported (default: all). */
  properties?: readonly string[];
  /** Keep exploring after the first violation and report one counterexample per property. */
  allViolations?: boolean;
  /** Seed for randomized strategies. */
  seed?: number;
  /**
   * Fuse scheduling points that cannot matter (default on; fusion.ts, docs/design.md). Traces,
   * step tables and replay still show every model step.
   */
  fusion?: boolean;
  /**
   * Before an exhaustive search with fusion, a few seeded random walks learn which objects threads
   * share (default on). Tests switch it off to exercise the search's own restarts.
   */
  fusionLearning?: boolean;
  /**
   * Follow recorded thread-code segments instead of running thread code again (default on;
   * execution.ts, docs/design.md "Restoring threads"). Off: the reference the tests compare with
   * (every segment runs the code; going back re-feeds generators).
   */
  memo?: boolean;
  /** Test hook: a broken record (a segment followed whatever its code peeked), to show the tests catch it. */
  unsoundMemoForTests?: boolean;
  /** Test hook: an unsound fusion (every op treated as a right mover), to show the tests catch it. */
  unsoundFusionForTests?: boolean;
  /**
   * cache: persistent sets (schedulers/persistent.ts; docs/design.md "Persistent sets in the
   * stateful search"): a state explores only the threads of a persistent set, with the cycle
   * proviso; fewer states. Not while livelock is judged, nor with symmetry or several workers.
   */
  persistent?: boolean;
  /** Test hook: a deliberately broken persistent-set reduction, to show the tests catch it. */
  persistentFaultForTests?: import("./schedulers/persistent.js").PersistentFault;
  /** Test hook: every snapshot keeps a full copy of memory, and every restore checks that the undo trails gave it back. */
  checkRestoreForTests?: boolean;
  /**
   * Test hook (state caching): "immediate" checks every state's invariants after its step (the
   * reference); "no-initial-test" defers them without testing that the initial states satisfy
   * every invariant (broken: the tests must catch it). Default: deferred (Execution.deferChecks).
   */
  deferredChecksForTests?: "immediate" | "no-initial-test";
  /**
   * cache: a checked symmetry group (symmetry.ts, `Symmetry.of`); the visited set stores canonical
   * fingerprints. Not applied while livelock is judged (its analysis keeps thread identity).
   */
  symmetry?: import("./symmetry.js").Symmetry;
  /** Called every ~100 ms with the running statistics (progress lines). */
  onProgress?: (s: Stats) => void;
  /** An external stop request (Ctrl-C). */
  shouldStop?: () => boolean;
}

/** The parallel search's phases (wall ms, on the cell's thread) and each worker thread's time (docs/bench.md). */
export interface ParallelProfile {
  /** Wall time of each phase: threads ready (overlaps the learning walks), learning walks, search, graph parts collected, merged, livelock judged. */
  phasesMs: { start: number; learn: number; search: number; graph: number; merge: number; livelock: number };
  /** The cell's thread's CPU time in each phase (Linux schedstat; 0 elsewhere). */
  phasesCpuMs: { start: number; learn: number; search: number; graph: number; merge: number; livelock: number };
  /** Executions of search rounds a false fusion fact invalidated (thrown away). */
  wastedExecutions: number;
  /** Per worker thread, over this search: CPU and run-queue wait (Linux schedstat; -1 elsewhere), wall time exploring items and waiting for one, items explored. */
  workers: { tid: number; cpuMs: number; runqMs: number; busyMs: number; idleMs: number; items: number }[];
}

export interface Stats {
  strategy: string;
  /** Executions that ran to the end with every thread finished. */
  complete: number;
  /** Executions that ended with unfinished threads all blocked (deadlocks, whether reported or filtered). */
  blocked: number;
  /** Executions cut because they closed a cycle (a retry returning to a state on the current path). */
  cycles: number;
  /** Executions abandoned because every enabled thread was in the sleep set. */
  sleepPruned: number;
  /** Executions cut because they reached a state already stored (state caching). */
  cachePruned: number;
  /** Executions ended by a fatal violation. */
  violating: number;
  /** All executions started. */
  executions: number;
  /**
   * Visible steps executed (each explores something new). Going back to an earlier node restores a
   * snapshot; thread code is followed from its record, and a generator is rebuilt by re-feeding
   * only to run a segment never run before: `replaySteps` counts those re-fed values, which are
   * not steps and not included in `steps`.
   */
  steps: number;
  /**
   * Of `steps`, those run inside a fused step (fusion.ts), i.e. not preceded by a scheduling point.
   * `steps - fusedSteps` scheduling steps were taken.
   */
  fusedSteps: number;
  /** Times the exploration started again because a fusion relied on something found false. */
  fusionRestarts: number;
  replaySteps: number;
  statesStored: number;
  maxDepth: number;
  wallMs: number;
  /** Milliseconds until the first violation, or -1. */
  firstViolationMs: number;
  /**
   * cache under --workers N > 1: where the wall and CPU time went (parallel/search.ts). Machine- and
   * timing-dependent, like the executions under --workers: --json only, never in the matrix.
   */
  parallel?: ParallelProfile;
  /**
   * dpor: retry-loop iterations found to have had no net effect, after which their thread waits
   * (docs/design.md, "Retry loops in DPOR"). Absent for the other strategies.
   */
  awaits?: number;
  /**
   * cache with persistent sets: states expanded with a reduced set, states the cycle proviso
   * expanded fully, and times the search started again because a learnt footprint grew under a
   * reduction that relied on it. Absent when persistent sets are off.
   */
  por?: { reduced: number; proviso: number; restarts: number; livelockRounds?: number; forced?: number; quiet?: number };
  /**
   * The shallow-bug phase run before an exhaustive strategy (portfolio.ts): its executions and
   * steps (not included above unless it found the violation), its preemption bound, and whether
   * it found the violation reported. `probeStates`: the phase was not run, the stateful search
   * ended within this many stored states (portfolio.ts: the probe).
   */
  shallow?: { executions: number; steps: number; preemptions: number; found: boolean; probeStates?: number };
}

export function newStats(strategy: string): Stats {
  return {
    strategy, complete: 0, blocked: 0, cycles: 0, sleepPruned: 0, cachePruned: 0, violating: 0, executions: 0,
    steps: 0, fusedSteps: 0, fusionRestarts: 0, replaySteps: 0, statesStored: 0, maxDepth: 0, wallMs: 0, firstViolationMs: -1,
  };
}

export interface StepRecord {
  index: number;
  thread: number;
  threadName: string;
  op: string;
  object: string;
  /** Value read, formatted by the object's formatter (absent for pure writes). */
  read?: string;
  /** Value written (absent when nothing was written). */
  written?: string;
  label: string;
  choices?: number[];
  envFailure?: boolean;
}

export interface Counterexample {
  property: string;
  message: string;
  /** Replayable schedule string (see schedule.ts). */
  schedule: string;
  steps: StepRecord[];
  /** Livelocks: index of the first step of the repeating cycle. */
  cycleStart?: number;
  preemptions: number;
  thread: number;
}

export type Verdict = "verified" | "violated" | "incomplete" | "no-violation-found";

export interface ExploreResult {
  program: string;
  verdict: Verdict;
  /** The whole (reduced) state space was explored. */
  exhaustive: boolean;
  /** Why exploration stopped early, if it did (limit name). */
  stopReason?: string;
  violations: Counterexample[];
  stats: Stats;
  /** Labels of every step reached at least once, sorted. */
  coverage: string[];
  /**
   * Selected properties this strategy does not decide completely even when exhaustive (livelock
   * outside state caching: only cycles closed on the current path are judged). A "verified"
   * verdict says nothing about these.
   */
  notDecided: string[];
}

/** Count preemptions: switches away from a thread that could have continued. */
export function countPreemptions(tids: readonly number[], enabledBefore: readonly number[]): number {
  let p = 0;
  for (let i = 1; i < tids.length; i++) {
    const prev = tids[i - 1]!;
    if (tids[i] !== prev && (enabledBefore[i]! & (1 << prev)) !== 0) p++;
  }
  return p;
}

/**
 * The schedule of the first `upTo` events: one item per scheduling step, with the choices of all its
 * model steps and, for a fused step, how many model steps it ran (see schedule.ts).
 */
export function scheduleOf(ex: Execution, upTo = ex.length): Schedule {
  const steps: Schedule["steps"] = [];
  for (let i = 0; i < upTo; i++) {
    const n = ex.microStart(i + 1) - ex.microStart(i);
    const st: Schedule["steps"][number] = { tid: ex.evTid[i]!, choices: ex.evChoices[i] ?? [] };
    if (n !== 1) st.n = n;
    steps.push(st);
  }
  return { rootChoices: [...ex.rootChoices], steps };
}

/** Every model step of the first `upTo` events (a fused event contributes each of its model steps). */
export function stepRecords(ex: Execution, upTo = ex.length): StepRecord[] {
  const w = ex.program.world;
  const out: StepRecord[] = [];
  const end = ex.microStart(upTo);
  for (let i = 0; i < end; i++) {
    const op = ex.mOp[i]!;
    const k = op.k;
    const t = ex.mTid[i]!;
    const objs = op.objs;
    const obj = objs ? objs.map((o) => w.name(o)).join(",") : w.name(op.o);
    const fmt = objs ? String : (w.objs[op.o]?.fmt ?? String);
    const rec: StepRecord = { index: i, thread: t, threadName: ex.program.threads[t]!.name, op: KIND_NAMES[k]!, object: obj, label: op.label };
    if (k === K.Load || k === K.Cas || k === K.Xchg || k === K.Rmw || k === K.WaitLoad) rec.read = fmt(ex.mRead[i]!);
    if (k === K.TryEx || k === K.TryShared) rec.read = ex.mRead[i] ? "acquired" : "busy";
    if (ex.mWrite[i] !== 0x7fffffff && !(k === K.Lock || k === K.Unlock || k === K.WAnnounce || k === K.WAcquire || k === K.WUnlock || k === K.TryEx || k === K.ReleaseEx))
      rec.written = fmt(ex.mWrite[i]!);
    const ch = ex.mChoices[i];
    if (ch) rec.choices = [...ch];
    if (ex.mEnvFail[i]) rec.envFailure = true;
    out.push(rec);
  }
  return out;
}

export function makeCounterexample(ex: Execution, v: Violation, enabledBefore: readonly number[]): Counterexample {
  const upTo = Math.min(v.step, ex.length);
  const c: Counterexample = {
    property: v.property,
    message: v.message,
    schedule: formatSchedule(scheduleOf(ex, upTo)),
    steps: stepRecords(ex, upTo),
    preemptions: countPreemptions(Array.from({ length: upTo }, (_, i) => ex.evTid[i]!), enabledBefore.slice(0, upTo)),
    thread: v.thread,
  };
  // Events and model steps differ when steps were fused: the cycle starts at a model step.
  if (v.cycleStart !== undefined) c.cycleStart = ex.microStart(v.cycleStart);
  return c;
}
