// Which files the thread-code check reads, and one run of it over them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkSources, type CheckResult } from "./check.js";

/** The model sources and the example programs: the thread code users run. */
export const MODEL_ROOTS: readonly string[] = ["src/kvm", "src/tdx", "src/examples", "bench"];
/** What `npm run threadcheck` reads: the model, and the test programs written against the engine. */
export const DEFAULT_ROOTS: readonly string[] = [...MODEL_ROOTS, "test"];

/**
 * Left out of the default roots. test/engine/gen.ts (the random programs of the differential
 * tests) keys its spin loop's head by the instruction (`spin#${instrId(i)}` in the label, which
 * fixes the whole interpreter stack) and passes every register: sound, but not in a form the check
 * can relate to the locals it determines (21 findings).
 */
export const EXCLUDED: readonly string[] = ["test/engine/gen.ts"];

const GENERATOR = /function\s*\*|^\s*(?:(?:public|private|protected|static|async)\s+)*\*\s*(?:[\w$]+|\[[^\]]+\])\s*\(/m;

export function collect(root: string, paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  };
  for (const p of paths) walk(resolve(root, p));
  const skip = new Set(EXCLUDED.map((e) => resolve(root, e)));
  return paths === DEFAULT_ROOTS ? out.filter((f) => !skip.has(f)) : out;
}

/** Check the files under `paths` (relative to `root`); `override` replaces a file's text (tests). */
export function checkPaths(root: string, paths: readonly string[] = DEFAULT_ROOTS, override: ReadonlyMap<string, string> = new Map()): CheckResult {
  const texts = collect(root, paths).map((f) => ({ fileName: f, text: override.get(f) ?? readFileSync(f, "utf8") }));
  // Thread code is generator code: a file without a generator function or method holds none.
  return checkSources(texts.filter((t) => GENERATOR.test(t.text)), { root });
}
