// `tdxmc validate FILE...`: check scenario files against the schema (and the model's names)
// without running them.
// The same validator as `check` (scenario-file.ts): a file validate accepts is one check runs.
import { EXIT, UsageError } from "./errors.js";
import { jsonHeader } from "./provenance.js";
import { readInput } from "./safe-input.js";
import { displayName, parseScenarioText, scenarioJsonSchema, type FileProblem } from "./scenario-file.js";

export function runValidate(files: string[], o: { json?: boolean; printSchema?: boolean }, out: (s: string) => void, err: (s: string) => void): number {
  if (o.printSchema) {
    if (files.length > 0) throw new UsageError(`validate: --print-schema prints the schema and validates nothing; it takes no file (got ${files.length})`);
    out(JSON.stringify(scenarioJsonSchema(), null, 2) + "\n");
    return EXIT.ok;
  }
  if (files.length === 0) throw new UsageError("validate: name at least one scenario file (or --print-schema)");
  const results: { file: string; ok: boolean; scenario: string | null; problems: FileProblem[] }[] = [];
  for (const f of files) {
    const name = displayName(f);
    let text: string;
    try {
      text = readInput(f, "scenario file");
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      results.push({ file: name, ok: false, scenario: null, problems: [{ file: name, line: 0, col: 0, message: e.message.replace(/^scenario file \S+: /, "") }] });
      continue;
    }
    const r = parseScenarioText(text, name);
    results.push({ file: name, ok: r.problems.length === 0, scenario: r.value?.scenario.name ?? null, problems: r.problems });
  }
  const code = results.every((r) => r.ok) ? EXIT.ok : EXIT.usage;
  if (o.json) {
    out(
      JSON.stringify(
        {
          ...jsonHeader("validate"),
          exitCode: code,
          files: results.map((r) => ({ file: r.file, ok: r.ok, scenario: r.scenario, problems: r.problems.map((p) => ({ line: p.line, col: p.col, message: p.message })) })),
        },
        null,
        2,
      ) + "\n",
    );
    return code;
  }
  for (const r of results) {
    if (r.ok) out(`${r.file}: ok (scenario ${r.scenario})\n`);
    else for (const p of r.problems) err(p.line > 0 ? `${p.file}:${p.line}:${p.col}: ${p.message}\n` : `${p.file}: ${p.message}\n`);
  }
  return code;
}
