// The build-time check of the restriction on model thread code (tools/threadcheck; docs/design.md,
// "Restoring threads"; docs/model.md, "Writing a model thread"): today's model passes, the model bug
// fixed in 5a7814c and the vCPU run loop's dropped position are caught, and each rule has a small
// positive and negative fixture.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { checkSources, formatFinding, type Finding } from "../../tools/threadcheck/check.js";
import { run } from "../../tools/threadcheck/cli.js";
import { checkPaths, MODEL_ROOTS } from "../../tools/threadcheck/files.js";

const root = resolve(import.meta.dirname, "../..");

/** Check one in-memory fixture file (no imports: the ops are declared). */
function check(body: string): Finding[] {
  const text = `declare const cell: { load(l: string): number; store(v: number, l: string): number; rmw(f: (v: number) => number, l: string): number; waitLoad(p: (v: number) => boolean, l: string): number };
declare const t: { loopHead(label: string, ...locals: number[]): void; progress(): void };
declare function use(...xs: unknown[]): void;
${body}
`;
  return checkSources([{ fileName: "/virtual/threadcheck/fx.ts", text }], { root: "/virtual/threadcheck" }).findings;
}
const names = (fs: Finding[]): string[] => fs.map((f) => `${f.rule} ${/'([A-Za-z_$][\w$]*)'/.exec(f.message)?.[1] ?? ""}`.trim());

describe("threadcheck on the model", () => {
  it("today's model sources pass (every acknowledged finding has a reason)", () => {
    // The model and examples; `npm run lint` also checks the test programs (DEFAULT_ROOTS).
    const r = checkPaths(root, MODEL_ROOTS);
    expect(r.findings.map(formatFinding)).toEqual([]);
    // What it looked at: every loop head of the KVM model and the examples, and the calls reaching them.
    expect(r.stats.loopHeads).toBeGreaterThanOrEqual(12);
    expect(r.stats.loopingCalls).toBeGreaterThanOrEqual(20);
    expect(r.stats.opClosures).toBeGreaterThanOrEqual(50);
  });

  it("catches 5a7814c's bug: INIT_MEM_REGION's retry loop without pfn", () => {
    const file = join(root, "src/kvm/flows.ts");
    const fixed = readFileSync(file, "utf8");
    const head = 'c.t.loopHead("kvm_tdp_mmu_map_private_pfn: retry", gfn, pfn);';
    expect(fixed).toContain(head);
    const before = fixed.replace(head, 'c.t.loopHead("kvm_tdp_mmu_map_private_pfn: retry", gfn);');
    const r = checkPaths(root, ["src/kvm"], new Map([[file, before]]));
    const line = fixed.slice(0, fixed.indexOf(head)).split("\n").length;
    const pfnLine = fixed.slice(0, fixed.lastIndexOf("const pfn =", fixed.indexOf(head))).split("\n").length;
    expect(r.findings.map(formatFinding)).toEqual([
      `src/kvm/flows.ts:${line}:5: loopHead("kvm_tdp_mmu_map_private_pfn: retry") does not pass 'pfn' (line ${pfnLine}), which is live at the loop head and may differ between arrivals there; pass it (or a number that determines it) as a local [threadcheck/live]`,
    ]);
  });

  it("catches a caller's position dropped by a callee's loop head (the vCPU run loop's i)", () => {
    const file = join(root, "src/kvm/vcpu.ts");
    const fixed = readFileSync(file, "utf8");
    // The zero-step exit's call, without the frame it passes.
    const call = /yield\* tdxHandleEptViolation\(c, ([^,()]+(?:\([^()]*\))?), \{\}, \[i(?:, [^\]]*)?\]\);/;
    expect(fixed).toMatch(call);
    const r = checkPaths(root, ["src/kvm"], new Map([[file, fixed.replace(call, "yield* tdxHandleEptViolation(c, $1);")]]));
    // i, and whatever else of the run loop the frame carries today.
    expect(names(r.findings)).toContain("call i");
    expect(r.findings.every((f) => f.file === "src/kvm/vcpu.ts" && f.rule === "call")).toBe(true);
  });
});

describe("threadcheck rules on fixtures", () => {
  it("live: a value received before the loop and read after its head must be passed", () => {
    const loop = (locals: string) => `export function* f(): Generator<number, void, number> {
  const x = yield cell.load("x");
  for (;;) {
    t.loopHead("l"${locals});
    const y = yield cell.load("y");
    if (y === x) break;
  }
}`;
    expect(names(check(loop("")))).toEqual(["live x"]);
    expect(check(loop(", x"))).toEqual([]);
  });

  it("live: a let the loop changes must be passed, unless overwritten before any read; constants derived from passed locals are covered", () => {
    expect(names(check(`export function* f(): Generator<number, void, number> {
  let n = 0;
  for (;;) {
    t.loopHead("l");
    n++;
    if ((yield cell.store(n, "n")) === 3) return;
  }
}`))).toEqual(["live n"]);
    expect(check(`export function* f(): Generator<number, void, number> {
  let old: number;
  for (;;) {
    t.loopHead("l");
    old = yield cell.load("old");
    if (old !== 0) break;
  }
  use(old);
}`)).toEqual([]);
    expect(check(`export function* f(me: number): Generator<number, void, number> {
  const x = yield cell.load("x");
  const d = x * 2 + me;
  for (;;) {
    t.loopHead("l", x, me);
    if ((yield cell.store(d, "d")) === 0) break;
  }
}`)).toEqual([]);
  });

  it("call: locals live after a call that reaches a loop head go into an argument that every loop head hashes", () => {
    const src = (frame: string, pass: string) => `function* inner(g: number${frame}): Generator<number, void, number> {
  for (;;) {
    t.loopHead("in", g${frame ? ", ...frame" : ""});
    if ((yield cell.load("c")) === 0) return;
  }
}
export function* outer(): Generator<number, void, number> {
  for (let i = 0; i < 3; i++) yield* inner(7${pass});
}`;
    expect(names(check(src("", "")))).toEqual(["call i"]);
    expect(check(src(", frame: readonly number[] = []", ", [i]"))).toEqual([]);
    // An argument the callee does not hash does not count.
    expect(names(check(src(", frame: readonly number[] = [], _x = 0", ", [], i")))).toEqual(["call i"]);
    // Two calls with the same arguments cannot be told apart at the callee's loop head.
    const twice = (second: string) => `function* inner(g: number, frame: readonly number[] = []): Generator<number, void, number> {
  for (;;) {
    t.loopHead("in", g, ...frame);
    if ((yield cell.load("c")) === 0) return;
  }
}
export function* outer(): Generator<number, void, number> {
  yield* inner(7);
  yield cell.store(1, "between");
  yield* inner(${second});
}`;
    expect(check(twice("7")).map((f) => `${f.rule} ${f.line}`)).toEqual(["call 13"]);
    expect(check(twice("7, [1]"))).toEqual([]);
  });

  it("closure: a function carried by an op must not capture a let reassigned after the yield", () => {
    expect(names(check(`export function* f(): Generator<number, void, number> {
  let v = yield cell.load("v");
  yield cell.waitLoad((x) => x === v, "await v");
  v = 3;
  yield cell.store(v, "v");
}`))).toEqual(["closure v"]);
    expect(check(`export function* f(): Generator<number, void, number> {
  let v = yield cell.load("v");
  const w = v;
  yield cell.waitLoad((x) => x === w, "await w");
  v = 3;
  yield cell.store(v, "v");
  for (let r = 1; r <= 2; r++) yield cell.waitLoad((x) => x === r, "per-iteration binding");
}`)).toEqual([]);
  });

  it("global: thread code must not write module-level state", () => {
    expect(names(check(`let count = 0;
const seen: number[] = [];
export function* f(): Generator<number, void, number> {
  count++;
  seen.push(yield cell.load("x"));
}`))).toEqual(["global count", "global seen"]);
    expect(check(`const LIMIT = 3;
export function* f(): Generator<number, void, number> {
  const mine: number[] = [];
  for (let i = 0; i < LIMIT; i++) mine.push(yield cell.load("x"));
}`)).toEqual([]);
  });

  it("tdxmc-live-ok acknowledges a finding only with a reason, and an unused one is reported", () => {
    const src = (hatch: string) => `export function* f(): Generator<number, void, number> {
  const x = yield cell.load("x");
  for (;;) {
    ${hatch}
    t.loopHead("l");
    if ((yield cell.load("y")) === x) break;
  }
}`;
    expect(check(src("// tdxmc-live-ok: x is 0 or 1 and both arrivals behave alike"))).toEqual([]);
    expect(names(check(src("// tdxmc-live-ok:")))).toEqual(["hatch", "live x"]);
    expect(names(check(`// tdxmc-live-ok: nothing to acknowledge here
export const k = 1;`))).toEqual(["hatch"]);
  });

  it("the command (main.ts runs it): one line per finding, file:line:col, exit 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "threadcheck-"));
    try {
      writeFileSync(join(dir, "bad.ts"), `declare const cell: { load(l: string): number };
declare const t: { loopHead(label: string, ...locals: number[]): void };
export function* f(): Generator<number, void, number> {
  const x = yield cell.load("x");
  for (;;) {
    t.loopHead("l");
    if ((yield cell.load("y")) === x) break;
  }
}
`);
      let out = "";
      let err = "";
      const status = run([dir], root, { out: (s) => (out += s), err: (s) => (err += s) });
      expect(status).toBe(2);
      const lines = err.trim().split("\n");
      expect(lines[0]).toBe(`${join(dir, "bad.ts")}:6:5: loopHead("l") does not pass 'x' (line 4), which is live at the loop head and may differ between arrivals there; pass it (or a number that determines it) as a local [threadcheck/live]`);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/^threadcheck: 1 files, .*: 1 finding /);
      expect(out).toBe("");
      // A path that does not exist: one line, exit 2.
      err = "";
      expect(run([join(dir, "missing")], root, { out: (s) => (out += s), err: (s) => (err += s) })).toBe(2);
      expect(err).toMatch(/^threadcheck: ENOENT[^\n]*missing'?\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
