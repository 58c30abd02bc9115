// Vitest global setup: build the trace viewer's page code (tsconfig.viewer.json -> dist/src/viewer/page.js),
// so that the tests use the built asset the CLI inlines, as an installed tdxmc does.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";

export default function setup(): void {
  const root = join(import.meta.dirname, "..", "..");
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.viewer.json")], { cwd: root, stdio: "inherit" });
}
