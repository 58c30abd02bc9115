// Symmetry series (issue 12): bench/scaling/sym-same-gfn-kK.yaml, K vCPUs faulting one GFN,
// declared interchangeable, and bench/scaling/sym-gfn-kK.yaml, vCPU i faulting GFN i, declared
// interchangeable with their GFNs (GFN renaming). Explores each in-process with the cache
// strategy, with and without the declared symmetry, and prints states, steps and CPU time of the
// exploration alone (the declaration's check apart), with the 1-minute load average. CPU time is
// the figure to compare on a shared machine. Then the scaling series' zap-k3/k4 with their vCPUs
// exchanged with their GFNs: the check refuses them (printed: where the walks saw the difference).
//
//   node dist/bench/symmetry.js [--max-k K]
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { explore, Symmetry, SymmetryError } from "../src/engine/index.js";
import { loadScenarioFile } from "../src/cli/scenario-file.js";
import { buildProgram, symmetryGenerators, type SymmetryDecl } from "../src/kvm/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, here.includes("dist") ? "../.." : "..");
const i = process.argv.indexOf("--max-k");
const maxK = i >= 0 ? Number(process.argv[i + 1]) : 4;
const cpu = (f: () => void): number => {
  const t = process.cpuUsage();
  f();
  const c = process.cpuUsage(t);
  return (c.user + c.system) / 1e6;
};
for (const series of ["sym-same-gfn", "sym-gfn"]) {
  console.log(`\n${series}-kK (upstream-6.19)\n`);
  console.log("| K | group order | check CPU | states without | states with | steps without | steps with | CPU without | CPU with | load |");
  console.log("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (let k = 2; k <= maxK; k++) {
    const sc = loadScenarioFile(join(root, "bench", "scaling", `${series}-k${k}.yaml`)).scenario;
    const p = buildProgram(sc, "upstream-6.19");
    let sym: Symmetry | undefined;
    const check = cpu(() => (sym = Symmetry.of(p, symmetryGenerators(sc, p))));
    const load = loadavg()[0]!.toFixed(1);
    let off: ReturnType<typeof explore> | undefined;
    let on: ReturnType<typeof explore> | undefined;
    const cOff = cpu(() => (off = explore(p, { strategy: "cache", properties: sc.properties })));
    const cOn = cpu(() => (on = explore(p, { strategy: "cache", properties: sc.properties, symmetry: sym! })));
    if (off!.verdict !== on!.verdict) throw new Error(`${series} k=${k}: verdicts differ (${off!.verdict} vs ${on!.verdict})`);
    console.log(`| ${k} | ${sym!.order} | ${check.toFixed(2)} s | ${off!.stats.statesStored} | ${on!.stats.statesStored} | ${off!.stats.steps} | ${on!.stats.steps} | ${cOff.toFixed(2)} s | ${cOn.toFixed(2)} s | ${load} |`);
  }
}
// The scaling series (bench/scaling/zap-kK.yaml) with vCPU0 and vCPU1 exchanged with GFNs 0 and 1
// (K = 4 also: the subtrees 0-1 and 2-3 with vCPU2 and vCPU3): refused by the check.
console.log("\nzap-kK with GFN renaming (upstream-6.19)\n");
const zapDecls: Record<number, SymmetryDecl[]> = {
  3: [{ threads: ["vCPU0", "vCPU1"], gfns: { 0: 1, 1: 0 } }],
  4: [{ threads: ["vCPU0", "vCPU2"], cycles: [["vCPU1", "vCPU3"]], gfns: { 0: 2, 1: 3, 2: 0, 3: 1 } }],
};
for (const k of [3, 4]) {
  const sc = { ...loadScenarioFile(join(root, "bench", "scaling", `zap-k${k}.yaml`)).scenario, symmetry: zapDecls[k]! };
  const p = buildProgram(sc, "upstream-6.19");
  try {
    Symmetry.of(p, symmetryGenerators(sc, p));
    console.log(`- zap-k${k}: accepted`);
  } catch (e) {
    if (!(e instanceof SymmetryError)) throw e;
    console.log(`- zap-k${k}: refused: ${e.message}`);
  }
}
