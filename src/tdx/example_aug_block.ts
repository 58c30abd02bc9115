// Usage example of the module model on its own (docs/model-tdx-module.md): two host threads race
// TDH.MEM.PAGE.AUG (tree lock SHARED) and TDH.MEM.RANGE.BLOCK (tree lock EXCLUSIVE) on different
// GPAs of one TD; the engine finds the interleaving where AUG gets TDX_OPERAND_BUSY|SEPT_TREE.
// Run: npx tsx src/tdx/example_aug_block.ts
import { pathToFileURL } from "node:url";
import { defineProgram, explore, formatStepTable, type ThreadApi } from "../engine/index.js";
import { TdxModule, statusString, type Status } from "./index.js";

export function augVsBlock(): { text: string; aug: Status | undefined; block: Status | undefined } {
  let tdx!: TdxModule;
  const got: { aug?: Status; block?: Status } = {};
  const program = defineProgram("aug-vs-block", (w) => {
    tdx = new TdxModule(w, {
      levels: 3, fanout: 2, pfns: 4,
      initial: [
        { gpa: 0, level: 2, state: "NL_MAPPED", pfn: 0 },
        { gpa: 0, level: 1, state: "NL_MAPPED", pfn: 1 },
        { gpa: 1, level: 0, state: "MAPPED", pfn: 2 },
      ],
    });
    return {
      threads: [
        { name: "host0: AUG gpa 0", body: function* (_t: ThreadApi) { got.aug = yield* tdx.memPageAug(0, 0, 3); } },
        { name: "host1: BLOCK gpa 1", body: function* (_t: ThreadApi) { got.block = yield* tdx.memRangeBlock(1, 0); } },
      ],
      final: [{ name: "aug-busy", check: () => (got.aug !== undefined && tdx.statusName(got.aug) === "TDX_OPERAND_BUSY|SEPT_TREE" ? `AUG -> ${statusString(got.aug)}; BLOCK -> ${statusString(got.block!)}` : null) }],
    };
  });
  const res = explore(program, { strategy: "dpor" });
  const v = res.violations[0];
  const text = v
    ? `${v.message}\n\n${formatStepTable(program.threads.map((t) => t.name), v.steps, { labels: false })}\n\nschedule: ${v.schedule}`
    : "no interleaving found";
  return { text, aug: got.aug, block: got.block };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) console.log(augVsBlock().text);
