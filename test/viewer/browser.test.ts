// The trace viewer in a real browser: Debian's chromium driven by playwright-core. Opens the seed
// race's page from file://, jumps to the first divergence (mirror not present, S-EPT PENDING at
// GFN 0), checks that the earlier disagreement inside the installer's window is marked transient,
// drives it with the keyboard, checks that no network request was made, and saves a screenshot
// under out/test-artifacts/ (git-ignored). With CI=true a missing chromium fails; elsewhere the
// tests skip with one line.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "./helpers.js";
import { HOSTILE_THREAD, hostileYaml } from "./hostile.js";
import { safeText } from "../../src/cli/safe-input.js";

const EXE = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p): p is string => !!p && existsSync(p));
const CI = process.env.CI === "true";
const ARTIFACTS = join(import.meta.dirname, "..", "..", "out", "test-artifacts");

/** Chromium for the tests and the README screenshot script: no sandbox (CI runs as root), no background traffic. */
export const LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-default-apps", "--disable-sync", "--no-first-run", "--disable-domain-reliability", "--disable-features=Translate,OptimizationHints,MediaRouter"];

if (!EXE && !CI) console.log("browser tests skipped: no chromium (apt-get install chromium fonts-dejavu-core)");

// In CI a missing browser fails the file outright, so the log never shows these tests as skipped.
if (!EXE && CI) throw new Error("CI=true but chromium is not installed (.ci/run installs it with apt-get)");

describe.runIf(!!EXE)("trace viewer in chromium", () => {
  let browser: Browser;
  let dir: string;
  const requests: string[] = [];
  const problems: string[] = [];

  async function open(file: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    page.on("request", (r) => void requests.push(r.url()));
    page.on("pageerror", (e) => void problems.push(`page error: ${e.message}`));
    page.on("console", (m) => void (m.type() === "error" && problems.push(`console: ${m.text()}`)));
    page.on("dialog", (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector("body[data-ready]");
    return page;
  }
  const position = (page: Page): Promise<string> => page.locator("#position").innerText();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tdxmc-browser-"));
    const r = await run(["check", "seed-race", "--protocol", "seed", "--jobs", "1", "--view", dir]);
    expect(r.code).toBe(0); // the violation found is the cell's expected verdict
    browser = await chromium.launch({ executablePath: EXE!, headless: true, args: LAUNCH_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("seed race: first divergence, transient marking, keyboard, no network, screenshot", async () => {
    const file = join(dir, readdirSync(dir).find((f) => f.endsWith(".html"))!);
    const page = await open(file);
    expect(await page.title()).toBe("seed-race on seed: violated mirror-sept-agreement");

    // Jump to the first divergence: mirror not present, S-EPT PENDING for GFN 0.
    await page.click("#jump-divergence");
    const l1 = page.locator('#trees tr[data-entry="L1 gfn 0"]');
    await expect.poll(() => l1.getAttribute("class")).toContain("divergent");
    expect(await l1.locator("td.mirror").innerText()).toBe("NP (not present)");
    expect(await l1.locator("td.sept").innerText()).toMatch(/^PENDING pfn=1\b/);
    expect(await l1.locator(".badge.divergent").count()).toBe(1);
    const divPos = await position(page);
    expect(divPos).toMatch(/^step \d+ \/ \d+$/);
    // The violation is revealed at the same step here (the window closes after the AUG).
    await page.click("#first");
    await page.click("#jump-violation");
    expect(await position(page)).toBe(divPos);

    // The earlier disagreement (mirror LEAF, S-EPT FREE, inside the installer's window) is transient.
    const cmpxchg = page.locator("#lane-table tr", { hasText: "try_cmpxchg64" });
    expect(await cmpxchg.getAttribute("class")).toContain("transient");
    expect(await cmpxchg.locator(".badge.transient").count()).toBe(1);
    await cmpxchg.click();
    expect(await l1.getAttribute("class")).toContain("transient");
    expect(await l1.getAttribute("class")).not.toContain("divergent");
    expect(await l1.locator("td.mirror").innerText()).toBe("LEAF(pfn 1)");
    expect(await l1.locator("td.sept").innerText()).toBe("FREE");
    expect(await l1.locator(".badge.window").count()).toBe(1);
    expect(await l1.locator(".badge.divergent").count()).toBe(0);

    // Keyboard: Home, arrows, End, d (first divergence).
    await page.locator("#lanes").focus();
    await page.keyboard.press("Home");
    expect(await position(page)).toMatch(/^initial \/ \d+$/);
    await page.keyboard.press("ArrowDown");
    expect(await position(page)).toMatch(/^step 1 \/ /);
    await page.keyboard.press("ArrowRight");
    expect(await position(page)).toMatch(/^step 2 \/ /);
    await page.keyboard.press("ArrowUp");
    expect(await position(page)).toMatch(/^step 1 \/ /);
    await page.keyboard.press("End");
    const [, last, total] = /^step (\d+) \/ (\d+)$/.exec(await position(page))!;
    expect(last).toBe(total);
    await page.keyboard.press("ArrowLeft");
    expect(Number(/^step (\d+)/.exec(await position(page))![1])).toBeLessThan(Number(total));
    await page.keyboard.press("d");
    expect(await position(page)).toBe(divPos);
    expect(await page.locator("#lane-table tr.sel").count()).toBe(1);

    // SEAMCALLs fold and expand to the module's steps. AUG's entry write is a locked commit on module 1.5
    // and a plain store under the exclusive tree lock on 1.0 (the seed preset's module).
    const ENTRY_WRITE = /: (commit entry|write entry \(tree lock EX\))/;
    const aug = page.locator("#lane-table tr:not(.sub)", { hasText: "SEAMCALL tdh_mem_page_aug" });
    const subs = (): Promise<number> => page.locator("#lane-table tr.sub").count();
    const before = await subs();
    if (before === 0) await aug.locator(".fold").click();
    expect(await subs()).toBeGreaterThan(3);
    expect(await page.locator("#lane-table tr.sub", { hasText: ENTRY_WRITE }).count()).toBe(1);

    // Filters: changed only, a state filter, a lane hidden.
    await page.locator("#lane-table tr.sub", { hasText: ENTRY_WRITE }).click();
    await page.check("#changed-only");
    expect(await page.locator("#trees tr[data-entry]").count()).toBe(1);
    expect(await page.locator("#group-kvm").count()).toBe(0);
    await page.uncheck("#changed-only");
    await page.fill("#state-filter", "mmu_lock");
    expect(await page.locator("#group-lock tr").count()).toBe(1);
    await page.fill("#state-filter", "");
    await page.uncheck('input[data-thread="1"]');
    expect(await page.locator('#lane-table th[data-thread="1"]').count()).toBe(0);
    await page.check('input[data-thread="1"]');

    // Context: the property explanation and the replay command.
    expect(await page.locator("#property-explanation").innerText()).toMatch(/agree/);
    expect(await page.locator("#replay-command").innerText()).toMatch(/^tdxmc replay 'seed-race@seed:[0-9a-f]{16}:z2:/);
    await page.click("#copy-replay");
    await expect.poll(() => page.locator("#copy-replay").innerText()).toMatch(/^(copied|selected: press Ctrl-C)$/);

    // Nothing but the page itself was requested.
    expect(requests.length).toBeGreaterThanOrEqual(1);
    expect(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:"))).toEqual([]);
    expect(problems).toEqual([]);

    await page.keyboard.press("d");
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "seed-race.png") });
    expect(existsSync(join(ARTIFACTS, "seed-race.png"))).toBe(true);
    await page.close();
  });

  it("hostile thread names show as text and run nothing", async () => {
    const hd = mkdtempSync(join(tmpdir(), "tdxmc-hostile-"));
    const yaml = join(hd, `hostile<&'">.yaml`);
    writeFileSync(yaml, hostileYaml("{ violated: mirror-sept-agreement }"));
    await run(["check", yaml, "--protocol", "seed", "--jobs", "1", "--properties", "mirror-sept-agreement", "--view", hd]);
    const page = await open(join(hd, "hostile-seed-race@seed.mirror-sept-agreement.html"));
    expect(await page.locator('#lane-table th[data-thread="1"]').textContent()).toBe(safeText(HOSTILE_THREAD));
    expect(await page.locator("#lane-table script, #lane-table b").count()).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });
});
