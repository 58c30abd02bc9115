// A verdict depends only on the scenario, the preset and the options: the main job gives the same
// bytes on stdout alone and beside a busy sibling process (no wall-clock limit can decide), and
// every built-in cell finishes under the default counted budgets with at least 5x margin.
import { spawn } from "node:child_process";
import { describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { BYTES_PER_STATE, DEFAULT_BUDGETS } from "../../src/cli/budgets.js";

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    return { code: await main(args), out };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe("the main job", () => {
  it("gives the same bytes alone and beside a busy sibling, exit 0, every cell within its budgets with 5x margin", async () => {
    const args = ["check", "--json", "--jobs", "1"];
    const alone = await run(args);
    // The sibling spins on a core for as long as the second run takes (then it is ended, by its pid).
    const sibling = spawn(process.execPath, ["-e", "const end = Date.now() + 600000; while (Date.now() < end) {}"], { stdio: "ignore" });
    let busy: { code: number; out: string };
    try {
      busy = await run(args);
    } finally {
      sibling.kill("SIGKILL");
    }
    expect(busy.out).toBe(alone.out);
    expect(alone.code).toBe(0);
    const j = JSON.parse(alone.out) as { cells: { scenario: string; preset: string; stats: { strategy: string; executions: number; statesStored: number; steps: number; maxDepth: number } }[] };
    expect(j.cells.length).toBeGreaterThan(50);
    const mem = (DEFAULT_BUDGETS.maxMemoryMb * 1048576) / BYTES_PER_STATE;
    for (const c of j.cells) {
      const s = c.stats;
      const at = `${c.scenario}@${c.preset} (${s.strategy})`;
      expect(s.executions * 5, at).toBeLessThanOrEqual(DEFAULT_BUDGETS.maxExecutions);
      expect(s.statesStored * 5, at).toBeLessThanOrEqual(DEFAULT_BUDGETS.maxStates);
      expect(s.statesStored * 5, at).toBeLessThanOrEqual(mem);
      expect(s.maxDepth * 5, at).toBeLessThanOrEqual(DEFAULT_BUDGETS.maxSteps);
      // Each step adds at most one state-graph edge.
      expect(s.steps * 5, at).toBeLessThanOrEqual(DEFAULT_BUDGETS.maxGraphEdges);
    }
  }, 3_600_000); // two main-job runs in-process: about 80 s on a quiet 2-core machine, far more under load
});
