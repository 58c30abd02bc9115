// `npm run threadcheck` (run by `npm run build` and `npm run lint`): the build-time check of the
// restriction on model thread code (tools/threadcheck/check.ts; docs/design.md, "Restoring threads").
// Arguments: files or directories (default: the model sources, files.ts DEFAULT_ROOTS).
import { run } from "./cli.js";

process.exitCode = run(process.argv.slice(2), process.cwd(), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
