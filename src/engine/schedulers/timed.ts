// A timed scheduler: one run of a program as a discrete-event simulation.
//
// Every thread runs on a simulated CPU; every visible step takes time given by a cost callback, so
// what the exhaustive strategies treat as an order becomes a timeline: a lock is held from the step
// that took it to the step that released it, plus the cost of every step in between. The program
// is the same (the same thread code, the same ops, the same World); only the choice of the next
// step differs: the thread whose current step finishes first goes next.
//
//  - CPUs: `cpus` physical CPUs. A thread that is not sleeping occupies one. With more threads
//    than CPUs the run queue is served round robin with a time slice, at step boundaries, and a
//    thread that holds a lock-type object (spinlock, rwlock, try-lock) is not preempted (the kernel
//    runs spinlock holders and SEAMCALLs with preemption off).
//  - Blocked ops: the cost callback says whether a wait spins (the thread keeps its CPU and burns
//    it: rwlock, spinlock, an entry gate polled in a loop) or sleeps (the thread gives its CPU up
//    until the op is enabled again: a mutex, a wait queue). A waiter re-tries `handoff` ns after
//    the write that enabled it.
//  - Choices are resolved by the cost callback with the run's seeded generator.
//  - Deterministic given the seed: ties are broken by a seeded jitter and then by thread id.
//
// Checks: assertions, reported events (KVM_BUG_ON sites), invariants after steps that wrote their
// footprint, quiescent invariants on the keys a step wrote (when no window is open on them), final
// invariants at the end, deadlock. No fingerprints, no dependence bookkeeping, no event arrays:
// the schedule (thread of each step and each choice outcome) is kept in typed arrays so that a
// finding can be replayed by the `replay` strategy.
//
// This file knows nothing of any model; it uses only the engine's public types.
import { execOp, lockDelta, opState } from "../exec-op.js";
import { K, M, type Op } from "../ops.js";
import type { Program, ThreadApi } from "../program.js";
import type { Schedule } from "../schedule.js";

/** How long things take and how choices fall: supplied by the model's cost model. */
export interface TimedCosts {
  /**
   * Nanoseconds thread `tid` spends after `op` (which returned `result`) before its next op `next`
   * (null if it finished) can run. Called after the step and the local code that follows it ran,
   * so a cost model can charge work that happens under a lock to the step before the release.
   */
  stepCost(tid: number, op: Op, result: number, next: Op | null): number;
  /** Whether a thread blocked on `op` spins on its CPU (true) or sleeps (false). */
  spins(op: Op): boolean;
  /** Outcome of a `k`-way choice; `u` is a uniform draw in [0, 1) from the run's generator. */
  choose(tid: number, k: number, op: Op, u: number): number;
}

/** What a run reports as it goes (metrics are the caller's). */
export interface TimedObserver {
  /** A step ran: thread, op, result, start time, duration, and how long the thread waited for it to be enabled. */
  step?(tid: number, op: Op, result: number, start: number, dur: number, waited: number): void;
  /** A choice was resolved inside the local code after a step (or at the start: `start` 0). */
  choice?(tid: number, op: Op, outcome: number, time: number): void;
  /**
   * Thread code called ThreadApi.progress() (a completed operation). Returning false says the
   * operation is not forward progress for the stall budget (e.g. a fault that changed nothing).
   */
  progress?(tid: number, time: number): boolean | void;
  /** A thread finished. */
  done?(tid: number, time: number): void;
}

export interface TimedOptions {
  costs: TimedCosts;
  /** Physical CPUs (default: one per thread). */
  cpus?: number;
  seed?: number;
  /** Relative jitter of every step's cost: a factor drawn uniformly in [1 - j, 1 + j] (default 0). */
  jitter?: number;
  /** Time slice for round-robin scheduling when threads outnumber CPUs (ns, default 1 ms). */
  slice?: number;
  /** Latency from the write that enables a blocked op to the waiter's next attempt (ns, default 50). */
  handoff?: number;
  /** Stop after this many steps (a counted budget: the run then ends with `limit`). */
  maxSteps?: number;
  /**
   * End the run with `stalled` when this many consecutive steps pass without any thread completing
   * an operation (ThreadApi.progress() that the observer does not disown) or finishing: a counted budget (default: none). A livelock
   * (threads stepping forever without progress) ends here instead of at maxSteps.
   */
  stallSteps?: number;
  /** Check always-invariants only every `stride`-th step that wrote their footprint (default 1: every one). */
  invariantStride?: number;
  /** Properties to check (default: all). */
  properties?: readonly string[];
  /** Keep the schedule for replay (default true): each violation carries the schedule up to it. */
  recordSchedule?: boolean;
  /** Also return the whole schedule of the run in the result (default false; implies recordSchedule). */
  returnSchedule?: boolean;
  /** End the run at the first fatal violation (default true). */
  stopOnFatal?: boolean;
  observer?: TimedObserver;
}

export interface TimedViolation {
  property: string;
  message: string;
  thread: number;
  /** Steps executed when it was found. */
  step: number;
  /** Simulated time (ns) when it was found. */
  time: number;
  fatal: boolean;
  /** The schedule up to and including the step that revealed it (when recorded). */
  schedule?: Schedule;
}

export interface TimedResult {
  /** Simulated time at the end (ns). */
  time: number;
  steps: number;
  /** Per thread: CPU time used (running steps and spinning), time spent sleeping, finish time. */
  cpuTime: number[];
  sleepTime: number[];
  finishTime: number[];
  violations: TimedViolation[];
  /**
   * done = every thread finished; deadlock; limit = maxSteps reached; stalled = stallSteps steps
   * without any operation completing; fatal = a fatal violation ended it.
   */
  end: "done" | "deadlock" | "limit" | "stalled" | "fatal";
  /** Steps executed when an operation last completed (progress() or a thread finishing). */
  lastProgressStep: number;
  /** The whole schedule (with returnSchedule). */
  schedule?: Schedule;
}

class TimedAssertion extends Error {
  constructor(
    readonly property: string,
    message: string,
  ) {
    super(message);
  }
}

/** splitmix32: small, fast, and the same on every platform. */
export function rng32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}

// Thread states.
const RUN = 0; // on a CPU, its next op is due at `due`
const SPIN = 1; // on a CPU, blocked, burning it
const SLEEP = 2; // off CPU, blocked
const READY = 3; // runnable, waiting for a CPU
const DONE = 4;

/** A growable Int32Array. */
class IntLog {
  a = new Int32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

/**
 * A growable Uint8Array: the per-step schedule (thread id, choices made), a byte each. A 20 M-step
 * run (a 1 GiB TD boot) keeps 40 MB instead of 160 MB, which also spares the garbage collector the
 * external-memory pressure that triggers full collections of a large heap.
 */
class ByteLog {
  a = new Uint8Array(4096);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Uint8Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  /** Add one to the last entry (a step's choice count); more than 255 choices in one step is refused. */
  bumpLast(): void {
    if (this.a[this.n - 1] === 255) throw new Error("timed scheduler: more than 255 choices in one step");
    this.a[this.n - 1]!++;
  }
}

/** Run `program` once under the timed scheduler. */
export function timedRun(program: Program, opts: TimedOptions): TimedResult {
  const n = program.threads.length;
  const costs = opts.costs;
  const cpus = Math.max(1, Math.min(opts.cpus ?? n, n));
  const rand = rng32(opts.seed ?? 1);
  const jitter = opts.jitter ?? 0;
  const slice = opts.slice ?? 1_000_000;
  const handoff = opts.handoff ?? 50;
  const maxSteps = opts.maxSteps ?? Number.MAX_SAFE_INTEGER;
  const stallSteps = opts.stallSteps ?? Number.MAX_SAFE_INTEGER;
  let lastProgress = 0;
  const stride = Math.max(1, opts.invariantStride ?? 1);
  const record = opts.recordSchedule !== false || opts.returnSchedule === true;
  const stopOnFatal = opts.stopOnFatal !== false;
  const props = opts.properties ? new Set(opts.properties) : null;
  const sel = (p: string): boolean => props === null || props.has(p);
  const obs = opts.observer ?? {};
  const world = program.world;
  world.reset();
  const mem = world.mem;

  // Invariant footprints: per object, the always-invariants that read it; per quiescent
  // invariant, object -> keys.
  // An invariant with an incremental form (Invariant.incremental) is told each written object
  // and asked after the step instead of being re-evaluated whole.
  const invs = program.invariants.filter((i) => sel(i.name) && i.incremental === undefined);
  const incs = program.invariants.filter((i) => sel(i.name) && i.incremental !== undefined).map((i) => ({ name: i.name, ic: i.incremental!() }));
  // Per object, the incremental invariants whose footprint holds it (bit i: incs[i]).
  const objInc = new Int32Array(world.objs.length);
  program.invariants
    .filter((i) => sel(i.name) && i.incremental !== undefined)
    .forEach((inv, i) => {
      for (const o of inv.objs ?? world.objs.map((x) => x.id)) objInc[o]! |= 1 << i % 31;
    });
  const objInv = new Int32Array(world.objs.length);
  invs.forEach((inv, i) => {
    for (const o of inv.objs ?? world.objs.map((x) => x.id)) objInv[o]! |= 1 << i % 31;
  });
  const qs = program.quiescent.filter((q) => sel(q.name));
  const qKeySets = qs.map((q) => new Set(q.keys));
  // Per quiescent invariant, indexed by object id: the keys whose footprint holds the object, in
  // the order of q.keys, as one table (keys of object o: keys[start[o]] .. keys[start[o + 1] - 1]).
  // An array per object made a 1 GiB TD keep ~1.6 M small arrays alive for the garbage collector.
  const qObjKeys = qs.map((q) => {
    const nObj = world.objs.length;
    const start = new Int32Array(nObj + 1);
    const pairObj = new IntLog();
    const pairKey: number[] = [];
    for (const key of q.keys)
      for (const o of q.objsOf(key)) {
        start[o + 1]!++;
        pairObj.push(o);
        pairKey.push(key);
      }
    for (let o = 0; o < nObj; o++) start[o + 1]! += start[o]!;
    const keys = new Float64Array(pairKey.length);
    const fill = start.slice(0, nObj);
    for (let j = 0; j < pairKey.length; j++) keys[fill[pairObj.a[j]!]!++] = pairKey[j]!;
    return { start, keys };
  });
  /** Check quiescent invariant qi on key k: 0 it holds (or a window is open on k), 1 it failed, 2 it failed fatally. */
  const qCheckKey = (qi: number, k: number, t: number): number => {
    if ((windows.get(k) ?? 0) > 0) return 0;
    const q = qs[qi]!;
    const msg = q.check(k);
    if (msg === null) return 0;
    addViolation(q.name, msg, t, true);
    return fatal ? 2 : 1;
  };
  /** Check quiescent invariant qi on the keys of object o (static, then dynamic), in order, up to the first failure. */
  const qCheckObj = (qi: number, o: number, t: number): number => {
    if (o >= 0) {
      const { start, keys } = qObjKeys[qi]!;
      for (let j = start[o]!, e = start[o + 1]!; j < e; j++) {
        const r = qCheckKey(qi, keys[j]!, t);
        if (r !== 0) return r;
      }
    }
    const dk = qs[qi]!.dynamicKeysOf?.(o);
    if (dk)
      for (const k of dk) {
        const r = qCheckKey(qi, k, t);
        if (r !== 0) return r;
      }
    return 0;
  };

  // Run state.
  let now = 0;
  let steps = 0;
  let fatal = false;
  const violations: TimedViolation[] = [];
  const state = new Int8Array(n);
  const due = new Float64Array(n);
  const blockedSince = new Float64Array(n).fill(-1);
  /** NaN while a step's local code runs (a thread finishing then is accounted by the step loop). */
  let stepEnd = 0;
  const onCpuSince = new Float64Array(n);
  const cpuTime = new Array<number>(n).fill(0);
  const sleepTime = new Array<number>(n).fill(0);
  const finishTime = new Array<number>(n).fill(0);
  const locksHeld = new Int32Array(n);
  const pending: (Op | null)[] = new Array<Op | null>(n).fill(null);
  const windows = new Map<number, number>();
  const exited: number[] = [];
  const runQueue: number[] = [];
  let freeCpus = cpus;
  let invDirty = 0;
  let invCount = 0;

  // Schedule: per step, its thread and how many choices its local code made; choice outcomes in order.
  // Thread ids are below 31 (defineProgram allows at most 30 threads): a byte each.
  const schedTid = new ByteLog();
  const schedNChoice = new ByteLog();
  const choiceLog = new IntLog();
  const rootChoices: number[] = [];
  let curStep = -1;

  const scheduleUpTo = (nSteps: number): Schedule => {
    const out: Schedule = { rootChoices: rootChoices.slice(), steps: [] };
    let c = 0;
    for (let i = 0; i < nSteps; i++) {
      const k = schedNChoice.a[i]!;
      const choices: number[] = [];
      for (let j = 0; j < k; j++) choices.push(choiceLog.a[c + j]!);
      c += k;
      out.steps.push({ tid: schedTid.a[i]!, choices });
    }
    return out;
  };

  const addViolation = (property: string, message: string, thread: number, isFatal: boolean): void => {
    if (!sel(property)) return;
    if (isFatal && stopOnFatal) fatal = true;
    if (violations.some((v) => v.property === property)) return;
    const v: TimedViolation = { property, message, thread, step: steps, time: now, fatal: isFatal };
    if (record) v.schedule = scheduleUpTo(steps);
    violations.push(v);
  };

  const ctxs: ThreadApi[] = program.threads.map((spec, id) => ({
    id,
    name: spec.name,
    assert(cond: boolean, message: string, property = "assertion"): asserts cond {
      if (!cond) throw new TimedAssertion(property, message);
    },
    report(property: string, message: string): void {
      addViolation(property, message, id, false);
    },
    enter(key: number): void {
      windows.set(key, (windows.get(key) ?? 0) + 1);
    },
    exit(key: number): void {
      const c = (windows.get(key) ?? 0) - 1;
      if (c < 0) throw new Error(`window ${key} exited more often than entered`);
      // Only open windows are kept: the map stays small when a large TD's run opens one per entry.
      if (c === 0) windows.delete(key);
      else windows.set(key, c);
      exited.push(key);
    },
    loopHead(): void {},
    progress(): void {
      if (obs.progress?.(id, now) !== false) lastProgress = steps;
    },
  }));
  const gens = program.threads.map((spec, i) => spec.body(ctxs[i]!));

  const isEnabled = (op: Op): boolean => {
    switch (op.k) {
      case K.Wait:
        return op.pred!();
      case K.WaitLoad:
        return op.vpred!(mem[op.s]!);
      case K.Lock:
      case K.RLock:
      case K.WAnnounce:
        return mem[op.s] === 0;
      case K.WAcquire:
        return mem[op.s + 1] === 0;
      default:
        return true;
    }
  };

  /** Run thread t's local code with value v up to its next op (resolving choices). */
  const resume = (t: number, v: number): void => {
    const gen = gens[t]!;
    world.current = ctxs[t]!;
    let val = v;
    for (;;) {
      let res: IteratorResult<Op, void>;
      try {
        res = gen.next(val);
      } catch (err) {
        // A model that throws "model limit: ..." (a fixed-size table or encoding it cannot grow)
        // ends the run as an assertion would: the caller reads it as past what the model holds,
        // not as a crash of the simulator.
        if (err instanceof TimedAssertion || (err instanceof Error && err.message.startsWith("model limit:"))) {
          addViolation(err instanceof TimedAssertion ? err.property : "assertion", err.message, t, true);
          finish(t);
          return;
        }
        throw err;
      }
      if (res.done) {
        finish(t);
        return;
      }
      const op = res.value;
      if (op.k === K.Choice) {
        const c = costs.choose(t, op.a, op, rand());
        if (!(c >= 0 && c < op.a)) throw new Error(`cost model chose ${c} for a ${op.a}-way choice '${op.label}'`);
        if (record) {
          if (curStep < 0) rootChoices.push(c);
          else {
            choiceLog.push(c);
            schedNChoice.bumpLast();
          }
        }
        obs.choice?.(t, op, c, now);
        val = c;
        continue;
      }
      pending[t] = op;
      return;
    }
  };

  const finish = (t: number): void => {
    pending[t] = null;
    lastProgress = steps;
    const wasOnCpu = state[t] === RUN || state[t] === SPIN;
    state[t] = DONE;
    // Inside a step, the step loop frees the CPU once the step's own time is known.
    if (Number.isNaN(stepEnd)) return;
    if (wasOnCpu) {
      cpuTime[t]! += now - onCpuSince[t]!;
      freeCpus++;
    }
    finishTime[t] = now;
    obs.done?.(t, now);
  };

  const lockMisuse = (t: number, op: Op, msg: string): void => addViolation("assertion", `${msg}: ${op.label} on ${world.name(op.o)}`, t, true);

  /**
   * Execute t's pending op (it is enabled) with the engine's shared executor (exec-op.ts, the same
   * semantics as the checker's) and return its result; `lastWrote` says whether it wrote (a
   * shared-mode lock change counts: a waiter may be enabled by it).
   */
  let lastWrote = false;
  const xs = opState(mem, false);
  const exec = (t: number, op: Op): number => {
    const r = execOp(xs, t, op);
    if (xs.misuse !== null) {
      lockMisuse(t, op, xs.misuse);
      xs.misuse = null;
    }
    locksHeld[t]! += lockDelta(op, r);
    lastWrote = xs.mode !== M.R;
    return r;
  };

  const check = (t: number, op: Op): void => {
    if (!lastWrote && exited.length === 0 && invDirty === 0) return;
    if (lastWrote) {
      if (invs.length > 0) {
        let bits = 0;
        if (op.objs) for (const o of op.objs) bits |= objInv[o]!;
        else if (op.o >= 0) bits = objInv[op.o]!;
        invDirty |= bits;
      }
      for (let i = 0; i < incs.length; i++) {
        const ic = incs[i]!.ic;
        const bit = 1 << i % 31;
        let any = false;
        if (op.objs) {
          for (const o of op.objs)
            if ((objInc[o]! & bit) !== 0) {
              ic.wrote(o);
              any = true;
            }
        } else if (op.o >= 0 && (objInc[op.o]! & bit) !== 0) {
          ic.wrote(op.o);
          any = true;
        }
        if (!any) continue;
        const msg = ic.check();
        if (msg !== null) {
          addViolation(incs[i]!.name, msg, t, true);
          if (fatal) return;
        }
      }
    }
    if (invDirty !== 0 && ++invCount >= stride) {
      invCount = 0;
      const d = invDirty;
      invDirty = 0;
      for (let i = 0; i < invs.length; i++) {
        if ((d & (1 << i % 31)) === 0) continue;
        const msg = invs[i]!.check();
        if (msg !== null) {
          addViolation(invs[i]!.name, msg, t, true);
          if (fatal) return;
        }
      }
    }
    // Per invariant, the keys the written objects' footprints hold (each object's static keys, then
    // its dynamic ones), then the keys whose window just closed; checked in that order up to the
    // first failure.
    for (let qi = 0; qi < qs.length; qi++) {
      let r = 0;
      if (lastWrote) {
        if (op.objs) {
          for (const o of op.objs) {
            r = qCheckObj(qi, o, t);
            if (r !== 0) break;
          }
        } else r = qCheckObj(qi, op.o, t);
      }
      if (r === 0 && exited.length > 0) {
        const set = qKeySets[qi]!;
        for (const k of exited)
          if (set.has(k)) {
            r = qCheckKey(qi, k, t);
            if (r !== 0) break;
          }
      }
      if (r === 2) return;
    }
    if (exited.length > 0) exited.length = 0;
  };

  // Priority queue of (due, tid) for threads in state RUN: a binary heap of tids.
  const heap: number[] = [];
  const less = (a: number, b: number): boolean => due[a]! < due[b]! || (due[a] === due[b] && a < b);
  const push = (t: number): void => {
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      const x = heap[i]!;
      heap[i] = heap[p]!;
      heap[p] = x;
      i = p;
    }
  };
  /** Restore the heap order below the root (its key grew, or it was replaced). */
  const siftDownTop = (): void => {
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && less(heap[l]!, heap[m]!)) m = l;
      if (r < n && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      const x = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = x;
      i = m;
    }
  };
  /** Remove the root (the thread whose step is due first). */
  const popTop = (): void => {
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      siftDownTop();
    }
  };

  const dispatch = (t: number, at: number): void => {
    // t gets a CPU at time `at`.
    freeCpus--;
    state[t] = RUN;
    onCpuSince[t] = at;
    due[t] = at;
    push(t);
  };
  const wantCpu = (t: number, at: number): void => {
    if (freeCpus > 0) dispatch(t, at);
    else {
      state[t] = READY;
      due[t] = at;
      runQueue.push(t);
    }
  };
  const releaseCpu = (t: number, at: number): void => {
    cpuTime[t]! += at - onCpuSince[t]!;
    freeCpus++;
  };
  const fillCpus = (at = now): void => {
    while (freeCpus > 0 && runQueue.length > 0) {
      const t = runQueue.shift()!;
      dispatch(t, Math.max(at, due[t]!));
    }
  };

  // Start: every thread runs to its first op (root choices), then the first `cpus` get a CPU.
  for (let t = 0; t < n; t++) resume(t, 0);
  for (let t = 0; t < n; t++) if (state[t] !== DONE) wantCpu(t, 0);
  const blocked: number[] = [];

  let end: TimedResult["end"] = "done";
  for (;;) {
    if (fatal) {
      end = "fatal";
      break;
    }
    if (heap.length === 0) {
      fillCpus();
      if (heap.length === 0) {
        if (blocked.length > 0 || runQueue.length > 0) {
          end = "deadlock";
          if (sel("deadlock")) addViolation("deadlock", `no thread can run: ${blocked.map((b) => `${program.threads[b]!.name} at ${pending[b]!.label}`).join("; ")}`, -1, true);
        }
        break;
      }
    }
    if (steps >= maxSteps) {
      end = "limit";
      break;
    }
    if (steps - lastProgress >= stallSteps) {
      end = "stalled";
      break;
    }
    // The thread due first stays at the heap's root while its step runs: when it goes on (the
    // common case) its new due time is sifted down once instead of a pop and a push.
    const t = heap[0]!;
    now = due[t]!;
    const op = pending[t]!;
    if (!isEnabled(op)) {
      popTop();
      blockedSince[t] = now;
      blocked.push(t);
      if (costs.spins(op)) state[t] = SPIN;
      else {
        state[t] = SLEEP;
        releaseCpu(t, now);
        fillCpus();
      }
      continue;
    }
    const waited = blockedSince[t]! >= 0 ? now - blockedSince[t]! : 0;
    blockedSince[t] = -1;
    const r = exec(t, op);
    steps++;
    if (record) {
      schedTid.push(t);
      schedNChoice.push(0);
    }
    curStep = steps - 1;
    const wrote = lastWrote;
    pending[t] = null;
    // The thread's local code runs to its next op; what it does takes `dur`, after which the
    // next op is due. A thread that finishes is done at the end of its last step.
    stepEnd = Number.NaN;
    resume(t, r);
    stepEnd = 0;
    let dur = costs.stepCost(t, op, r, pending[t] ?? null);
    if (jitter > 0 && dur > 0) dur *= 1 + jitter * (2 * rand() - 1);
    if (state[t] === DONE) {
      // The thread finished in its local code: it leaves its CPU when its last step's time is up.
      cpuTime[t]! += now + dur - onCpuSince[t]!;
      freeCpus++;
      finishTime[t] = now + dur;
      obs.done?.(t, now + dur);
    }
    obs.step?.(t, op, r, now, dur, waited);
    if (!fatal) check(t, op);
    // The step's time passes after its effect (the op is the point where it becomes visible; the
    // work around it is charged to the thread's next `dur` ns).
    if (state[t] !== DONE) {
      due[t] = now + dur;
      // Preempt at a step boundary when the slice is used up, others wait and no lock is held.
      if (runQueue.length > 0 && locksHeld[t] === 0 && due[t]! - onCpuSince[t]! >= slice) {
        popTop();
        const at = due[t]!;
        releaseCpu(t, at);
        state[t] = READY;
        runQueue.push(t);
        const u = runQueue.shift()!;
        dispatch(u, Math.max(at, due[u]!));
      } else siftDownTop();
    } else {
      popTop();
      fillCpus(now + dur);
    }
    // Wake the blocked threads whose op the write enabled.
    if (wrote && blocked.length > 0) {
      for (let i = 0; i < blocked.length; ) {
        const b = blocked[i]!;
        if (pending[b] !== null && isEnabled(pending[b]!)) {
          blocked[i] = blocked[blocked.length - 1]!;
          blocked.pop();
          const at = now + handoff;
          if (state[b] === SPIN) {
            state[b] = RUN;
            due[b] = at;
            push(b);
          } else {
            sleepTime[b]! += now - blockedSince[b]!;
            wantCpu(b, at);
          }
        } else i++;
      }
    }
  }
  if (end === "done" && !fatal) {
    for (const inv of program.final) {
      if (!sel(inv.name)) continue;
      const msg = inv.check();
      if (msg !== null) addViolation(inv.name, msg, -1, true);
    }
    if (invDirty !== 0)
      for (let i = 0; i < invs.length; i++) {
        const msg = invs[i]!.check();
        if (msg !== null) addViolation(invs[i]!.name, msg, -1, true);
      }
  }
  world.current = null;
  const time = Math.max(now, ...finishTime);
  const out: TimedResult = { time, steps, cpuTime, sleepTime, finishTime, violations, end, lastProgressStep: lastProgress };
  if (opts.returnSchedule) out.schedule = scheduleUpTo(steps);
  return out;
}
