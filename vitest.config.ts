import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    // Set-up hooks run the CLI (and launch chromium); under a loaded machine 10 s (vitest's default) is not enough.
    hookTimeout: 120_000,
    pool: "forks",
    // vitest's default is one worker fewer than the cores: a single worker on the 2-core CI machine, which made
    // the suite run file after file. No verdict depends on load (budgets are counted), so use every core.
    maxWorkers: Math.max(2, availableParallelism()),
    globalSetup: ["test/viewer/global-setup.ts"],
  },
});
