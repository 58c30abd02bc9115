// tdxmc command line.
import { Command, CommanderError } from "commander";
import { runCheck } from "./check.js";
import { runReplay } from "./replay.js";
import { EXIT, UsageError } from "./errors.js";
import { STRATEGIES } from "../engine/index.js";

export const VERSION = "0.1.0";

function int(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new UsageError(`option ${name}: '${v}' is not a non-negative integer`);
    return Number(v);
  };
}

function strategy(v: string): string {
  if (!(STRATEGIES as readonly string[]).includes(v)) throw new UsageError(`option --strategy: unknown strategy '${v}' (one of ${STRATEGIES.join(", ")})`);
  return v;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const out = (s: string): void => void process.stdout.write(s);
  const program = new Command("tdxmc")
    .description("Model checker of Linux KVM's TDX private-memory protocol (TDP MMU mirror vs. TDX Secure EPT)")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => void process.stderr.write(s) });

  program
    .command("check")
    .description("explore every interleaving of the built-in targets (or the named ones) and compare with their expected verdicts")
    .argument("[targets...]", "built-in target names (default: all)")
    .option("--strategy <name>", `exploration strategy: ${STRATEGIES.join("|")}`, strategy)
    .option("--preemptions <n>", "bounded: largest preemption bound", int("--preemptions"))
    .option("--seed <n>", "seed for random and pct", int("--seed"))
    .option("--max-executions <n>", "stop after this many executions", int("--max-executions"))
    .option("--max-states <n>", "stop after this many stored states", int("--max-states"))
    .option("--time-limit <s>", "stop after this many seconds", int("--time-limit"))
    .option("--all-violations", "report one counterexample per violated property")
    .option("--json", "machine-readable output")
    .option("--timings", "include wall-clock times in the output")
    .addHelpText("after", "\nExamples:\n  tdxmc check                 # every built-in target, expected verdicts compared\n  tdxmc check lost-update     # one target, with its minimized counterexample\n  tdxmc check peterson --strategy bounded --preemptions 1\n")
    .action(async (targets: string[], opts) => {
      code = await runCheck(targets, opts, out);
    });

  program
    .command("replay")
    .description("re-run a recorded schedule of a built-in target and print its step table")
    .argument("<target>", "built-in target name")
    .argument("<schedule>", "schedule string (v1:...)")
    .addHelpText("after", "\nExample:\n  tdxmc replay lost-update v1:0.1.0.1\n")
    .action((target: string, schedule: string) => {
      code = runReplay(target, schedule, out);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return EXIT.ok;
      return EXIT.usage;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`tdxmc: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}
