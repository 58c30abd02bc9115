// The simulator's speed work keeps text and names as they were: interned labels (src/engine/label.ts)
// and names built on use (World LazyName).
import { describe, expect, it } from "vitest";
import { lbl } from "../../src/engine/label.js";
import { World } from "../../src/engine/world.js";
import { Atomic } from "../../src/engine/primitives/atomic.js";
import { buildProgram } from "../../src/kvm/index.js";
import { buildWorkload } from "../../src/sim/workloads.js";

describe("lbl: interned labels", () => {
  it("gives the text of the untagged template for 0-4 substitutions of any kind", () => {
    const obj = { toString: () => "obj" };
    for (const v of ["leaf", 7, -0, 1.5, true, null, undefined, obj, [1, 2]]) {
      expect(lbl`plain`).toBe(`plain`);
      expect(lbl`${v}: TDR lock`).toBe(`${v}: TDR lock`);
      expect(lbl`a ${v} b ${3} c`).toBe(`a ${v} b ${3} c`);
      expect(lbl`${v}${v}${"x"}`).toBe(`${v}${v}${"x"}`);
      expect(lbl`[${1}|${v}|${2}|${v}]`).toBe(`[${1}|${v}|${2}|${v}]`);
    }
  });

  it("hands out one string per call site and value, and stays right past its cache cap", () => {
    const at = (g: number): string => lbl`read SPTE (gfn ${g})`;
    for (let g = 0; g < 1100; g++) expect(at(g)).toBe(`read SPTE (gfn ${g})`);
    const two = (a: number, b: number): string => lbl`L${a} gfn ${b}`;
    for (let a = 0; a < 70; a++) for (let b = 0; b < 20; b++) expect(two(a, b)).toBe(`L${a} gfn ${b}`);
    // An object's text may change between calls: it is not cached.
    let n = 0;
    const o = { toString: () => `v${n}` };
    expect(lbl`x ${o}`).toBe("x v0");
    n = 1;
    expect(lbl`x ${o}`).toBe("x v1");
  });
});

describe("World: names built on use", () => {
  it("a LazyName reads as the string it stands for", () => {
    const w = new World();
    const of = (i: number): string => `cell[${i}]`;
    const a = new Atomic(w, "plain");
    const b = new Atomic(w, { of, i: 41 });
    expect(w.name(a.id)).toBe("plain");
    expect(w.name(b.id)).toBe("cell[41]");
    expect(w.objs[b.id]!.name).toBe("cell[41]");
  });

  it("a built TD names its S-EPT entries, PAMT entries, pages, gmem and attribute cells as before", () => {
    const b = buildWorkload({ kind: "boot", vcpus: 2, pages: 25 });
    const names = new Set(buildProgram(b.scenario, "upstream-7.2").world.objs.map((o) => o.name));
    for (const n of ["sept.L0[gpa 7]", "sept.L1[gpa 5]", "pamt[pfn 3]", "pamt[TDR]", "pamt[TDVPR1]", "page[pfn 50]", "gmem[24]", "mem_attr[0]", "mirror_root[4]"]) expect(names.has(n), n).toBe(true);
  });
});
