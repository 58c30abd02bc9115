// The shared state of a program: one flat Int32Array of cells, carved into named objects.
//
// Every shared object (atomic cell, lock, counter, ...) owns a few consecutive cells. Cells hold
// small integers or interned tokens; a model that needs a 64-bit encoding (an SPTE, a TDX status)
// keeps a small token in the cell and produces the 64-bit form only when printing (`fmt`).
// Because all shared state is in one typed array, an execution can be reset by one copy, and a
// state can be fingerprinted without knowing what the objects mean.

export type Formatter = (v: number) => string;

export interface ObjInfo {
  readonly id: number;
  readonly name: string;
  /** Primitive kind ("cell", "rwlock", ...) — for printing only. */
  readonly kind: string;
  /** Index of the object's first cell in `World.mem`. */
  readonly base: number;
  readonly size: number;
  readonly fmt: Formatter;
}

export const decimal: Formatter = (v) => String(v);

/**
 * A name built when it is asked for: `of(i)`. The objects of a large array (a 1 GiB TD has 2.1 M:
 * S-EPT entries, PAMT entries, pages, guest_memfd slots) then keep a shared function and an index
 * instead of a string each; the name reads the same (traces, provenance, counterexamples).
 */
export interface LazyName {
  readonly of: (i: number) => string;
  readonly i: number;
}

/** One object's record: `name` is a string given at allocation or built from a LazyName on use. */
class Obj implements ObjInfo {
  constructor(
    readonly id: number,
    private readonly nm: string | ((i: number) => string),
    private readonly ni: number,
    readonly kind: string,
    readonly base: number,
    readonly size: number,
    readonly fmt: Formatter,
  ) {}
  get name(): string {
    const n = this.nm;
    return typeof n === "string" ? n : n(this.ni);
  }
}

export class World {
  readonly objs: ObjInfo[] = [];
  private readonly initCells: number[] = [];
  private sealed = false;
  /** The memory of the execution currently running. Explorers swap/reset it; models read it via primitives. */
  mem: Int32Array = new Int32Array(0);
  /**
   * The thread whose code is running now (set by the engine around every resume), so that library
   * code called from thread code (a SEAMCALL leaf) can assert or report without being handed it.
   */
  current: import("./program.js").ThreadApi | null = null;
  /**
   * Set by the engine while thread code runs: a thread that reads shared state outside a visible
   * step (a sanity check with `peek()`) has its future depend on what it read, so the engine records
   * the value (and replays it when it rebuilds the thread). Null outside thread code.
   */
  onPeek: ((v: number, cell: number) => number) | null = null;

  /** Read cell `i` (what every primitive's `peek()` uses). */
  read(i: number): number {
    const v = this.mem[i]!;
    return this.onPeek === null ? v : this.onPeek(v, i);
  }

  alloc(name: string | LazyName, kind: string, init: readonly number[], fmt: Formatter = decimal): ObjInfo {
    if (this.sealed) throw new Error(`World: cannot allocate '${typeof name === "string" ? name : name.of(name.i)}' after the program started`);
    const info: ObjInfo = typeof name === "string" ? new Obj(this.objs.length, name, 0, kind, this.initCells.length, init.length, fmt) : new Obj(this.objs.length, name.of, name.i, kind, this.initCells.length, init.length, fmt);
    for (const v of init) this.initCells.push(v | 0);
    this.objs.push(info);
    return info;
  }

  /** Freeze the layout; from now on `reset()` restores the initial values. */
  seal(): void {
    if (!this.sealed) {
      this.sealed = true;
      this.mem = Int32Array.from(this.initCells);
    }
  }

  get initial(): readonly number[] {
    return this.initCells;
  }

  reset(): void {
    this.seal();
    this.mem.set(this.initCells);
  }

  /** Name of object `id`, for traces. */
  name(id: number): string {
    return this.objs[id]?.name ?? `#${id}`;
  }
}
