// The trace data layer and its renderers other than the browser: the seed race's trace (transient
// disagreement inside the installer's window, then the divergence), ITF validated against a JSON
// Schema written from Apalache ADR-015, JUnit XML validated against the Ant/Jenkins XSD with
// xmllint, escaping of hostile names, and the `view` command.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { beforeAll, describe, expect, it } from "vitest";
import { parseSchedule } from "../../src/engine/index.js";
import { buildProgramWithModel, SCENARIOS } from "../../src/kvm/index.js";
import { escapeMarkup, renderHtml, scriptJson, xmlSafe } from "../../src/cli/view.js";
import { parseReplayRef } from "../../src/cli/replayspec.js";
import { buildTrace } from "../../src/trace/trace.js";
import type { TraceData } from "../../src/trace/types.js";
import { run, seedRaceReplay } from "./helpers.js";
import { HOSTILE_THREAD, hostileYaml } from "./hostile.js";
import { safeText } from "../../src/cli/safe-input.js";

const FIX = join(import.meta.dirname, "fixtures");
const hasXmllint = spawnSync("xmllint", ["--version"]).status === 0;
if (!hasXmllint && process.env.CI === "true") throw new Error("xmllint (Debian libxml2-utils) is required in CI");

// Two schemas: the upstream Jenkins one (vendored with its licence, fixtures/vendor/README.md) decides whether CI
// servers accept the report; ours (junit-ant.xsd) is stricter where the upstream one types counts as strings.
const UPSTREAM_XSD = join("vendor", "jenkins-junit-4.xsd");
function xmllint(file: string, xsd = "junit-ant.xsd"): { ok: boolean; out: string } {
  const r = spawnSync("xmllint", ["--noout", "--schema", join(FIX, xsd), file], { encoding: "utf8" });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

const itfValidator = (() => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  return ajv.compile(JSON.parse(readFileSync(join(FIX, "itf.schema.json"), "utf8")) as object);
})();

function seedTrace(schedule: string): TraceData {
  const { program, model } = buildProgramWithModel(SCENARIOS["seed-race"]!, "seed", {});
  return buildTrace(program, model, parseSchedule(schedule), { title: "seed race", provenance: null, replay: null, property: "mirror-sept-agreement" });
}

let replay = "";
beforeAll(async () => {
  replay = await seedRaceReplay();
});

describe("trace data layer", () => {
  it("seed race: the installer's window makes the early disagreement transient; the divergence is mirror NP vs S-EPT PENDING at GFN 0", () => {
    const t = seedTrace(parseReplayRef(replay).schedule);
    const l1 = t.entries.findIndex((e) => e.level === 1 && e.gfn === 0);
    expect(l1).toBeGreaterThanOrEqual(0);
    const e = t.entries[l1]!;
    // State after step k.
    const at = (k: number): string[] => {
      const v = t.initial.slice();
      for (let i = 0; i <= k; i++) for (const [j, x] of t.steps[i]!.d) v[j] = x;
      return v;
    };
    // The cmpxchg that puts LEAF(pfn 1) in the mirror opens a window: transient, not a divergence.
    const cmpxchg = t.steps.findIndex((s) => /try_cmpxchg64/.test(s.label) && s.d.some(([j, v]) => j === e.mirror && v.startsWith("LEAF")));
    expect(cmpxchg).toBeGreaterThan(0);
    expect(t.steps[cmpxchg]!.tr).toContain(l1);
    expect(t.steps[cmpxchg]!.win).toContain(l1);
    expect(t.steps[cmpxchg]!.div).toEqual([]);
    expect(at(cmpxchg)[e.sept]).toBe("FREE");
    // The first divergence: the installer's window closes after the AUG.
    expect(t.firstDivergence).not.toBeNull();
    const fd = t.firstDivergence!;
    expect(fd).toBeGreaterThan(cmpxchg);
    expect(t.steps[fd]!.div).toContain(l1);
    expect(t.steps[fd]!.win).not.toContain(l1);
    expect(at(fd)[e.mirror]).toBe("NP");
    expect(at(fd)[e.sept]).toMatch(/^PENDING pfn=1/);
    expect(t.violation?.property).toBe("mirror-sept-agreement");
    expect(t.violation?.step).toBe(fd);
    // Every step before it: no divergence anywhere.
    expect(t.steps.slice(0, fd).every((s) => s.div.length === 0)).toBe(true);
    // Lock holders, vCPU modes and page ownership are state too.
    const v = (n: string): number => t.vars.findIndex((x) => x.name === n);
    expect(t.steps.some((s) => s.d.some(([j, x]) => j === v("mmu_lock") && x === "R vCPU0, R zapper"))).toBe(true);
    expect(t.steps.some((s) => s.d.some(([j, x]) => j === v("tdr.lock") && x === "SH zapper"))).toBe(true);
    expect(v("vcpu0.mode")).toBeGreaterThanOrEqual(0);
    expect(t.steps.some((s) => s.d.some(([j, x]) => j === v("page[pfn 1]") && /pins=1/.test(x)))).toBe(true);
    // Lanes: SEAMCALLs fold the module's internal steps.
    const aug = t.rows.find((r) => r.label.startsWith("SEAMCALL tdh_mem_page_aug"))!;
    expect(aug.seamcall).toBe(true);
    expect(aug.to - aug.from).toBeGreaterThan(3);
    expect(aug.src).toBe("TDX module");
  });
});

describe("ITF (Apalache ADR-015)", () => {
  it("replay --format itf validates against the ITF schema, one state per step plus the initial one", async () => {
    const r = await run(["replay", replay, "--format", "itf"]);
    expect(r.code).toBe(1);
    const itf = JSON.parse(r.out) as { vars: string[]; states: Record<string, unknown>[]; "#meta": Record<string, unknown> };
    const ok = itfValidator(itf);
    expect(ok, JSON.stringify(itfValidator.errors)).toBe(true);
    const n = Number(/(\d+) steps/.exec((await run(["replay", replay])).out)![1]);
    expect(itf.states).toHaveLength(n + 1);
    for (const s of itf.states) for (const v of itf.vars) expect(s, v).toHaveProperty([v]);
    const last = itf.states[n]!;
    expect((last.mirror as { "#map": [string, string][] })["#map"]).toContainEqual(["L1 gfn 0", "NP"]);
    expect((last.divergent as { "#set": string[] })["#set"]).toEqual(["L1 gfn 0"]);
    expect(itf["#meta"].source).toBe(replay);
  });

  it("the schema rejects what ADR-015 does not allow", () => {
    expect(itfValidator({ vars: ["x"], states: [{ x: 1.5 }] })).toBe(false);
    expect(itfValidator({ vars: ["x"], states: [{ x: { "#bigint": "12a" } }] })).toBe(false);
    expect(itfValidator({ vars: ["x"], states: [{ x: { "#map": [[1]] } }] })).toBe(false);
    expect(itfValidator({ states: [] })).toBe(false);
    expect(itfValidator({ vars: ["x"], loop: 0, states: [{ "#meta": { index: 0 }, x: { "#set": [{ "#tup": [true, "a", { "#bigint": "-9" }] }] } }] })).toBe(true);
  });

  it("check --out DIR --format itf writes one ITF file per counterexample", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tdxmc-itf-"));
    const r = await run(["check", "seed-race", "--protocol", "seed", "--jobs", "1", "--out", dir, "--format", "itf"]);
    expect(r.code).toBe(0); // the violation found is the cell's expected verdict
    const files = readdirSync(dir);
    expect(files).toEqual(["seed-race@seed.mirror-sept-agreement.itf.json"]);
    expect(itfValidator(JSON.parse(readFileSync(join(dir, files[0]!), "utf8")))).toBe(true);
  });
});

describe.skipIf(!hasXmllint)("JUnit XML (Ant/Jenkins dialect)", () => {
  it("one test case per cell: expected verdict met passes, another verdict fails with the replay command, a limit is an error; valid, deterministic, hostile names escaped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tdxmc-junit-"));
    const yaml = join(dir, `hostile<&'">\u0001.yaml`);
    writeFileSync(yaml, hostileYaml("verified"));
    const f1 = join(dir, "a.xml");
    const r1 = await run(["check", "seed-race", yaml, "--protocol", "seed", "--jobs", "1", "--junit", f1]);
    expect(r1.code).toBe(1);
    const x1 = readFileSync(f1, "utf8");
    const v = xmllint(f1);
    expect(v.ok, v.out).toBe(true);
    const up = xmllint(f1, UPSTREAM_XSD);
    expect(up.ok, up.out).toBe(true);
    expect(x1).toMatch(/<testsuites name="tdxmc check" tests="2" failures="1" errors="0">/);
    expect(x1).toMatch(/<testcase classname="tdxmc.seed-race" name="seed-race@seed"\/>/);
    expect(x1).toMatch(/<testcase classname="tdxmc.hostile-seed-race" name="hostile-seed-race@seed">\n\s+<failure type="violated:[a-z-]+" message="expected verified, got violated [a-z-]+">/);
    expect(x1).toContain("tdxmc replay &#39;");
    expect(x1).not.toMatch(/time=|timestamp=/);
    // eslint-disable-next-line no-control-regex
    expect(x1).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
    expect(x1).toContain("hostile&lt;&amp;");
    // Deterministic: the same run writes the same bytes.
    const f2 = join(dir, "b.xml");
    await run(["check", "seed-race", yaml, "--protocol", "seed", "--jobs", "1", "--junit", f2]);
    expect(readFileSync(f2, "utf8")).toBe(x1);
    // Stopped by a limit: <error>.
    const f3 = join(dir, "c.xml");
    const r3 = await run(["check", "seed-race", "--protocol", "upstream-6.19", "--max-executions", "1", "--jobs", "1", "--junit", f3]);
    expect(r3.code).toBe(3);
    const x3 = readFileSync(f3, "utf8");
    expect(xmllint(f3).ok).toBe(true);
    expect(xmllint(f3, UPSTREAM_XSD).ok).toBe(true);
    expect(x3).toMatch(/<error type="limit" message="stopped by [^"]+, no verdict">/);
  });

  it("the XSD rejects a malformed report (the validation can fail)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tdxmc-junit-"));
    const f = join(dir, "bad.xml");
    writeFileSync(f, '<?xml version="1.0"?>\n<testsuites><testsuite name="x" tests="one" failures="0" errors="0"><testcase/></testsuite></testsuites>\n');
    expect(xmllint(f).ok).toBe(false);
    // The upstream schema types counts as strings, but still requires a test case's name.
    expect(xmllint(f, UPSTREAM_XSD).ok).toBe(false);
    writeFileSync(f, '<?xml version="1.0"?>\n<testsuites><testsuite name="x" tests="1"><testcase name="c"/></testsuite></testsuites>\n');
    expect(xmllint(f, UPSTREAM_XSD).ok).toBe(true);
  });
});

describe("escaping", () => {
  it("markup and XML-forbidden code points", () => {
    expect(escapeMarkup(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    expect(xmlSafe("a\u0001b\u001fc\td\ne\uFFFEf\uD800g")).toBe("a\\u0001b\\u001fc\td\ne\\ufffef\\ud800g");
    expect(scriptJson({ s: "</script><!--\u2028" })).toBe('{"s":"\\u003c/script\\u003e\\u003c!--\\u2028"}');
  });

  it("a page of a scenario with hostile thread names carries them as data only", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tdxmc-hostile-"));
    const yaml = join(dir, `hostile<&'">.yaml`);
    writeFileSync(yaml, hostileYaml("{ violated: mirror-sept-agreement }"));
    const r = await run(["check", yaml, "--protocol", "seed", "--jobs", "1", "--properties", "mirror-sept-agreement", "--view", dir]);
    expect(r.code).toBe(0); // the violation found is the cell's expected verdict
    const page = readFileSync(join(dir, "hostile-seed-race@seed.mirror-sept-agreement.html"), "utf8");
    expect(page.match(/<script/g)).toHaveLength(2);
    expect(page.match(/<\/script>/g)).toHaveLength(2);
    expect(page).not.toContain("alert(1)</script>");
    const data = JSON.parse(/<script id="trace-data" type="application\/json">(.*?)<\/script>/s.exec(page)![1]!) as TraceData;
    expect(data.threads).toContain(safeText(HOSTILE_THREAD));
  });
});

describe("tdxmc view", () => {
  it("writes one self-contained page (no network references, at most 300 KB) from a replay string or a file; --open without a browser prints the path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tdxmc-view-"));
    const out = join(dir, "seed.html");
    const env = { ...process.env };
    delete process.env.BROWSER;
    delete process.env.DISPLAY;
    delete process.env.WAYLAND_DISPLAY;
    let r;
    try {
      r = await run(["view", replay, "--out", out, "--open"]);
    } finally {
      Object.assign(process.env, env);
    }
    expect(r.code).toBe(0);
    expect(r.out).toContain(out);
    expect(r.out).toMatch(/no browser found/);
    const page = readFileSync(out, "utf8");
    expect(statSync(out).size).toBeLessThanOrEqual(300 * 1024);
    expect(page).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(page).not.toMatch(/https?:\/\/(?!apalache-mc\.org)/);
    expect(page).toMatch(/Content-Security-Policy" content="default-src 'none'/);
    // From a counterexample file, the same trace.
    const cex = join(dir, "cex");
    await run(["check", "seed-race", "--protocol", "seed", "--jobs", "1", "--out", cex]);
    const file = join(cex, readdirSync(cex)[0]!);
    const r2 = await run(["view", file, "--out", join(dir, "from-file.html")]);
    expect(r2.code).toBe(0);
    const data = (s: string): TraceData => JSON.parse(/<script id="trace-data" type="application\/json">(.*?)<\/script>/s.exec(s)![1]!) as TraceData;
    const a = data(readFileSync(join(dir, "from-file.html"), "utf8"));
    const b = data(page);
    expect(a.replay).toBe(replay);
    expect(a.title).toBe(b.title);
    expect(JSON.stringify(a) === JSON.stringify(b)).toBe(true);
    // Bad input: exit 2, one line.
    const bad = await run(["view", "seed-race@seed:0123456789abcdef:z1:0x3"]);
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split("\n")).toHaveLength(1);
  });

  it("renderHtml puts the trace in a JSON script element and nothing else from it in markup", () => {
    const t = { format: "tdxmc-trace", formatVersion: 1, title: "<x>&\u0001", threads: [], provenance: null, replay: null, geometry: null, vars: [], initial: [], entries: [], init: { div: [], tr: [], win: [] }, steps: [], rows: [], violation: null, cycleStart: null, firstDivergence: null } as TraceData;
    const h = renderHtml(t);
    expect(h).toContain("<title>&lt;x&gt;&amp;\\u0001</title>");
  });
});

describe("ITF lassos", () => {
  it("a livelock's ITF trace loops back to the state where its cycle starts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tdxmc-itf-loop-"));
    const r = await run(["check", "memslot-delete-vs-fault", "--protocol", "upstream-6.16", "--jobs", "1", "--out", dir, "--format", "itf"]);
    expect(r.code).toBe(0); // the violation found is the cell's expected verdict
    const f = readdirSync(dir).find((x) => x.includes(".livelock."))!;
    const itf = JSON.parse(readFileSync(join(dir, f), "utf8")) as { loop?: number; vars: string[]; states: Record<string, unknown>[] };
    expect(itfValidator(itf)).toBe(true);
    expect(itf.loop).toBeGreaterThan(0);
    const model = (s: Record<string, unknown>): string => JSON.stringify(itf.vars.filter((v) => !["step", "thread", "action"].includes(v)).map((v) => s[v]));
    expect(model(itf.states[itf.loop!]!)).toBe(model(itf.states[itf.states.length - 1]!));
  });
});
