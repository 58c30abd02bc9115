// tdxmc command line: check, replay, ablate, list, explain, validate, help.
// Every command returns a code of the one table in exit-codes.ts, reads user files through
// safe-input.ts, and reports bad input as a UsageError (one line, exit 2; with --json also one JSON
// document on stdout).
import { Command, CommanderError, Option } from "commander";
import { STRATEGIES } from "../engine/index.js";
import { runAblate, runAblateCatalogue } from "./ablate.js";
import { runCheck, type CheckIo } from "./check.js";
import { EXIT, UsageError } from "./errors.js";
import { exitCodeTable } from "./exit-codes.js";
import { jsonHeader } from "./provenance.js";
import { runExplain, runList } from "./list.js";
import { VERSION } from "./provenance.js";
import { BYTES_PER_STATE, DEFAULT_BUDGETS } from "./budgets.js";
import { quote, suggest } from "./safe-input.js";
import { resolveForView, runReplay } from "./replay.js";
import { registerSimulate } from "./simulate.js";
import { collect, intOption, MAX_JOBS } from "./targets.js";
import { runValidate } from "./validate.js";
import { runView } from "./view.js";

export { VERSION };

function io(): CheckIo {
  return {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    tty: process.stderr.isTTY === true,
    onInterrupt: (f) => {
      let n = 0;
      const h = (): void => {
        if (++n > 1) process.exit(EXIT.interrupted);
        process.stderr.write("\ntdxmc: interrupted; finishing with partial results (Ctrl-C again to quit)\n");
        f();
      };
      process.on("SIGINT", h);
      return () => void process.off("SIGINT", h);
    },
  };
}

/** Wait until what was written to `s` has left the process (a pipe is asynchronous; the launcher exits right after). */
function flushed(s: NodeJS.WriteStream): Promise<void> {
  if (s.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => void s.write("", () => resolve()));
}

let epipe = false;

export async function main(argv: string[]): Promise<number> {
  // A reader that goes away (tdxmc check | head) ends the run quietly, as SIGPIPE would.
  if (!epipe) {
    epipe = true;
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(141);
      throw e;
    });
  }
  const code = await run(argv);
  await flushed(process.stdout);
  await flushed(process.stderr);
  return code;
}

async function run(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const out = (s: string): void => void process.stdout.write(s);
  const err = (s: string): void => void process.stderr.write(s);
  const json = argv.includes("--json");
  // Commander's messages may span lines ("did you mean" on the next one): keep them on one.
  // Prefixed like every other message, with the command the user ran: "tdxmc: explain: missing
  // required argument 'name'", not a bare "error: ...".
  const oneLine =
    (cmd?: string) =>
    (s: string, write: (s: string) => void): void =>
      write(`tdxmc: ${cmd ? `${cmd}: ` : ""}${s.trim().replace(/^error: /, "").split("\n").map((l) => l.trim()).filter(Boolean).join(" ")}\n`);
  const program = new Command("tdxmc")
    .description("Model checker of Linux KVM's TDX private-memory protocol (TDP MMU mirror vs. TDX Secure EPT)")
    .version(VERSION)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: out, writeErr: err, outputError: oneLine() })
    .addHelpText(
      "after",
      `
Examples:
  tdxmc check                          # the main job: every scenario x every preset, expected verdicts compared
  tdxmc check seed-race --protocol seed
  tdxmc replay 'seed-race@seed:<fingerprint>:z2:0x18.1x21.0x11' --explain
  tdxmc ablate seed-race               # which switch's absence breaks which property
  tdxmc list                           # scenarios, presets, switches, properties
  tdxmc explain zap-lock
  tdxmc help check                     # help on one command

Exit codes:
${exitCodeTable()}`,
    );
  const sub = (c: Command): Command => c.exitOverride().configureOutput({ writeOut: out, writeErr: err, outputError: oneLine(c.name()) });

  sub(
    program
      .command("check")
      .description("explore scenarios under protocol presets; print the verdict matrix and minimized counterexamples")
      .argument("[scenario...]", "built-in scenario names, scenario files (.yaml), or demo:NAME (default: every built-in scenario under every preset)")
      .option("--protocol <preset[,preset]>", "check under these presets only (default: every preset, or the file's 'protocol')")
      .option("--set <switch=value>", "override a switch on top of the preset (repeatable)", collect)
      .option("--module-version <version>", "TDX module version (1.0, 1.5.16, 1.5.20, 1.5.25; default: the preset's, else 1.5.25)")
      .addOption(new Option("--strategy <name>", `exploration strategy (default: the scenario's, else cache = stateful search)`).choices([...STRATEGIES]))
      .option("--preemptions <n>", "bounded: largest preemption bound", intOption("--preemptions"))
      .option("--seed <n>", "seed for random and pct", intOption("--seed"))
      .option("--max-executions <n>", `counted budget: executions per cell (default ${DEFAULT_BUDGETS.maxExecutions})`, intOption("--max-executions", 1))
      .option("--max-states <n>", `counted budget: stored states per cell (default ${DEFAULT_BUDGETS.maxStates})`, intOption("--max-states", 1))
      .option("--max-steps <n>", `counted budget: steps in one execution (default ${DEFAULT_BUDGETS.maxSteps})`, intOption("--max-steps", 1))
      .option("--max-graph-edges <n>", `counted budget: state-graph edges per cell (default ${DEFAULT_BUDGETS.maxGraphEdges})`, intOption("--max-graph-edges", 1))
      .option("--max-memory <mb>", `counted budget: stored states x ${BYTES_PER_STATE} bytes, in MiB (default ${DEFAULT_BUDGETS.maxMemoryMb})`, intOption("--max-memory", 1))
      .option("--time-limit <s>", "wall-clock limit per cell (none by default); hitting it gives no verdict (exit 3)", intOption("--time-limit", 1))
      .option("--no-minimize", "print counterexamples as found (minimization obeys the same budgets and time limit)")
      .option("--properties <a,b>", "check only these properties")
      .option("--all-violations", "one counterexample per violated property (not only the first)")
      .option("--no-por", "no partial-order reduction in the stateful search (sleep sets, persistent sets)")
      .option("--persistent-sets", "cache: explore persistent sets of threads with the cycle proviso instead of sleep sets (fewer states; with livelock checked too, docs/design.md \"Livelock under persistent sets\"; the default for a scenario with 4 threads or more, one worker, no symmetry)")
      .option("--no-shallow", "no preemption-bounded search (bound 2, 1 000 executions) before the exhaustive one")
      .option("--require-exhaustive", "a non-exhaustive strategy that finds nothing exits 3 instead of 0")
      .option("--json", "machine-readable output (with provenance)")
      .option("--timings", "include wall-clock times in the output")
      .option("--out <dir>", "write each counterexample as a replayable JSON file into DIR")
      .option("--jobs <n>", `worker threads, at most ${MAX_JOBS} (default: one per core, up to 8)`, intOption("--jobs", 1, MAX_JOBS))
      .option("--workers <n>", `threads per cell for the stateful search (cache), at most ${MAX_JOBS}; when given, the output is the same for every N (no execution counts, canonical counterexamples)`, intOption("--workers", 1, MAX_JOBS))
      .option("--expand", "do not fold steps that touch none of the involved state")
      .option("--raw", "show the TDX module's internal steps instead of one row per SEAMCALL")
      .option("--demo", "with no scenario: run the engine's demo programs instead")
      .option("--view <dir>", "write one self-contained HTML trace page per counterexample into DIR")
      .option("--junit <file>", "write the cells as JUnit XML (one test case per cell) to FILE")
      .addOption(new Option("--format <format>", "with --out: counterexample files as tdxmc JSON or ITF (Apalache/Quint trace format)").choices(["json", "itf"]))
      .option("--no-fusion", "explore every scheduling point (no fusion of steps that cannot matter; docs/design.md)")
      .option("--no-restore", "re-run thread code when going back instead of following recorded code segments (docs/design.md)")
      .option("--no-symmetry", "ignore the scenario's symmetry declaration (interchangeable threads; cache strategy, off anyway while livelock is checked)")
      .addHelpText(
        "after",
        `
Examples:
  tdxmc check                                   # the main job (exit 0 when every cell has its expected verdict)
  tdxmc check seed-race --protocol seed         # the seed race, with its step table
  tdxmc check seed-race --protocol upstream-6.19 --set zap-lock=read
  tdxmc check my-scenario.yaml --strategy bounded --preemptions 2
  tdxmc check --json --out cex/                 # machine-readable, counterexamples kept as files
  tdxmc check demo:lost-update                  # an engine demo program

A budget that stops a run prints what was explored and the option that raises it (exit 3).`,
      )
      .action(async (args: string[], opts) => {
        code = await runCheck(args, opts, io());
      }),
  );

  sub(
    program
      .command("replay")
      .description("re-run a counterexample (file or replay string) and print its step table")
      .argument("<file|string>", "a counterexample file written by check --out, a replay string printed by check, or a target")
      .argument("[schedule]", "with a target (scenario name, file or demo:NAME): a bare schedule z2:... (or z1:, v2:, v1:)")
      .option("--explain", "for each step: the kernel or TDX-module function it models and what it did to the mirror and S-EPT")
      .option("--expand", "do not fold steps that touch none of the involved state")
      .option("--raw", "show the TDX module's internal steps")
      .option("--json", "machine-readable output")
      .option("--protocol <preset>", "with TARGET SCHEDULE: the preset (default upstream-7.2)")
      .option("--set <switch=value>", "with TARGET SCHEDULE: switch override (repeatable)", collect)
      .option("--module-version <version>", "with TARGET SCHEDULE: TDX module version")
      .addOption(new Option("--format <format>", "output: the step table (text), JSON, or ITF (the Apalache/Quint trace format)").choices(["text", "json", "itf"]))
      .option("--max-steps <n>", `longest schedule replayed (default ${DEFAULT_BUDGETS.maxSteps} steps)`, intOption("--max-steps", 1))
      .option("--resimulate", "a simulation's finding: re-run the simulation from its seed instead of following its schedule")
      .addHelpText(
        "after",
        `
Examples:
  tdxmc replay cex/seed-race@seed.mirror-sept-agreement.json
  tdxmc replay 'seed-race@seed:<fingerprint>:z2:0x18.1x21.0x11' --explain
  tdxmc replay demo:lost-update z2:0.1.0.1

A counterexample recorded against another model or scenario (fingerprint mismatch) is refused with exit 2,
and so is a schedule that ends before its recorded violation.
Exit 1 when the replayed execution violates a property, 0 when it does not.`,
      )
      .action((a: string, schedule: string | undefined, opts) => {
        // The step-table options shape the text output only; --json and --format must agree.
        const table = ["explain", "expand", "raw"].filter((k) => opts[k]).map((k) => `--${k}`);
        const machine = opts.format === "itf" ? "--format itf" : opts.json || opts.format === "json" ? (opts.json ? "--json" : "--format json") : null;
        if (table.length && machine) throw new UsageError(`replay: ${table.join(", ")} shape${table.length === 1 ? "s" : ""} the step table and conflict${table.length === 1 ? "s" : ""} with ${machine}`);
        if (opts.json && opts.format !== undefined && opts.format !== "json") throw new UsageError(`replay: --json and --format ${opts.format} conflict (--json is --format json)`);
        if (opts.format === "json") opts.json = true;
        code = runReplay(schedule === undefined ? [a] : [a, schedule], opts, out);
      }),
  );

  sub(
    program
      .command("view")
      .description("write a counterexample as one self-contained HTML page (lanes per thread, mirror and S-EPT side by side)")
      .argument("<file|string>", "a counterexample file written by check --out, or a replay string printed by check")
      .option("--out <file>", "the page to write (default: NAME.html in the current directory)")
      .option("--open", "open the page in a browser (without one: print the path)")
      .addHelpText("after", "\nExamples:\n  tdxmc view 'seed-race@seed:<fingerprint>:z2:...' --out seed-race.html\n  tdxmc check seed-race --protocol seed --view out/")
      .action((a: string, opts) => {
        code = runView(a, opts, resolveForView, out);
      }),
  );

  sub(
    program
      .command("ablate")
      .description("switch each defense of a preset off, one at a time, and print which properties each one's absence breaks")
      .argument("[scenario]", "built-in scenario name or scenario file (none: list which value of which defense flips which built-in scenario)")
      .option("--protocol <preset>", "the preset to ablate (default upstream-7.2)")
      .addOption(new Option("--strategy <name>", "exploration strategy").choices([...STRATEGIES]))
      .option("--module-version <version>", "TDX module version")
      .option("--preemptions <n>", "bounded: largest preemption bound", intOption("--preemptions"))
      .option("--max-executions <n>", "per run", intOption("--max-executions", 1))
      .option("--max-states <n>", "per run", intOption("--max-states", 1))
      .option("--max-steps <n>", "per run", intOption("--max-steps", 1))
      .option("--max-graph-edges <n>", "per run", intOption("--max-graph-edges", 1))
      .option("--max-memory <mb>", "per run (counted)", intOption("--max-memory", 1))
      .option("--time-limit <s>", "per run (none by default; no verdict when hit)", intOption("--time-limit", 1))
      .option("--jobs <n>", `worker threads, at most ${MAX_JOBS} (default: one per core, up to 8)`, intOption("--jobs", 1, MAX_JOBS))
      .option("--json", "machine-readable output")
      .option("--timings", "include wall-clock times")
      .addHelpText(
        "after",
        `
Examples:
  tdxmc ablate seed-race                        # on upstream-7.2: which fix stops which race
  tdxmc ablate removal-vs-zero-step --protocol upstream-6.16`,
      )
      .action(async (name: string | undefined, opts) => {
        code = name === undefined ? runAblateCatalogue(opts, io()) : await runAblate(name, opts, io());
      }),
  );

  sub(
    program
      .command("list")
      .description("built-in scenarios, presets, switches (with the commit or function each comes from), properties")
      .option("--json", "machine-readable output")
      .addHelpText("after", "\nExamples:\n  tdxmc list\n  tdxmc list --json | jq '.switches[].id'")
      .action((opts) => {
        code = runList(opts, out);
      }),
  );

  sub(
    program
      .command("explain")
      .description("what a switch or property (or preset, or scenario) is, where it comes from, which built-in scenario shows it")
      .argument("<name>", "switch id, property, preset or scenario name")
      .addHelpText("after", "\nExamples:\n  tdxmc explain zap-lock\n  tdxmc explain mirror-sept-agreement\n  tdxmc explain seed")
      .action((name: string) => {
        code = runExplain(name, out);
      }),
  );

  sub(
    program
      .command("validate")
      .description("check scenario files against the schema without running them")
      .argument("[file...]", "scenario files (YAML)")
      .option("--json", "machine-readable output")
      .option("--print-schema", "print the scenario JSON Schema (schema/scenario.schema.json)")
      .addHelpText("after", "\nExamples:\n  tdxmc validate my-scenario.yaml\n  tdxmc validate --json scenarios/*.yaml\n  tdxmc validate --print-schema > scenario.schema.json")
      .action((files: string[], opts) => {
        code = runValidate(files, opts, out, err);
      }),
  );

  registerSimulate(program, sub, () => ({ out, err, tty: process.stderr.isTTY === true }), (c) => (code = c));

  program
    .command("help")
    .description("help on tdxmc or on one command")
    .argument("[command]", "a command")
    .action((name: string | undefined) => {
      if (name === undefined) {
        program.outputHelp();
        return;
      }
      const c = program.commands.find((x) => x.name() === name);
      if (!c) throw new UsageError(`help: unknown command ${quote(name)}${suggest(name, program.commands.map((x) => x.name()))} (commands: ${program.commands.map((x) => x.name()).join(", ")})`);
      c.outputHelp();
    });
  program.addHelpCommand(false);

  const fail = (message: string): number => {
    err(`tdxmc: ${message}\n`);
    if (json) out(JSON.stringify({ ...jsonHeader(argv.find((a) => !a.startsWith("-")) ?? "tdxmc"), exitCode: EXIT.usage, error: message }, null, 2) + "\n");
    return EXIT.usage;
  };
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; help shown because no command was given is bad usage.
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return EXIT.ok;
      if (json && e.code !== "commander.help") out(JSON.stringify({ ...jsonHeader(argv.find((a) => !a.startsWith("-")) ?? "tdxmc"), exitCode: EXIT.usage, error: e.message.trim().split("\n").join(" ").replace(/^error: /, "") }, null, 2) + "\n");
      return EXIT.usage;
    }
    if (e instanceof UsageError) return fail(e.message);
    throw e;
  }
}
