// Regenerates the README's screenshot of the trace viewer (docs/viewer.png): the seed race's page
// at its first divergence, in Debian's chromium. Run: npm run screenshot (after npm run build).
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { main } from "../../src/cli/main.js";

const LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-default-apps", "--disable-sync", "--no-first-run", "--disable-domain-reliability"];

const dir = mkdtempSync(join(tmpdir(), "tdxmc-shot-"));
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = () => true; // the check's own output is not wanted here
await main(["check", "seed-race", "--protocol", "seed", "--jobs", "1", "--view", dir]);
process.stdout.write = write;
const page0 = join(dir, readdirSync(dir).find((f) => f.endsWith(".html"))!);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", headless: true, args: LAUNCH_ARGS });
const page = await browser.newPage({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 });
await page.goto(pathToFileURL(page0).href);
await page.waitForSelector("body[data-ready]");
await page.click("#jump-divergence");
const out = join(import.meta.dirname, "..", "..", "docs", "viewer.png");
await page.screenshot({ path: out });
await browser.close();
console.log(out);
