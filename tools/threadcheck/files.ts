// Which files the thread-code check reads, and one run of it over them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkSources, type CheckResult } from "./check.js";

/** The model sources and the programs written against the engine (thread code lives there). */
export const DEFAULT_ROOTS: readonly string[] = ["src/kvm", "src/tdx", "src/examples", "bench/race.ts"];

export function collect(root: string, paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  };
  for (const p of paths) walk(resolve(root, p));
  return out;
}

/** Check the files under `paths` (relative to `root`); `override` replaces a file's text (tests). */
export function checkPaths(root: string, paths: readonly string[] = DEFAULT_ROOTS, override: ReadonlyMap<string, string> = new Map()): CheckResult {
  const files = collect(root, paths);
  return checkSources(
    files.map((f) => ({ fileName: f, text: override.get(f) ?? readFileSync(f, "utf8") })),
    { root },
  );
}
