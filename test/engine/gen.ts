// Random small programs for differential testing: a description (plain data, printable by
// fast-check on failure) and an interpreter that turns it into an engine Program.
import fc from "fast-check";
import {
  Atomic,
  RwLock,
  SpinLock,
  TryLock,
  choose,
  defineProgram,
  waitUntil,
  type ExploreResult,
  type Op,
  type Program,
  type ThreadApi,
} from "../../src/engine/index.js";

/** A value: a constant, or the thread's last loaded/chosen value plus a constant. */
export interface Val {
  c: number;
  last: boolean;
}

export type Instr =
  | { k: "load"; cell: number }
  | { k: "store"; cell: number; v: Val }
  | { k: "cas"; cell: number; exp: number; v: Val }
  | { k: "xchg"; cell: number; v: Val }
  | { k: "wait"; cell: number; eq: number } // waitUntil(cell == eq)
  | { k: "waitLoad"; cell: number; eq: number } // cell.waitLoad(x => x == eq)
  | { k: "assert"; ne: number } // t.assert(last != ne)
  | { k: "choose"; n: number; env: boolean } // last = choose(n)
  | { k: "if"; eq: number; then: Instr[]; els: Instr[] } // if (last == eq)
  | { k: "lock"; lock: number; body: Instr[] } // spin_lock; body; spin_unlock
  | { k: "read"; body: Instr[] } // read_lock; body; read_unlock (the one rwlock)
  | { k: "write"; body: Instr[] } // write_lock (2 steps); body; write_unlock
  | { k: "try"; ex: boolean; body: Instr[]; els: Instr[] } // if (trylock) { body; release } else els
  | { k: "spin"; cell: number; eq: number } // retry loop: do { x = load(cell) } while (x != eq)
  // freeze/restore retry loop (the freeze -> BUSY -> restore -> retry shape): for (;;) { old =
  // cmpxchg(cell, exp, FROZEN); if (old == FROZEN) continue; if (old != exp) break; y = load(other);
  // if (y == eq) { store(cell, v); break; } store(cell, exp); }  (last = old, or y on success)
  | { k: "retry"; cell: number; exp: number; other: number; eq: number; v: Val }
  | { k: "window"; body: Instr[] } // t.enter(0); body; t.exit(0) (a critical window on key 0)
  // Loops with loud steps (option `loud`): "busy" is a freeze that the environment may fail
  // (for (;;) { old = cmpxchg(cell, exp, FROZEN); if (old != exp) break; if (choose(2, env) == 0) {
  // store(cell, v); break; } store(cell, exp); }: an injected BUSY, restore, retry); "pspin" spins
  // like "spin" but reports progress on every failed iteration (t.progress()).
  | { k: "busy"; cell: number; exp: number; v: Val }
  | { k: "pspin"; cell: number; eq: number };

export interface ProgDesc {
  cells: number;
  threads: Instr[][];
  /** Optional per-step invariant over one or two cells: cell[a] + cell[b] != ne. */
  inv?: { cell: number; cell2: number; ne: number };
  /** Optional quiescent invariant on key 0 (checked when no window on it is open): cell[a] + cell[b] != ne. */
  quiet?: { cell: number; cell2: number; ne: number };
  /** Optional end-of-execution check: cell[finCell] != finVal. */
  fin?: { cell: number; ne: number };
  /** Optional initial cell values (default all 0); with them an invariant may be false from the start. */
  init?: number[];
}

/** Longest number of visible steps a thread list can take (spin counts once). */
export function maxSteps(list: readonly Instr[]): number {
  let n = 0;
  for (const i of list) {
    switch (i.k) {
      case "assert":
      case "choose":
        break;
      case "if":
        n += Math.max(maxSteps(i.then), maxSteps(i.els));
        break;
      case "retry":
      case "busy":
        n += 3;
        break;
      case "window":
        n += maxSteps(i.body);
        break;
      case "lock":
      case "read":
        n += 2 + maxSteps(i.body);
        break;
      case "write":
        n += 3 + maxSteps(i.body);
        break;
      case "try":
        n += 1 + Math.max(1 + maxSteps(i.body), maxSteps(i.els));
        break;
      default:
        n += 1;
    }
  }
  return n;
}

function choiceProduct(list: readonly Instr[]): number {
  let p = 1;
  for (const i of list) {
    if (i.k === "choose") p *= i.n;
    if (i.k === "if") p *= Math.max(choiceProduct(i.then), choiceProduct(i.els));
    if (i.k === "lock" || i.k === "read" || i.k === "write" || i.k === "window") p *= choiceProduct(i.body);
    if (i.k === "try") p *= Math.max(choiceProduct(i.body), choiceProduct(i.els));
  }
  return p;
}

export function usesChoice(list: readonly Instr[]): boolean {
  return choiceProduct(list) > 1 || JSON.stringify(list).includes('"choose"') || JSON.stringify(list).includes('"busy"');
}

/** An upper estimate of the number of interleavings: multinomial of step counts times choices. */
export function interleavingEstimate(d: ProgDesc): number {
  const steps = d.threads.map(maxSteps);
  let total = 0;
  let est = 1;
  for (const s of steps) {
    for (let j = 1; j <= s; j++) est = (est * (total + j)) / j;
    total += s;
  }
  for (const t of d.threads) est *= choiceProduct(t);
  return est;
}

export function totalSteps(d: ProgDesc): number {
  return d.threads.reduce((a, t) => a + maxSteps(t), 0);
}

export interface GenOptions {
  maxThreads?: number;
  maxCells?: number;
  choices?: boolean;
  spin?: boolean;
  maxTotal?: number;
  maxEstimate?: number;
  /** Generate fatal checks inside executions (assertions, per-step invariant); default true. */
  fatal?: boolean;
  /** The per-step invariant reads two cells (true) or one (default). */
  invTwoCells?: boolean;
  /** Generate critical windows (t.enter/t.exit on key 0) and a quiescent invariant; default false. */
  quiescent?: boolean;
  /** Generate wait-until / wait-load; default true. */
  waits?: boolean;
  /** Generate freeze/restore retry loops ("retry"); default false. */
  retry?: boolean;
  /** Generate loops with loud steps: an environment-failed freeze ("busy"), a spin that reports progress ("pspin"); default false. */
  loud?: boolean;
  /** Generate initial cell values 0..2 (`init`), so an invariant may be violated in the initial state; default false. */
  initValues?: boolean;
}

const valArb = fc.record({ c: fc.integer({ min: 0, max: 2 }), last: fc.boolean() });

export function instrArb(cells: number, depth: number, o: GenOptions): fc.Arbitrary<Instr> {
  const cell = fc.integer({ min: 0, max: cells - 1 });
  const small = fc.integer({ min: 0, max: 2 });
  const leaves: fc.Arbitrary<Instr>[] = [
    fc.record({ k: fc.constant("load" as const), cell }),
    fc.record({ k: fc.constant("load" as const), cell }),
    fc.record({ k: fc.constant("store" as const), cell, v: valArb }),
    fc.record({ k: fc.constant("store" as const), cell, v: valArb }),
    fc.record({ k: fc.constant("cas" as const), cell, exp: small, v: valArb }),
    fc.record({ k: fc.constant("xchg" as const), cell, v: valArb }),
  ];
  if (o.waits !== false)
    leaves.push(fc.record({ k: fc.constant("wait" as const), cell, eq: small }), fc.record({ k: fc.constant("waitLoad" as const), cell, eq: small }));
  if (o.fatal !== false) leaves.push(fc.record({ k: fc.constant("assert" as const), ne: small }));
  if (o.choices !== false) leaves.push(fc.record({ k: fc.constant("choose" as const), n: fc.integer({ min: 2, max: 3 }), env: fc.boolean() }));
  if (o.spin) leaves.push(fc.record({ k: fc.constant("spin" as const), cell, eq: small }));
  if (o.loud)
    leaves.push(
      fc.record({ k: fc.constant("busy" as const), cell, exp: small, v: valArb }),
      fc.record({ k: fc.constant("busy" as const), cell, exp: small, v: valArb }),
      fc.record({ k: fc.constant("pspin" as const), cell, eq: small }),
    );
  if (o.retry)
    leaves.push(
      ...[0, 1, 2].map(() => fc.record({ k: fc.constant("retry" as const), cell, exp: small, other: cell, eq: small, v: valArb })),
    );
  if (depth <= 0) return fc.oneof(...leaves);
  const body = fc.array(instrArb(cells, depth - 1, o), { minLength: 0, maxLength: 3 });
  const compound: fc.Arbitrary<Instr>[] = [
    fc.record({ k: fc.constant("lock" as const), lock: fc.integer({ min: 0, max: 1 }), body }),
    fc.record({ k: fc.constant("lock" as const), lock: fc.integer({ min: 0, max: 1 }), body }),
    fc.record({ k: fc.constant("read" as const), body }),
    fc.record({ k: fc.constant("write" as const), body }),
    fc.record({ k: fc.constant("try" as const), ex: fc.boolean(), body, els: body }),
    fc.record({ k: fc.constant("if" as const), eq: small, then: body, els: body }),
  ];
  if (o.quiescent) compound.push(fc.record({ k: fc.constant("window" as const), body }), fc.record({ k: fc.constant("window" as const), body }));
  return fc.oneof({ weight: 3, arbitrary: fc.oneof(...leaves) }, { weight: 2, arbitrary: fc.oneof(...compound) });
}

export function progArb(o: GenOptions = {}): fc.Arbitrary<ProgDesc> {
  const maxThreads = o.maxThreads ?? 4;
  const maxCells = o.maxCells ?? 4;
  return fc
    .record({
      cells: fc.integer({ min: 1, max: maxCells }),
      nThreads: fc.integer({ min: 2, max: maxThreads }),
      seed: fc.integer({ min: 0, max: 1 << 30 }),
    })
    .chain(({ cells, nThreads }) =>
      fc.record({
        cells: fc.constant(cells),
        threads: fc.array(fc.array(instrArb(cells, 2, o), { minLength: 1, maxLength: 4 }), { minLength: nThreads, maxLength: nThreads }),
        inv: o.fatal === false ? fc.constant(undefined) : fc.option(fc.record({ cell: fc.integer({ min: 0, max: cells - 1 }), cell2: fc.integer({ min: 0, max: cells - 1 }), ne: fc.integer({ min: 1, max: 4 }) }).map((i) => (o.invTwoCells ? i : { ...i, cell2: i.cell })), { nil: undefined }),
        quiet: o.quiescent
          ? fc.record({ cell: fc.integer({ min: 0, max: cells - 1 }), cell2: fc.integer({ min: 0, max: cells - 1 }), ne: fc.integer({ min: 1, max: 4 }) })
          : fc.constant(undefined),
        fin: fc.option(fc.record({ cell: fc.integer({ min: 0, max: cells - 1 }), ne: fc.integer({ min: 0, max: 3 }) }), { nil: undefined }),
        // (Only with the option: a record without the key draws exactly what it drew before, so the seeded tests keep their programs.)
        ...(o.initValues ? { init: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: cells, maxLength: cells }) } : {}),
      }),
    )
    .filter((d) => totalSteps(d) <= (o.maxTotal ?? 12) && totalSteps(d) >= 2 && interleavingEstimate(d) <= (o.maxEstimate ?? 4000));
}

const ids = new WeakMap<Instr, number>();
let nextId = 0;
/**
 * Number instructions from 0 again. A worker thread of the parallel search rebuilds the program
 * from its description; all workers must number its instructions alike (the numbers enter the
 * thread-local state, so the fingerprints).
 */
export function resetInstrIds(): void {
  nextId = 0;
}

/** A unique number per instruction object: its position in the description tree. */
function instrId(i: Instr): number {
  let id = ids.get(i);
  if (id === undefined) ids.set(i, (id = nextId++));
  return id;
}

export interface Built {
  program: Program;
  /** Reachable final states (shared memory + every thread's registers) recorded by a `final` check. */
  finals: Set<string>;
}

/**
 * Build a program from a description. With `disjoint`, every thread gets its own copy of every
 * object (cells, locks, rwlock, try-lock), so threads touch disjoint state.
 */
export function build(d: ProgDesc, disjoint = false, name = "random"): Built {
  const finals = new Set<string>();
  const n = d.threads.length;
  const program = defineProgram(name, (w) => {
    const copies = disjoint ? n : 1;
    const cells: Atomic[][] = [];
    const locks: SpinLock[][] = [];
    const rws: RwLock[] = [];
    const tls: TryLock[] = [];
    for (let c = 0; c < copies; c++) {
      cells.push(Array.from({ length: d.cells }, (_, i) => new Atomic(w, `c${i}${disjoint ? `.${c}` : ""}`, d.init?.[i] ?? 0)));
      locks.push([0, 1].map((i) => new SpinLock(w, `L${i}${disjoint ? `.${c}` : ""}`)));
      rws.push(new RwLock(w, `rw${disjoint ? `.${c}` : ""}`));
      tls.push(new TryLock(w, `tl${disjoint ? `.${c}` : ""}`));
    }
    const regsOut: string[] = new Array<string>(n).fill("");
    const body = (tid: number) =>
      function* (t: ThreadApi): Generator<Op, void, number> {
        regsOut[tid] = "killed"; // overwritten when the thread finishes; stays if an assertion kills it
        const me = disjoint ? tid : 0;
        const C = cells[me]!;
        const regs: number[] = [];
        let last = 0;
        const val = (v: Val): number => (v.last ? last : 0) + v.c;
        const run = function* (list: readonly Instr[]): Generator<Op, void, number> {
          for (const i of list) {
            switch (i.k) {
              case "load":
                last = yield C[i.cell]!.load(`T${tid}: load c${i.cell}`);
                regs.push(last);
                break;
              case "store":
                yield C[i.cell]!.store(val(i.v), `T${tid}: store c${i.cell}`);
                break;
              case "cas":
                last = yield C[i.cell]!.cmpxchg(i.exp, val(i.v), `T${tid}: cmpxchg c${i.cell}`);
                regs.push(last);
                break;
              case "xchg":
                last = yield C[i.cell]!.xchg(val(i.v), `T${tid}: xchg c${i.cell}`);
                regs.push(last);
                break;
              case "wait": {
                const c = C[i.cell]!;
                yield waitUntil([c], () => c.peek() === i.eq, `T${tid}: wait c${i.cell}==${i.eq}`);
                break;
              }
              case "waitLoad":
                last = yield C[i.cell]!.waitLoad((x) => x === i.eq, `T${tid}: wait-load c${i.cell}==${i.eq}`);
                regs.push(last);
                break;
              case "assert":
                t.assert(last !== i.ne, `T${tid}: last value is ${i.ne}`);
                break;
              case "choose":
                last = yield choose(i.n, `T${tid}: choose${i.n}`, { env: i.env });
                regs.push(last);
                break;
              case "if":
                yield* run(last === i.eq ? i.then : i.els);
                break;
              case "lock": {
                const l = locks[me]![i.lock]!;
                yield l.lock(`T${tid}: lock L${i.lock}`);
                yield* run(i.body);
                yield l.unlock(`T${tid}: unlock L${i.lock}`);
                break;
              }
              case "read":
                yield rws[me]!.readLock(`T${tid}: read_lock`);
                yield* run(i.body);
                yield rws[me]!.readUnlock(`T${tid}: read_unlock`);
                break;
              case "write":
                yield* rws[me]!.writeLock(`T${tid}: write_lock`);
                yield* run(i.body);
                yield rws[me]!.writeUnlock(`T${tid}: write_unlock`);
                break;
              case "try": {
                const tl = tls[me]!;
                const ok = yield i.ex ? tl.tryExclusive(`T${tid}: try_ex`) : tl.tryShared(`T${tid}: try_sh`);
                if (ok === 1) {
                  yield* run(i.body);
                  yield i.ex ? tl.releaseExclusive(`T${tid}: unlock_ex`) : tl.releaseShared(`T${tid}: unlock_sh`);
                } else yield* run(i.els);
                break;
              }
              case "window":
                t.enter(0);
                yield* run(i.body);
                t.exit(0);
                break;
              case "retry": {
                const here = instrId(i);
                const c = C[i.cell]!;
                const FROZEN = 7;
                let out = 0;
                for (;;) {
                  t.loopHead(`T${tid}: retry#${here}`, last, ...regs);
                  const old = yield c.cmpxchg(i.exp, FROZEN, `T${tid}: freeze c${i.cell}`);
                  if (old === FROZEN) continue;
                  out = old;
                  if (old !== i.exp) break;
                  const y = yield C[i.other]!.load(`T${tid}: retry check c${i.other}==${i.eq}`);
                  if (y === i.eq) {
                    yield c.store(val(i.v), `T${tid}: retry commit c${i.cell}`);
                    out = 100 + y;
                    break;
                  }
                  yield c.store(i.exp, `T${tid}: restore c${i.cell}`);
                }
                last = out;
                regs.push(out);
                break;
              }
              case "busy": {
                const here = instrId(i);
                const c = C[i.cell]!;
                const FROZEN = 7;
                let out = 0;
                for (;;) {
                  t.loopHead(`T${tid}: busy#${here}`, last, ...regs);
                  const old = yield c.cmpxchg(i.exp, FROZEN, `T${tid}: freeze c${i.cell}`);
                  out = old;
                  if (old !== i.exp) break;
                  const busy = yield choose(2, `T${tid}: BUSY?`, { env: true });
                  if (busy === 0) {
                    yield c.store(val(i.v), `T${tid}: commit c${i.cell}`);
                    out = 100;
                    break;
                  }
                  yield c.store(i.exp, `T${tid}: restore c${i.cell}`);
                }
                last = out;
                regs.push(out);
                break;
              }
              case "pspin": {
                const here = instrId(i);
                for (;;) {
                  t.loopHead(`T${tid}: pspin#${here}`, last, ...regs);
                  const x = yield C[i.cell]!.load(`T${tid}: pspin c${i.cell}==${i.eq}`);
                  if (x === i.eq) break;
                  t.progress();
                }
                break;
              }
              case "spin": {
                const here = instrId(i);
                for (;;) {
                  t.loopHead(`T${tid}: spin#${here}`, last, ...regs);
                  const x = yield C[i.cell]!.load(`T${tid}: spin c${i.cell}==${i.eq}`);
                  if (x === i.eq) break;
                }
                break;
              }
            }
          }
        };
        yield* run(d.threads[tid]!);
        regsOut[tid] = regs.join(",");
      };
    const final = [
      {
        name: "record-final-state",
        check: (): string | null => {
          finals.add(`${Array.from(w.mem).join(",")}|${regsOut.join("|")}`);
          return null;
        },
      },
    ];
    if (d.fin) {
      const c = cells[0]![d.fin.cell]!;
      const ne = d.fin.ne;
      final.push({ name: "final-check", check: () => (c.peek() === ne ? `c${d.fin!.cell} ended as ${ne}` : null) });
    }
    const inv = d.inv;
    const invariants = inv
      ? [
          {
            name: "step-invariant",
            objs: [cells[0]![inv.cell]!.id, cells[0]![inv.cell2]!.id],
            check: () => {
              const [a, b] = [cells[0]![inv.cell]!, cells[0]![inv.cell2]!];
              return a.peek() + (inv.cell2 === inv.cell ? 0 : b.peek()) === inv.ne ? `c${inv.cell}+c${inv.cell2} is ${inv.ne}` : null;
            },
          },
        ]
      : [];
    const q = d.quiet;
    const quiescent = q
      ? [
          {
            name: "quiescent-invariant",
            keys: [0],
            objsOf: () => [cells[0]![q.cell]!.id, cells[0]![q.cell2]!.id],
            check: () => {
              const [a, b] = [cells[0]![q.cell]!, cells[0]![q.cell2]!];
              return a.peek() + (q.cell2 === q.cell ? 0 : b.peek()) === q.ne ? `quiescent c${q.cell}+c${q.cell2} is ${q.ne}` : null;
            },
          },
        ]
      : [];
    return { threads: d.threads.map((_, i) => ({ name: `T${i}`, body: body(i) })), final, invariants, quiescent };
  });
  return { program, finals };
}

/** Violated properties of a run, sorted. */
export function violated(r: ExploreResult): string[] {
  return [...new Set(r.violations.map((v) => v.property))].sort();
}

/**
 * Programs made of loops: each thread 1-3 instructions drawn mostly from freeze/restore retry
 * loops, spins and environment-failed freezes (plus plain loads and stores), on `cells` cells.
 * Their state graphs are dense with non-progress cycles that meet through states stored before
 * (cross edges), the shape in which the livelock refinement of persistent sets has to expand
 * states the DFS stack never held (stateful-persistent-livelock.test.ts).
 */
export function loopProgArb(cells: number, threads: number): fc.Arbitrary<ProgDesc> {
  const cell = fc.integer({ min: 0, max: cells - 1 });
  const small = fc.integer({ min: 0, max: 2 });
  const instr: fc.Arbitrary<Instr> = fc.oneof(
    fc.record({ k: fc.constant("retry" as const), cell, exp: small, other: cell, eq: small, v: valArb }),
    fc.record({ k: fc.constant("retry" as const), cell, exp: small, other: cell, eq: small, v: valArb }),
    fc.record({ k: fc.constant("spin" as const), cell, eq: small }),
    fc.record({ k: fc.constant("busy" as const), cell, exp: small, v: valArb }),
    fc.record({ k: fc.constant("store" as const), cell, v: valArb }),
    fc.record({ k: fc.constant("load" as const), cell }),
  );
  return fc.record({ cells: fc.constant(cells), threads: fc.array(fc.array(instr, { minLength: 1, maxLength: 3 }), { minLength: threads, maxLength: threads }) });
}
