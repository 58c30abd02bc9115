#!/usr/bin/env node
// Launcher: the compiled CLI lives in dist/ (built by `npm install` through the prepare script).
import { main } from "../dist/src/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`tdxmc: internal error: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(70);
  },
);
