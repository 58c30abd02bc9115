// Visible operations. A thread yields one `Op` per visible step; the engine decides when it runs,
// executes it against the shared memory and resumes the thread with the result.

/** Operation kinds. Numbers, so the hot path compares small integers. */
export const K = {
  Load: 0, // result: the cell's value with the bits in `a` cleared (a masked load; a = 0: every bit)
  Store: 1,
  Cas: 2, // result: the value found (success iff it equals the expected value)
  Xchg: 3, // result: the old value
  Rmw: 4, // atomic read-modify-write with a pure function; result: the old value
  Wait: 5, // blocks until pred() holds; result 0
  WaitLoad: 6, // blocks until pred(value) holds, then loads; result: the value
  Lock: 7, // spinlock/mutex acquire (blocks)
  Unlock: 8,
  RLock: 9, // qrwlock read acquire (blocks while a writer holds or waits)
  RUnlock: 10,
  WAnnounce: 11, // qrwlock write: take the wait queue and flag _QW_WAITING (blocks while another writer is queued)
  WAcquire: 12, // qrwlock write: wait for readers to drain, then hold (blocks)
  WUnlock: 13,
  TryEx: 14, // sharex try-lock, exclusive: result 1 = acquired, 0 = busy
  TryShared: 15, // sharex try-lock, shared: result 1 = acquired, 0 = busy
  ReleaseEx: 16,
  ReleaseShared: 17,
  Choice: 18, // nondeterministic choice among `a` outcomes; result: the outcome
} as const;
export type OpKind = (typeof K)[keyof typeof K];

export const KIND_NAMES: readonly string[] = [
  "load", "store", "cmpxchg", "xchg", "rmw", "wait", "wait-load", "lock", "unlock", "read_lock",
  "read_unlock", "write_lock(queue)", "write_lock", "write_unlock", "try_lock_ex", "try_lock_sh",
  "unlock_ex", "unlock_sh", "choice",
];

/**
 * Footprint modes for dependence. Two steps on a common object are dependent unless both are R
 * or both are S. S ("shared mode") is what a reader does to a reader-writer or sharex lock: it
 * changes the reader count, so two shared acquisitions/releases commute with each other, but not
 * with a writer (W) nor with a step that reads the lock word (R: a failed try-lock).
 */
export const M = { None: 0, R: 1, S: 2, W: 3 } as const;
export type Mode = (typeof M)[keyof typeof M];

export function conflicts(a: number, b: number): boolean {
  return a !== M.None && b !== M.None && (a !== b || a === M.W);
}

export interface Op {
  k: OpKind;
  /** Primary object id (-1 for Choice). */
  o: number;
  /** Absolute cell index of the object's first cell (-1 for Choice). */
  s: number;
  a: number;
  b: number;
  /** Source label: the kernel/TDX function this step models, e.g. "tdp_mmu.c:tdp_mmu_set_spte_atomic". */
  label: string;
  /** For Wait: every object the predicate reads (its footprint). */
  objs?: readonly number[];
  pred?: () => boolean;
  vpred?: (v: number) => boolean;
  fn?: (v: number) => number;
  /** For Choice: the outcomes other than 0 are failures injected by the environment (fair). */
  env?: boolean;
}

/** Footprint mode of a not-yet-executed op (conservative). */
export function pendingMode(op: Op): Mode {
  switch (op.k) {
    case K.Load:
    case K.Wait:
    case K.WaitLoad:
      return M.R;
    case K.RLock:
    case K.RUnlock:
    case K.TryShared:
    case K.ReleaseShared:
      return M.S;
    case K.Choice:
      return M.None;
    default:
      return M.W;
  }
}

/**
 * Footprint mode of a pending op if it ran now, in memory `mem`: exact where `pendingMode` is
 * conservative. A compare-exchange that would fail (or would write the value already there), a
 * read-modify-write that would change nothing and a try-lock that would fail only read. Used by
 * sleep sets (a thread asleep on a failing compare-exchange is not woken by another failing one)
 * and by the race analysis of an execution's pending ops; the executed event gets the same mode.
 */
export function pendingModeAt(op: Op, mem: Int32Array): Mode {
  const v = mem[op.s]!;
  switch (op.k) {
    case K.Cas:
      return v === op.a && op.b !== v ? M.W : M.R;
    case K.Rmw:
      return (op.fn!(v) | 0) !== v ? M.W : M.R;
    case K.TryEx:
      return v === 0 ? M.W : M.R;
    case K.TryShared:
      return (v & 1) === 0 ? M.S : M.R;
    default:
      return pendingMode(op);
  }
}

/** Ops that may be disabled (the thread blocks until another thread changes the state). */
export function isBlocking(k: OpKind): boolean {
  return k === K.Wait || k === K.WaitLoad || k === K.Lock || k === K.RLock || k === K.WAnnounce || k === K.WAcquire;
}
