// Symmetry series (issue 12): bench/scaling/sym-same-gfn-kK.yaml, K vCPUs faulting one GFN,
// declared interchangeable. Explores each in-process with the cache strategy, with and without
// the declared symmetry, and prints states, steps and CPU time of the exploration alone (the
// declaration's check apart), with the 1-minute load average. CPU time is the figure to compare
// on a shared machine.
//
//   node dist/bench/symmetry.js [--max-k K]
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { explore, Symmetry } from "../src/engine/index.js";
import { loadScenarioFile } from "../src/cli/scenario-file.js";
import { buildProgram, symmetryGenerators } from "../src/kvm/index.js";

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
console.log("| K | group order | check CPU | states without | states with | steps without | steps with | CPU without | CPU with | load |");
console.log("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
for (let k = 2; k <= maxK; k++) {
  const sc = loadScenarioFile(join(root, "bench", "scaling", `sym-same-gfn-k${k}.yaml`)).scenario;
  const p = buildProgram(sc, "upstream-6.19");
  let sym: Symmetry | undefined;
  const check = cpu(() => (sym = Symmetry.of(p, symmetryGenerators(sc, p))));
  const load = loadavg()[0]!.toFixed(1);
  let off: ReturnType<typeof explore> | undefined;
  let on: ReturnType<typeof explore> | undefined;
  const cOff = cpu(() => (off = explore(p, { strategy: "cache", properties: sc.properties })));
  const cOn = cpu(() => (on = explore(p, { strategy: "cache", properties: sc.properties, symmetry: sym! })));
  if (off!.verdict !== on!.verdict) throw new Error(`k=${k}: verdicts differ (${off!.verdict} vs ${on!.verdict})`);
  console.log(`| ${k} | ${sym!.order} | ${check.toFixed(2)} s | ${off!.stats.statesStored} | ${on!.stats.statesStored} | ${off!.stats.steps} | ${on!.stats.steps} | ${cOff.toFixed(2)} s | ${cOn.toFixed(2)} s | ${load} |`);
}
