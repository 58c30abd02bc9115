// What a model hands to the engine: shared objects (in a World), threads, and properties.
import type { Op } from "./ops.js";
import { World } from "./world.js";

/** Thread code: a generator that yields one op per visible step and receives each op's result. */
export type ThreadBody = (t: ThreadApi) => Generator<Op, void, number>;

export interface ThreadSpec {
  name: string;
  body: ThreadBody;
  /**
   * Optional, and no longer used by the engine (accepted for compatibility): a generator that
   * continues right after `t.loopHead(label, ...locals)`. The engine used it to rebuild a thread
   * from its last loop head; it now restores threads from recorded code segments
   * (docs/design.md, "Restoring threads") and rebuilds a generator only for a segment never run.
   */
  resume?: (t: ThreadApi, label: string, locals: readonly number[]) => Generator<Op, void, number>;
}

/** What thread code may do besides yielding visible ops. None of these is a step. */
export interface ThreadApi {
  readonly id: number;
  readonly name: string;
  /** An assertion inside thread code: a violation of `property` that ends the execution. */
  assert(cond: boolean, message: string, property?: string): asserts cond;
  /**
   * A reportable event that does not stop the thread (a KVM_BUG_ON or WARN site): recorded as a
   * violation of `property`, and the execution continues so that what follows can still be checked.
   */
  report(property: string, message: string): void;
  /** Enter / leave a critical window on `key`; per-key quiescent invariants wait for all windows to close. */
  enter(key: number): void;
  exit(key: number): void;
  /**
   * Declare the head of a loop and the locals live there. The thread's local state is then
   * (label, locals) plus what it observed since, so a retry that returns here with the same locals
   * and shared state closes a cycle the engine can detect. The author must pass every live local.
   */
  loopHead(label: string, ...locals: number[]): void;
  /** Mark progress (a completed operation) for livelock detection. */
  progress(): void;
}

export interface Invariant {
  name: string;
  /** null when it holds; otherwise a message. Reads shared state with `peek()`. */
  check(): string | null;
  /**
   * Objects the check reads. DPOR treats writes to any two of them as dependent so that every
   * state the invariant can tell apart is still visited; without it, every object counts.
   * (Only used for invariants checked after every step.)
   */
  objs?: readonly number[];
  /**
   * Optional, with `objs` (one per object, objects of one cell): the bits of the object's cell
   * that the check reads. The check's value cannot change when a step changes only other bits of
   * the cell (a lock bit beside a state field, say), so DPOR does not order such a step with the
   * invariant's other writes (docs/design.md, "Invariants are observers": masked footprints).
   * -1: every bit.
   */
  masks?: readonly number[];
  /**
   * Optional (simulation): a fresh incremental form of `check()` for one run, started on the
   * run's initial state. The timed scheduler tells it every object a step wrote and asks it after
   * the step; it must give the message `check()` would give, given that `check()` held before the
   * step. The checker's strategies never use it.
   */
  incremental?(): IncrementalCheck;
}

/** An invariant checked from what changed (Invariant.incremental). */
export interface IncrementalCheck {
  /** A step wrote object `obj` (any object; the check ignores those it does not read). */
  wrote(obj: number): void;
  /** The violation the writes since the last call can have caused, or null. */
  check(): string | null;
}

/** An invariant over one key (a slot, a GFN), checked when no thread has a window open on it. */
export interface QuiescentInvariant {
  name: string;
  keys: readonly number[];
  /** Objects whose writes may change the invariant's value for `key`. */
  objsOf(key: number): readonly number[];
  /**
   * Optional, parallel to `objsOf(key)`: the bits of each (one-cell) object the check of `key`
   * reads, -1 for every bit (as Invariant.masks; used by DPOR only).
   */
  masksOf?(key: number): readonly number[];
  check(key: number): string | null;
  /**
   * Optional (simulation): keys whose footprint holds `obj` beyond `objsOf` — objects whose role
   * changes during a run (a pool table of the mirror, handed out to a position when allocated).
   * The timed scheduler asks it for every object a step wrote; the checker never uses it.
   */
  dynamicKeysOf?(obj: number): readonly number[] | null;
}

export interface Program {
  readonly name: string;
  readonly world: World;
  readonly threads: readonly ThreadSpec[];
  /** Checked after every step. */
  readonly invariants: readonly Invariant[];
  readonly quiescent: readonly QuiescentInvariant[];
  /** Checked at the end of every complete execution (all threads finished). */
  readonly final: readonly Invariant[];
  /**
   * The final checks read only World objects, nothing thread code wrote in JavaScript when it
   * finished (ProgramParts.finalWorldOnly). Absent or false: before them the engine runs, quietly,
   * the finishing code of every thread whose end it followed from its record.
   */
  readonly finalWorldOnly?: boolean;
  /** Named properties the program can violate, beyond assertion, deadlock and livelock. */
  readonly properties: readonly string[];
  /**
   * Observer groups for partial-order reduction: bit set per object (the invariants that read it,
   * folded modulo 31) and per window key. Steps that touch a common group are dependent.
   */
  readonly objGroups: Int32Array;
  readonly keyGroups: ReadonlyMap<number, number>;
  /**
   * The observer groups of the invariants that are checked (`selected`; null: all), numbered
   * among themselves: an invariant that is not checked observes nothing, so it makes no step
   * dependent on another (docs/design.md, "Invariants are observers"). `invBits[k]`:
   * always-invariant k's bit when it is selected and declares its objects, else 0. Cached per selection.
   */
  groupsFor(selected: ReadonlySet<string> | null): ObserverGroups;
}

export interface ObserverGroups {
  readonly objGroups: Int32Array;
  readonly keyGroups: ReadonlyMap<number, number>;
  readonly invBits: readonly number[];
  /**
   * Per object (or null): the bits a write to its one cell leaves untouched in the observer groups
   * when it changes no bit of `mask` — groups of invariants that declare `masks` / `masksOf`,
   * only where no other invariant shares the bit. A step that writes the cell changing no bit of
   * `mask` does not touch `bits`.
   */
  readonly masked: ({ bits: number; mask: number } | null)[];
}

export interface ProgramParts {
  threads: ThreadSpec[];
  invariants?: Invariant[];
  quiescent?: QuiescentInvariant[];
  final?: Invariant[];
  /** Extra property names used by `assert`/`report` in thread code. */
  properties?: string[];
  /**
   * Declare that the final checks read only World objects (through `peek()`), never results that
   * thread code keeps in JavaScript and writes when it finishes. The engine then skips running the
   * finishing code of threads whose last segments it followed from the record before the final
   * checks (execution.ts, `finishThreads`; docs/design.md, "What thread code writes outside the
   * World"). Default false (always allowed, only slower).
   */
  finalWorldOnly?: boolean;
  /**
   * The program is only run by the timed scheduler (a simulation): it may have up to
   * MAX_SIM_THREADS threads. The exploring strategies keep sets of threads in 31-bit masks and
   * refuse a program with more than 30 (explore()).
   */
  simulationOnly?: boolean;
}

/** Threads of a program the exploring strategies accept (thread sets are 31-bit masks). */
export const MAX_THREADS = 30;
/** Threads of a simulation-only program (thread ids are kept in a byte by the timed scheduler's schedule). */
export const MAX_SIM_THREADS = 255;

/** Build a program: `build` allocates shared objects in a fresh World and returns the threads. */
export function defineProgram(name: string, build: (w: World) => ProgramParts): Program {
  const world = new World();
  const parts = build(world);
  world.seal();
  if (parts.threads.length === 0) throw new Error(`program '${name}' has no threads`);
  const maxThreads = parts.simulationOnly === true ? MAX_SIM_THREADS : MAX_THREADS;
  if (parts.threads.length > maxThreads) throw new Error(`program '${name}': at most ${maxThreads} threads`);
  const props = new Set<string>(["assertion", "deadlock", "livelock"]);
  for (const i of parts.invariants ?? []) props.add(i.name);
  for (const i of parts.quiescent ?? []) props.add(i.name);
  for (const i of parts.final ?? []) props.add(i.name);
  for (const p of parts.properties ?? []) props.add(p);
  // The observer groups are computed on first use: only partial-order reduction reads them (a
  // simulation of a large TD, with hundreds of thousands of keys, never does).
  const bySelection = new Map<string, ObserverGroups>();
  const computeGroups = (selected: ReadonlySet<string> | null): ObserverGroups => {
    const cacheKey = selected === null ? "" : [...selected].sort().join("\n") + "\n";
    const known = bySelection.get(cacheKey);
    if (known !== undefined) return known;
    const objGroups = new Int32Array(world.objs.length);
    const keyGroups = new Map<number, number>();
    const invBits: number[] = [];
    // Per object: group bits from masked footprints, their union mask, and bits from unmasked ones
    // (a bit is droppable on an object only if every group with that bit there is masked).
    const maskedBits = new Int32Array(world.objs.length);
    const maskUnion = new Int32Array(world.objs.length);
    const unmasked = new Int32Array(world.objs.length);
    const note = (o: number, bit: number, m: number): void => {
      objGroups[o]! |= bit;
      if (m !== -1 && world.objs[o]!.size === 1) {
        maskedBits[o]! |= bit;
        maskUnion[o]! |= m;
      } else unmasked[o]! |= bit;
    };
    let g = 0;
    for (const inv of parts.invariants ?? []) {
      if (selected !== null && !selected.has(inv.name)) {
        invBits.push(0);
        continue;
      }
      const bit = 1 << g++ % 31;
      invBits.push(inv.objs !== undefined ? bit : 0);
      const objs = inv.objs ?? world.objs.map((x) => x.id);
      objs.forEach((o, k) => note(o, bit, inv.objs !== undefined && inv.masks !== undefined ? inv.masks[k]! : -1));
    }
    for (const q of parts.quiescent ?? []) {
      if (selected !== null && !selected.has(q.name)) continue;
      for (const key of q.keys) {
        const bit = 1 << g++ % 31;
        const masks = q.masksOf?.(key);
        q.objsOf(key).forEach((o, k) => note(o, bit, masks !== undefined ? masks[k]! : -1));
        keyGroups.set(key, (keyGroups.get(key) ?? 0) | bit);
      }
    }
    const masked = Array.from(maskedBits, (b, o) => {
      const bits = b & ~unmasked[o]!;
      return bits !== 0 ? { bits, mask: maskUnion[o]! } : null;
    });
    const r = { objGroups, keyGroups, invBits, masked };
    bySelection.set(cacheKey, r);
    return r;
  };
  return {
    get objGroups() {
      return computeGroups(null).objGroups;
    },
    get keyGroups() {
      return computeGroups(null).keyGroups;
    },
    groupsFor: computeGroups,
    name,
    world,
    threads: parts.threads,
    invariants: parts.invariants ?? [],
    quiescent: parts.quiescent ?? [],
    final: parts.final ?? [],
    finalWorldOnly: parts.finalWorldOnly === true,
    properties: [...props],
  };
}
