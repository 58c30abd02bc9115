// A verdict depends only on the scenario, the preset and the options: the main job gives the same
// bytes on stdout alone and beside a busy sibling process (no wall-clock limit can decide), exits 0
// with every cell as expected, and every built-in cell finishes under the default counted budgets
// with at least 5x margin. This is the one test that runs the whole main job.
//
// The two runs differ in everything but the inputs:
//   alone: in this process (the CLI from its TypeScript sources), cells one after another (--jobs 1),
//          with nothing of ours running beside it;
//   busy:  the compiled CLI (dist/, what `npx tdxmc` runs) in a child process, cells on 2 worker
//          threads (finishing in whatever order the load gives), beside a sibling process that spins
//          on a core for as long as the run takes.
// Both run the WHOLE main job (every built-in scenario under every preset), not a subset. --json is
// compared rather than the text matrix: it carries every cell's verdict and its counted statistics
// (executions, states, steps), so more bytes must agree; the search is the same.
//
// Cost (measured on the 2-core machine, see the line this test prints): about 100 s of CPU per run,
// i.e. about 200 s of CPU for the two, plus what the sibling burns during the busy run.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BYTES_PER_STATE, DEFAULT_BUDGETS } from "../../src/cli/budgets.js";
import { run } from "../helpers/run-cli.js";

const ROOT = join(import.meta.dirname, "../..");
const ARGS = ["check", "--json"];

interface Spawned {
  code: number | null;
  out: string;
  err: string;
  /** user + system CPU of the child, worker threads included (ms). */
  cpuMs: number;
  wallMs: number;
}

/** The compiled CLI as bin/tdxmc.js runs it (main, then exit), with its CPU time reported. */
function spawnCompiled(args: string[]): Promise<Spawned> {
  const stats = join(mkdtempSync(join(tmpdir(), "tdxmc-determinism-")), "usage.json");
  const js = `import("./dist/src/cli/main.js").then((m) => m.main(${JSON.stringify(args)})).then((c) => { const u = process.resourceUsage(); require("node:fs").writeFileSync(${JSON.stringify(stats)}, JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 })); process.exit(c); })`;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", js], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => void (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => void (err += s));
    child.on("error", reject);
    child.on("close", (code) => {
      const cpuMs = existsSync(stats) ? (JSON.parse(readFileSync(stats, "utf8")) as { cpuMs: number }).cpuMs : -1;
      resolve({ code, out, err, cpuMs, wallMs: performance.now() - t0 });
    });
  });
}

describe("the main job", () => {
  it("exit 0, every cell as expected and within its budgets with 5x margin; the same bytes alone (in-process, --jobs 1) and beside a busy sibling (compiled, --jobs 2)", async () => {
    // dist/ must be the compiled form of these sources (npm ci builds it; this rebuilds only if a source is newer).
    const build = spawnSync(process.execPath, [join(ROOT, "bin/build-if-stale.js")], { cwd: ROOT, encoding: "utf8" });
    expect(build.status, build.stderr).toBe(0);

    const load0 = loadavg()[0]!;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    // Each cell's provenance records the run's --jobs (the one field that may differ between the runs).
    const sameJobs = (s: string): string => s.replace(/"jobs": \d+/g, '"jobs": 0');
    const alone = await run([...ARGS, "--jobs", "1"]).then((r) => ({ ...r, out: sameJobs(r.out) }));
    const c1 = process.cpuUsage(c0);
    const aloneWall = performance.now() - t0;
    const aloneCpu = (c1.user + c1.system) / 1000;

    // What the run must show, checked on the run alone (the busy run must then be byte-identical).
    expect(alone.code, alone.err).toBe(0);
    const j = JSON.parse(alone.out) as {
      exitCode: number;
      mainJob: boolean;
      cells: { scenario: string; preset: string; verdict: string; expected: string | null; asExpected: boolean | null; stats: { strategy: string; executions: number; statesStored: number; steps: number; maxDepth: number } }[];
    };
    expect(j.mainJob).toBe(true);
    expect(j.exitCode).toBe(0);
    expect(j.cells.length).toBeGreaterThan(100);
    const mem = (DEFAULT_BUDGETS.maxMemoryMb * 1048576) / BYTES_PER_STATE;
    for (const c of j.cells) {
      const s = c.stats;
      const at = `${c.scenario}@${c.preset} (${s.strategy})`;
      // Every cell has an expected verdict, and has it.
      expect(c.expected, at).not.toBeNull();
      expect(c.asExpected, `${at}: expected ${c.expected}, got ${c.verdict}`).toBe(true);
      expect(s.executions * 5, at).toBeLessThanOrEqual(DEFAULT_BUDGETS.maxExecutions);
      expect(s.statesStored * 5, at).toBeLessThanOrEqual(DEFAULT_BUDGETS.maxStates);
      expect(s.statesStored * 5, at).toBeLessThanOrEqual(mem);
      expect(s.maxDepth * 5, at).toBeLessThanOrEqual(DEFAULT_BUDGETS.maxSteps);
      // Each step adds at most one state-graph edge.
      expect(s.steps * 5, at).toBeLessThanOrEqual(DEFAULT_BUDGETS.maxGraphEdges);
    }

    // The sibling spins on a core until the busy run ends (then it is ended, by its pid); it starts first.
    const sibling = spawn(process.execPath, ["-e", "const end = Date.now() + 1800000; while (Date.now() < end) {}"], { stdio: "ignore" });
    let busy: Spawned;
    const load1 = loadavg()[0]!;
    try {
      busy = await spawnCompiled([...ARGS, "--jobs", "2"]).then((r) => ({ ...r, out: sameJobs(r.out) }));
    } finally {
      sibling.kill("SIGKILL");
    }
    const load2 = loadavg()[0]!;
    expect(busy.code, busy.err.slice(0, 2000)).toBe(0);
    // Byte for byte (a mismatch shows the first cell that differs rather than 200 KB of JSON).
    if (busy.out !== alone.out) {
      const b = JSON.parse(busy.out) as typeof j;
      const k = j.cells.findIndex((c, i) => JSON.stringify(c) !== JSON.stringify(b.cells[i]));
      expect(b.cells[k], `first differing cell: ${j.cells[k]?.scenario}@${j.cells[k]?.preset}`).toEqual(j.cells[k]);
    }
    expect(busy.out).toBe(alone.out);

    // The figures (for docs and reviews): CPU is what the suite pays; wall time depends on the load.
    console.log(
      `main job: ${j.cells.length} cells; alone (in-process, --jobs 1): ${(aloneCpu / 1000).toFixed(1)} s CPU, ${(aloneWall / 1000).toFixed(1)} s wall; ` +
        `busy (compiled, --jobs 2, sibling spinning): ${(busy.cpuMs / 1000).toFixed(1)} s CPU, ${(busy.wallMs / 1000).toFixed(1)} s wall; load average ${load0.toFixed(1)} / ${load1.toFixed(1)} / ${load2.toFixed(1)} (before / between / after)`,
    );
  }, 3_600_000);
});
