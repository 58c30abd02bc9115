// The default strategy finds shallow bugs whatever the order the threads are listed in: a
// preemption-bounded phase (bound 2, a counted budget of executions) runs before the exhaustive
// search (schedulers/portfolio.ts). Judged on counted executions, never on time.
import { describe, expect, it } from "vitest";
import { explore } from "../../src/engine/index.js";
import { SHALLOW_DEFAULTS } from "../../src/engine/schedulers/portfolio.js";
import { SCENARIOS, buildProgram, type Scenario } from "../../src/kvm/index.js";

function permutations<T>(a: readonly T[]): T[][] {
  if (a.length <= 1) return [[...a]];
  return a.flatMap((x, i) => permutations([...a.slice(0, i), ...a.slice(i + 1)]).map((p) => [x, ...p]));
}

/** Every permutation of `sc`'s threads under `preset` shows `property` within the shallow phase's budget. */
function everyOrder(sc: Scenario, preset: string, property: string): number[] {
  const used: number[] = [];
  for (const threads of permutations(sc.threads)) {
    const r = explore(buildProgram({ ...sc, threads }, preset), { strategy: sc.strategy ?? "cache", properties: [property] });
    expect(r.verdict, `${sc.name}@${preset}, threads ${threads.map((t) => t.name ?? t.kind).join(",")}`).toBe("violated");
    expect(r.violations[0]!.property).toBe(property);
    expect(r.stats.shallow?.found).toBe(true);
    expect(r.stats.executions).toBeLessThanOrEqual(SHALLOW_DEFAULTS.maxExecutions);
    used.push(r.stats.executions);
  }
  return used;
}

describe("shallow bugs first, whatever the thread order", () => {
  it("every built-in violating cell, every permutation of its threads: found by the bounded phase", () => {
    let cells = 0;
    let worst = 0;
    for (const sc of Object.values(SCENARIOS)) {
      for (const [preset, exp] of Object.entries(sc.expected)) {
        if (exp === "verified") continue;
        cells++;
        worst = Math.max(worst, ...everyOrder(sc, preset, exp.violated));
      }
    }
    expect(cells).toBeGreaterThan(20);
    expect(worst).toBeLessThanOrEqual(200);
  });

  it("the three-thread case that depended on the order (a zap racing a vCPU with zero-step armed and one accepting)", () => {
    // issue 12: with the zapper listed first, the stateful DFS gave no verdict after 1.09 M executions.
    const base = SCENARIOS["removal-vs-zero-step"]!;
    const sc: Scenario = {
      ...base,
      name: "zap-vs-zero-step-and-accept",
      initial: { tables: [{ level: 1, gfn: 0 }], leaves: [{ gfn: 0, state: "PENDING" }] },
      threads: [
        { kind: "vcpu", vcpu: 0, actions: [{ op: "access", gfn: 1 }] },
        { kind: "vcpu", vcpu: 1, actions: [{ op: "accept", gfn: 0 }] },
        { kind: "zap", name: "zapper", start: 0, end: 1 },
      ],
    };
    const used = everyOrder(sc, "seed", "mirror-sept-agreement");
    expect(used.length).toBe(6);
    // Without the first phase, the zapper-first order is still undecided after 2 000 executions.
    const zapFirst = buildProgram({ ...sc, threads: [sc.threads[2]!, sc.threads[0]!, sc.threads[1]!] }, "seed");
    const plain = explore(zapFirst, { strategy: "cache", shallow: false, properties: ["mirror-sept-agreement"], maxExecutions: 2000 });
    expect(plain.verdict).toBe("incomplete");
  });

  it("the first phase changes no verdict of a verified cell and is skipped when every violation is wanted", () => {
    const sc = SCENARIOS["seed-race"]!;
    const p = buildProgram(sc, "upstream-6.19");
    const a = explore(p, { strategy: "cache" });
    const b = explore(p, { strategy: "cache", shallow: false });
    expect(a.verdict).toBe(b.verdict);
    expect(a.stats.statesStored).toBe(b.stats.statesStored);
    expect(a.stats.shallow?.found).toBe(false);
    // A verified cell this small is decided by the probe (the stateful search within its budget of
    // stored states), with the unbounded search's states; a violating one never is (above: every
    // violating cell is found by the bounded phase).
    expect(a.stats.shallow?.probeStates).toBe(SHALLOW_DEFAULTS.probeStates);
    expect(a.stats.statesStored).toBeLessThanOrEqual(SHALLOW_DEFAULTS.probeStates);
    expect(explore(p, { strategy: "cache", allViolations: true }).stats.shallow).toBeUndefined();
  });
});
