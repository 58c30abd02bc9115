// What one visible op does to shared memory: the single definition of the op semantics, used by
// the exploration engine (execution.ts) and by the timed scheduler (schedulers/timed.ts), so the
// checker and the simulator can never disagree about what a step does.
import { cellHash1, cellHash2 } from "./hash.js";
import { K, M, type Mode, type Op } from "./ops.js";

/** "Nothing written" marker for OpState.w. */
export const NO_WRITE = 0x7fffffff;

/** Memory an op runs against, with what the last op did. */
export interface OpState {
  readonly mem: Int32Array;
  /** Keep the memory hash lanes h1/h2 up to date on writes (the checker's fingerprints). */
  readonly hash: boolean;
  h1: number;
  h2: number;
  /** Footprint mode of the last op: R (read only), S (shared-mode lock change) or W. */
  mode: Mode;
  /** Value the last op wrote to its first cell (NO_WRITE: none). */
  w: number;
  /** Set when the last op misused a lock (the op still ran); the caller reports it and clears it. */
  misuse: string | null;
}

export function opState(mem: Int32Array, hash: boolean): OpState {
  return { mem, hash, h1: 0, h2: 0, mode: M.W, w: NO_WRITE, misuse: null };
}

function write(st: OpState, i: number, v: number): void {
  const mem = st.mem;
  const old = mem[i]!;
  if (old === v) return;
  if (st.hash) {
    st.h1 = (st.h1 - cellHash1(i, old) + cellHash1(i, v)) | 0;
    st.h2 = (st.h2 - cellHash2(i, old) + cellHash2(i, v)) | 0;
  }
  mem[i] = v;
}

/** Execute `op` of thread t (it is enabled) against st.mem; returns the op's result. */
export function execOp(st: OpState, t: number, op: Op): number {
  const mem = st.mem;
  const s = op.s;
  let r = 0;
  let mode: Mode = M.W;
  let w = NO_WRITE;
  switch (op.k) {
    case K.Load:
      // A masked load (Atomic.load's `bits`): the thread gets only the bits it reads (op.a: the others).
      r = mem[s]! & ~op.a;
      mode = M.R;
      break;
    case K.Store:
      w = op.a;
      write(st, s, w);
      break;
    case K.Cas:
      r = mem[s]!;
      // A cmpxchg that fails, or succeeds without changing the value, only read the cell.
      if (r === op.a && op.b !== r) {
        w = op.b;
        write(st, s, w);
      } else mode = M.R;
      break;
    case K.Xchg:
      r = mem[s]!;
      w = op.a;
      write(st, s, w);
      break;
    case K.Rmw:
      r = mem[s]!;
      w = op.fn!(r) | 0;
      if (w === r) {
        mode = M.R;
        w = NO_WRITE;
      } else write(st, s, w);
      break;
    case K.Wait:
      mode = M.R;
      break;
    case K.WaitLoad:
      r = mem[s]!;
      mode = M.R;
      break;
    case K.Lock:
      w = t + 1;
      write(st, s, w);
      break;
    case K.Unlock:
      if (mem[s] !== t + 1) st.misuse = "unlock of a lock this thread does not hold";
      w = 0;
      write(st, s, 0);
      break;
    case K.RLock:
      mode = M.S;
      write(st, s + 1, mem[s + 1]! + 1);
      break;
    case K.RUnlock:
      mode = M.S;
      if (mem[s + 1]! <= 0) st.misuse = "read_unlock without readers";
      write(st, s + 1, mem[s + 1]! - 1);
      break;
    case K.WAnnounce:
      w = -(t + 1);
      write(st, s, w);
      break;
    case K.WAcquire:
      if (mem[s] !== -(t + 1)) st.misuse = "write_lock acquire without queueing";
      w = t + 1;
      write(st, s, w);
      break;
    case K.WUnlock:
      if (mem[s] !== t + 1) st.misuse = "write_unlock of a lock this thread does not hold";
      w = 0;
      write(st, s, 0);
      break;
    case K.TryEx:
      if (mem[s] === 0) {
        r = 1;
        w = 1;
        write(st, s, 1);
      } else mode = M.R;
      break;
    case K.TryShared:
      if ((mem[s]! & 1) === 0) {
        r = 1;
        mode = M.S;
        write(st, s, mem[s]! + 2);
      } else mode = M.R;
      break;
    case K.ReleaseEx:
      if (mem[s] !== 1) st.misuse = "exclusive release of a lock not held exclusively";
      w = 0;
      write(st, s, 0);
      break;
    case K.ReleaseShared:
      if (mem[s]! < 2 || (mem[s]! & 1) === 1) st.misuse = "shared release of a lock not held shared";
      mode = M.S;
      write(st, s, mem[s]! - 2);
      break;
    default:
      throw new Error(`unknown op kind ${op.k}`);
  }
  st.mode = mode;
  st.w = w;
  return r;
}

/** Change in the number of locks thread-held after `op` returned `r` (+1 acquire, -1 release, 0). */
export function lockDelta(op: Op, r: number): number {
  switch (op.k) {
    case K.Lock:
    case K.RLock:
    case K.WAnnounce:
      return 1;
    case K.TryEx:
    case K.TryShared:
      return r === 1 ? 1 : 0;
    case K.Unlock:
    case K.RUnlock:
    case K.WUnlock:
    case K.ReleaseEx:
    case K.ReleaseShared:
      return -1;
    default:
      return 0;
  }
}
