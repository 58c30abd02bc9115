// The thread-code check as a command (tools/threadcheck/main.ts runs it; the test calls it in-process).
// Exit 0 when clean, 2 with one line per finding (`file:line:col: message`) on stderr otherwise.
import { formatFinding } from "./check.js";
import { checkPaths, DEFAULT_ROOTS } from "./files.js";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export function run(argv: readonly string[], root: string, io: Io): number {
  let result;
  try {
    result = checkPaths(root, argv.length > 0 ? argv : DEFAULT_ROOTS);
  } catch (e) {
    io.err(`threadcheck: ${(e as Error).message.split("\n")[0]}\n`);
    return 2;
  }
  const { findings, stats } = result;
  for (const f of findings) io.err(`${formatFinding(f)}\n`);
  const summary = `threadcheck: ${stats.files} files, ${stats.generators} generator functions, ${stats.loopHeads} loop heads, ${stats.loopingCalls} calls reaching loop heads, ${stats.opClosures} op-carried functions, ${stats.acknowledged} acknowledged (tdxmc-live-ok)`;
  if (findings.length > 0) {
    io.err(`${summary}: ${findings.length} finding${findings.length === 1 ? "" : "s"} (docs/model.md, "Writing a model thread")\n`);
    return 2;
  }
  io.out(`${summary}: ok\n`);
  return 0;
}
