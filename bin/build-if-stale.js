#!/usr/bin/env node
// `npm run prepare` (run by npm ci / npm install, and by the first npx tdxmc): build dist/ only when
// a source is newer than the last build, so that an up-to-date checkout starts at once instead of
// recompiling the whole project (about 8-10 s on 2 cores). `npm run build` always builds.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new globalThis.URL("..", import.meta.url));
const stamp = join(root, "dist", ".build-stamp");

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.isFile() && /\.(ts|json)$/.test(e.name)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

const inputs = Math.max(
  newest(join(root, "src")),
  newest(join(root, "bench")),
  ...["package.json", "tsconfig.json", "tsconfig.build.json", "tsconfig.viewer.json"].map((f) => (existsSync(join(root, f)) ? statSync(join(root, f)).mtimeMs : 0)),
);
// Without the TypeScript compiler (an install without dev dependencies) there is nothing to build with.
const tsc = existsSync(join(root, "node_modules", "typescript"));
if (existsSync(stamp) && statSync(stamp).mtimeMs >= inputs) process.exit(0);
if (!tsc) {
  if (existsSync(join(root, "dist", "src", "cli", "main.js"))) process.exit(0);
  console.error("tdxmc: dist/ is missing and TypeScript is not installed (npm install first)");
  process.exit(1);
}
const r = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit", shell: process.platform === "win32" });
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(stamp, `built from sources as of ${new Date(inputs).toISOString()}\n`);
