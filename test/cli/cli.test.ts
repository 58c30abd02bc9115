import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("tdxmc check", () => {
  it("main job: every demo target has its expected verdict, exit 0", async () => {
    const r = await run(["check"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/lost-update\s+no-lost-update\s+yes/);
    expect(r.out).toMatch(/peterson\s+verified\s+yes/);
    expect(r.out).toMatch(/mutual-spin\s+livelock\s+yes/);
    expect(r.out).not.toMatch(/\bNO\b/);
  });

  it("is deterministic: byte-identical standard output", async () => {
    const a = await run(["check", "lost-update", "philosophers"]);
    const b = await run(["check", "lost-update", "philosophers"]);
    expect(a.out).toBe(b.out);
  });

  it("unknown target: one line, exit 2", async () => {
    const r = await run(["check", "no-such-thing"]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toContain("unknown target 'no-such-thing'");
  });

  it("bad option value: exit 2", async () => {
    expect((await run(["check", "--strategy", "magic"])).code).toBe(2);
    expect((await run(["check", "--max-executions", "-5"])).code).toBe(2);
  });

  it("a target that misses its expected verdict exits 1 or 3 (limit)", async () => {
    // With a single execution the exhaustive strategy cannot finish peterson: exit 3.
    const r = await run(["check", "peterson", "--strategy", "dpor", "--max-executions", "1"]);
    expect(r.code).toBe(3);
    expect(r.out).toContain("incomplete (max-executions)");
  });
});

describe("tdxmc replay", () => {
  it("replays the lost-update counterexample printed by check", async () => {
    const c = await run(["check", "lost-update"]);
    const sched = /replay: tdxmc replay lost-update (\S+)/.exec(c.out)![1]!;
    const r = await run(["replay", "lost-update", sched]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("violated: no-lost-update");
  });

  it("rejects a malformed or divergent schedule with exit 2", async () => {
    const a = await run(["replay", "lost-update", "v9:0.1"]);
    expect(a.code).toBe(2);
    expect(a.err).toContain("must start with 'v1:'");
    const b = await run(["replay", "lost-update", "v1:0.0.0.1"]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/step 3: thread 0 .* not enabled|ended/);
  });
});
