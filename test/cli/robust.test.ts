// Malformed and hostile input, generated: every case must exit 2 with one line per problem on
// stderr naming the file and line or the option, no stack trace, nothing on stdout (unless --json),
// no file left behind, quickly. Most cases run in-process through main(); a sample is spawned
// (special files, crashes, memory). Also: budgets that stop a run, bounded minimization, model
// exceptions as findings, the heartbeat.
import { execFile, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse, stringify } from "yaml";
import { afterAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { planCells, runCheck, type CheckIo } from "../../src/cli/check.js";
import { runAblate } from "../../src/cli/ablate.js";
import { runSimulate } from "../../src/cli/simulate.js";
import type { Clock } from "../../src/cli/progress.js";
import { DEMOS } from "../../src/cli/demo.js";
import { UsageError } from "../../src/cli/errors.js";
import { SEAMCALLS } from "../../src/cli/scenario-file.js";
import { intOption } from "../../src/cli/targets.js";
import { quote, readInput } from "../../src/cli/safe-input.js";
import { defineProgram, explore, minimizeWithin, replay, parseSchedule, Atomic, type Op } from "../../src/engine/index.js";

const ROOT = join(import.meta.dirname, "../..");
const FIX = join(import.meta.dirname, "fixtures");
const TMP = mkdtempSync(join(tmpdir(), "tdxmc-robust-"));
const BASE_TEXT = readFileSync(join(FIX, "seed-race-copy.yaml"), "utf8");
const BASE = parse(BASE_TEXT) as Record<string, unknown>;
const published = JSON.parse(readFileSync(join(ROOT, "schema/scenario.schema.json"), "utf8"));
const ajv = new Ajv2020({ strict: false }).compile(published);

afterAll(() => vi.restoreAllMocks());

async function run(args: string[]): Promise<{ code: number; out: string; err: string; ms: number }> {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  const t0 = performance.now();
  try {
    const code = await main(args);
    return { code, out, err, ms: performance.now() - t0 };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** Exit 2; stderr: lines that each name the problem's place; no stack; stdout empty; fast. */
function expectBad(r: { code: number; out: string; err: string; ms: number }, what: string, opts: { lines?: number; json?: boolean } = {}): void {
  expect(r.code, `${what}: ${r.err.slice(0, 300)}`).toBe(2);
  const lines = r.err.trimEnd().split("\n");
  if (opts.lines !== undefined) expect(lines, what).toHaveLength(opts.lines);
  for (const l of lines) {
    expect(l.length, `${what}: echo too long`).toBeLessThan(2000);
    expect(l, what).toMatch(/^(tdxmc: |\S.*:\d+:\d+: |\S.*: )/);
  }
  expect(r.err, what).not.toMatch(/\n\s+at |TypeError|ReferenceError|RangeError|Cannot read prop/);
  // eslint-disable-next-line no-control-regex
  expect(r.err, `${what}: raw control characters`).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  if (opts.json) expect(JSON.parse(r.out).exitCode).toBe(2);
  else expect(r.out, what).toBe("");
  expect(r.ms, `${what}: took ${r.ms} ms`).toBeLessThan(3000);
}

let nFile = 0;
function file(text: string, ext = ".yaml"): string {
  const f = join(TMP, `case-${nFile++}${ext}`);
  writeFileSync(f, text);
  return f;
}

/** validate and check's loader agree; where ajv on the published schema rejects, both refuse. */
async function differential(doc: unknown, what: string): Promise<void> {
  const text = typeof doc === "string" ? doc : stringify(doc);
  const f = file(text);
  const v = await run(["validate", f]);
  let checkRefused: string | null = null;
  try {
    planCells([f], {});
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    checkRefused = e.message;
  }
  if (v.code === 0) {
    expect(checkRefused, `${what}: validate says ok, check refuses`).toBeNull();
    expect(ajv(parse(text)), `${what}: validate says ok, the published schema does not`).toBe(true);
  } else {
    expectBad(v, what);
    for (const l of v.err.trimEnd().split("\n")) expect(l, what).toMatch(/^\S.*:\d+:\d+: /);
    const nLines = text.split("\n").length;
    for (const m of v.err.matchAll(/:(\d+):\d+: /g)) expect(Number(m[1]), what).toBeLessThanOrEqual(nLines + 1);
    expect(checkRefused, `${what}: validate refuses, check runs`).not.toBeNull();
  }
}

/** Every path of the base document, and the optional fields the schema knows. */
function paths(v: unknown, p: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [p];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...p, i])));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...p, k]));
  return out;
}
const EXTRA: (string | number)[][] = [["geometry"], ["geometry", "levels"], ["module", "version"], ["module", "zeroStepThreshold"], ["inject"], ["zapYields"], ["properties"], ["overrides"], ["bounds", "maxSteps"], ["bounds", "maxStates"], ["initial", "leaves"], ["initial", "shared"], ["threads", 0, "name"], ["threads", 1, "kind"]];

function setIn(doc: unknown, p: (string | number)[], value: unknown): unknown {
  if (p.length === 0) return value;
  const c = structuredClone(doc) as Record<string | number, unknown>;
  let cur = c;
  for (let i = 0; i < p.length - 1; i++) {
    if (cur[p[i]!] === undefined || typeof cur[p[i]!] !== "object" || cur[p[i]!] === null) cur[p[i]!] = typeof p[i + 1] === "number" ? [] : {};
    cur = cur[p[i]!] as Record<string | number, unknown>;
  }
  cur[p[p.length - 1]!] = value;
  return c;
}

const WRONG: unknown[] = [null, true, "x", -1, 1.5, 2 ** 60, [], [1, "a"], { a: 1 }, "\u001b[31mred\u001b[0m\n", "a".repeat(5000), "constructor"];

describe("generated malformed scenario files", () => {
  it("every field with wrong types and out-of-range values: validate and check agree, the published schema agrees", async () => {
    const all = [...paths(BASE), ...EXTRA].filter((p) => p.length > 0);
    let n = 0;
    for (const p of all)
      for (const w of WRONG) {
        await differential(setIn(BASE, p, w), `${p.join(".")} = ${quote(JSON.stringify(w) ?? "", 30)}`);
        n++;
      }
    expect(n).toBeGreaterThan(250);
  });

  it("random values at random places (fast-check)", async () => {
    const all = [...paths(BASE), ...EXTRA].filter((p) => p.length > 0);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...all), fc.jsonValue({ maxDepth: 3 }), async (p, v) => {
        await differential(setIn(BASE, p, v), `${p.join(".")} = ${JSON.stringify(v)?.slice(0, 40)}`);
      }),
      { numRuns: 150, seed: 8 },
    );
  });

  it("YAML syntax errors at every line: one line naming file, line and column", async () => {
    const lines = BASE_TEXT.split("\n");
    const breakers = ["key: [unclosed", '"unterminated', "\tthreads: tab", "- : :", "a: b: c", "{ x: 1"];
    for (let i = 0; i <= lines.length; i++)
      for (const b of breakers) {
        const text = [...lines.slice(0, i), b, ...lines.slice(i)].join("\n");
        const f = file(text);
        const r = await run(["validate", f]);
        if (r.code === 0) continue; // some insertions are still valid YAML and a valid scenario
        expectBad(r, `line ${i + 1}: ${b}`);
        const m = /:(\d+):(\d+): /.exec(r.err);
        expect(m, r.err).not.toBeNull();
        expect(Number(m![1])).toBeLessThanOrEqual(lines.length + 2);
        expect((await run(["check", f])).code).toBe(2);
      }
  });

  it("meaning: properties: [], bounds.timeLimit, unknown SEAMCALLs, model limits, duplicate names", async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...BASE, properties: [] }, /properties: needs at least 1 item/],
      [{ ...BASE, bounds: { timeLimit: 60 } }, /bounds\.timeLimit: refused: a time limit is not part of a scenario.*--time-limit/],
      [{ ...BASE, inject: ["TDH.MEM.PAGE.AUGG"] }, /inject\.0: unknown SEAMCALL 'TDH\.MEM\.PAGE\.AUGG' \(did you mean 'TDH\.MEM\.PAGE\.AUG'\?\)/],
      [{ ...BASE, inject: ["tdh_nothing"] }, /unknown SEAMCALL 'tdh_nothing'/],
      [{ ...BASE, threads: Array.from({ length: 40 }, (_, i) => ({ kind: "zap", name: `z${i}`, start: 0, end: 1 })) }, /the model refuses this scenario under seed: /],
      [{ ...BASE, threads: (BASE.threads as unknown[]).map(() => ({ kind: "zap", name: "same", start: 0, end: 1 })) }, /is also the name of thread 0/],
    ];
    for (const [doc, msg] of cases) {
      const f = file(stringify(doc));
      for (const cmd of [["validate", f], ["check", f]]) {
        const r = await run(cmd);
        expectBad(r, cmd.join(" "), { lines: 1 });
        expect(r.err).toMatch(msg);
      }
    }
    // Every SEAMCALL the model issues is one `inject` accepts (the list keeps up with the model).
    const src = readdirSync(join(ROOT, "src/kvm")).map((f) => readFileSync(join(ROOT, "src/kvm", f), "utf8")).join("\n");
    for (const m of src.matchAll(/seamcall(?:Sept)?\(c, "(TDH\.[A-Z.]+)"/g)) expect(SEAMCALLS).toContain(m[1]);
  });

  it("two scenarios with one name are refused (they would share a matrix row and an --out file)", async () => {
    const a = file(BASE_TEXT);
    const b = file(BASE_TEXT.replace("protocol: seed", "protocol: v11"));
    const out = join(TMP, "collide-out");
    const r = await run(["check", a, b, "--out", out]);
    expectBad(r, "collision", { lines: 1 });
    expect(r.err).toMatch(/two scenarios are named 'seed-race-file'/);
    expect(existsSync(out)).toBe(false);
  });
});

describe("numbers at their edges", () => {
  // Integer fields of a scenario file, found in the published schema (so new ones are covered).
  const intPaths = (): (string | number)[][] => {
    const out: (string | number)[][] = [];
    const walk = (node: Record<string, unknown>, p: (string | number)[]): void => {
      if (node.type === "integer") out.push(p);
      if (node.type === "array" && node.items) walk(node.items as Record<string, unknown>, [...p, 0]);
      if (node.properties) for (const [k, v] of Object.entries(node.properties as Record<string, Record<string, unknown>>)) walk(v, [...p, k]);
    };
    walk(published as Record<string, unknown>, []);
    // Only where the base document has (or can take) the field: thread and action fields of other
    // kinds belong to other thread shapes, whose fields the base's threads do not carry.
    return out.filter((p) => p[0] !== "threads" && p[0] !== "initial").concat(paths(BASE).filter((p) => typeof p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], BASE) === "number"));
  };
  // Written as YAML text, so that the reader sees exactly these characters.
  const REFUSED = ["9007199254740992", "9007199254740993", "18446744073709551616", "1e20", "1e400", "-1e400", ".inf", ".nan", "1.5", "2.0e0.5", "'7'", "\"0x10\"", "1_000", "-1", "0.5"];
  const EDGE = ["0x10", "0o17", "-0", "9007199254740991", "1e3", "2.0"];

  it("integer fields of scenario files: above 2^53-1, infinities, fractions, strings, signs, radixes: refused naming the field, and validate, check and the published schema agree", async () => {
    const all = intPaths();
    expect(all.length).toBeGreaterThanOrEqual(12);
    let refused = 0;
    for (const p of all) {
      const field = p.join(".");
      for (const lit of [...REFUSED, ...EDGE]) {
        const text = stringify(setIn(BASE, p, "@@LIT@@")).replace(/(['"]?)@@LIT@@\1/, lit);
        expect(text, "the placeholder is replaced").not.toContain("@@LIT@@");
        await differential(text, `${field} = ${lit}`);
        if (lit === "9007199254740993") expect(text).toMatch(/: 9007199254740993$/m);
        if (!REFUSED.includes(lit)) continue;
        // Whatever the field's range, these are never a valid integer (no field takes a negative).
        const r = await run(["validate", file(text)]);
        expectBad(r, `${field} = ${lit}`);
        expect(r.err, `${field} = ${lit}`).toContain(`: ${field}: `);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(150);
  });

  const INT_OPTIONS: [string[], string][] = [
    ...["--preemptions", "--seed", "--max-executions", "--max-states", "--max-steps", "--max-graph-edges", "--max-memory", "--time-limit", "--jobs"].map((o): [string[], string] => [["check", "seed-race"], o]),
    ...["--preemptions", "--max-executions", "--max-states", "--max-steps", "--max-graph-edges", "--max-memory", "--time-limit", "--jobs"].map((o): [string[], string] => [["ablate", "seed-race"], o]),
    [["replay", "seed-race", "z2:0"], "--max-steps"],
    [["simulate"], "--writers"],
    [["simulate"], "--seed"],
  ];
  const BAD_INTS = ["9007199254740992", "9007199254740993", "99999999999999999999", "1e400", "1e3", "0x10", "0o7", "0b1", "-1", "+1", "1.5", "1.0", "", " 1", "1 ", "Infinity", "NaN", "\uff11", "1_000", "٣"];

  it("integer options: one line naming the option, exit 2, before anything runs", async () => {
    let n = 0;
    for (const [cmd, opt] of INT_OPTIONS)
      for (const v of BAD_INTS) {
        const r = await run([...cmd, `${opt}=${v}`]);
        expectBad(r, `${cmd[0]} ${opt}=${v}`, { lines: 1 });
        expect(r.err, `${cmd[0]} ${opt}=${v}`).toContain(`option ${opt}: `);
        n++;
      }
    expect(n).toBe(INT_OPTIONS.length * BAD_INTS.length);
    // Too many worker threads is refused too (each is a whole heap), naming the limit.
    const j = await run(["check", "seed-race", "--jobs", "100000"]);
    expectBad(j, "--jobs 100000", { lines: 1 });
    expect(j.err).toMatch(/option --jobs: '100000' is too large \(at most 64\)/);
  });

  it("any string given to an integer option (fast-check): its exact decimal value, or refused naming the option", () => {
    const parse = intOption("--max-steps", 1);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9]{1,20}$/), fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String)), (v) => {
        let n: number | undefined;
        try {
          n = parse(v);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
          expect((e as Error).message).toMatch(/^option --max-steps: '.*' is (not a positive integer|too large \(at most 9007199254740991\))/);
          expect((e as Error).message).not.toContain("\n");
          return;
        }
        // Accepted: digits only, and the number is exactly what was written.
        expect(v).toMatch(/^[0-9]+$/);
        expect(BigInt(n)).toBe(BigInt(v));
        expect(n).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 2000, seed: 53 },
    );
  });
});

const HOSTILE = ["constructor", "toString", "hasOwnProperty", "__proto__", "valueOf", "prototype", "isPrototypeOf", "__defineGetter__"];

describe("hostile words wherever a user names something", () => {
  it("explain, ablate, check, every option, replay strings, demo names", async () => {
    for (const w of HOSTILE) {
      const cases = [
        ["explain", w],
        ["ablate", w],
        ["check", w],
        ["check", `demo:${w}`],
        ["check", "seed-race", "--protocol", w],
        ["check", "seed-race", "--set", `${w}=on`],
        ["check", "seed-race", "--set", `zap-lock=${w}`],
        ["check", "seed-race", "--properties", w],
        ["check", "seed-race", "--strategy", w],
        ["check", "seed-race", "--module-version", w],
        ["replay", `${w}@seed:0123456789abcdef:z1:0`],
        ["replay", `seed-race@${w}:0123456789abcdef:z1:0`],
        ["replay", `seed-race@seed+${w}=x:0123456789abcdef:z1:0`],
        ["replay", "seed-race", "z1:0", "--protocol", w],
        ["help", w],
      ];
      for (const c of cases) expectBad(await run(c), c.join(" "), { lines: 1 });
      for (const doc of [setIn(BASE, ["threads", 0, "kind"], w), setIn(BASE, ["expected", w], "verified"), setIn(BASE, ["overrides", w], "on"), setIn(BASE, [w], 1), setIn(BASE, ["protocol"], w)])
        await differential(doc, `file with ${w}`);
    }
  });

  it("a huge value comes back quoted and truncated; escapes never come back raw", async () => {
    const big = "x".repeat(1 << 20);
    for (const c of [["check", "seed-race", "--protocol", big], ["explain", big], ["check", big], ["replay", big]]) expectBad(await run(c), "huge", { lines: 1 });
    const esc = "\u001b]0;pwned\u0007\u001b[2J\nrm -rf";
    for (const c of [["explain", esc], ["check", "seed-race", "--protocol", esc], ["check", esc]]) {
      const r = await run(c);
      expectBad(r, "escape", { lines: 1 });
      expect(r.err).toContain("\\u001b");
    }
  });

  it("with --json an error is one JSON document on stdout, plus the line on stderr", async () => {
    for (const c of [["check", "nope", "--json"], ["check", "seed-race", "--protocol", "nope", "--json"], ["validate", "--json", "--bogus"], ["replay", "nope:z1:0", "--json"]]) {
      const r = await run(c);
      expectBad(r, c.join(" "), { lines: 1, json: true });
      expect(JSON.parse(r.out)).toMatchObject({ tool: "tdxmc", exitCode: 2 });
    }
  });

  it("'did you mean' stays on the line of the problem", async () => {
    for (const [c, msg] of [
      [["check", "seed-race", "--protocl", "seed"], /unknown option '--protocl'.*Did you mean --protocol\?/i],
      [["chek"], /unknown command 'chek'.*Did you mean check\?/i],
      [["check", "seed-rac"], /unknown scenario 'seed-rac' \(did you mean 'seed-race'\?\)/],
      [["explain", "zap-lok"], /did you mean 'zap-lock'\?/],
    ] as [string[], RegExp][]) {
      const r = await run(c);
      expectBad(r, c.join(" "), { lines: 1 });
      expect(r.err).toMatch(msg);
    }
  });

  it("messages name the command, option or file the user gave, never another", async () => {
    const missing = join(TMP, "no-such-dir", "cex.json");
    for (const [c, msg, not] of [
      [["view", missing], /^tdxmc: view: counterexample file \S+cex\.json: no such file$/, /replay/],
      [["view", "/dev/zero"], /^tdxmc: view: counterexample file \/dev\/zero: not a regular file/, /replay/],
      [["view", TMP], /^tdxmc: view: counterexample file \S+: is a directory/, /replay/],
      [["view", "seed-race@nope:0123456789abcdef:z2:0"], /^tdxmc: view: the replay string: unknown preset 'nope'/, /^tdxmc: replay/],
      [["view", "no-string"], /^tdxmc: view: 'no-string' is neither a file nor a replay string/, /^tdxmc: replay/],
      [["replay", missing], /^tdxmc: counterexample file \S+cex\.json: no such file$/, /view/],
      [["replay", "seed-race", "z2:0", "--module-version", "9"], /^tdxmc: replay: option --module-version: unknown TDX module version '9'/, /TARGET/],
      [["replay", "seed-race", "z2:0", "--protocol", "nope"], /^tdxmc: option --protocol: unknown preset 'nope'/, /TARGET/],
      [["replay", "seed-race", "z2:0", "--set", "zap-lock=nope"], /^tdxmc: option --set: switch 'zap-lock' has no value 'nope'/, /TARGET/],
      [["ablate", "seed-race", "--module-version", "9"], /^tdxmc: option --module-version: /, /--set/],
      [["explain"], /^tdxmc: explain: missing required argument 'name'$/, /^error/],
      [["list", "extra"], /^tdxmc: list: too many arguments/, /^error/],
      [["check", "seed-race", "--protocl", "seed"], /^tdxmc: check: unknown option '--protocl'/, /^error/],
    ] as [string[], RegExp, RegExp][]) {
      const r = await run(c);
      expectBad(r, c.join(" "), { lines: 1 });
      expect(r.err.trimEnd(), c.join(" ")).toMatch(msg);
      expect(r.err, c.join(" ")).not.toMatch(not);
    }
  });

  it("conflicting options are refused, naming both", async () => {
    for (const [c, msg] of [
      [["check", "seed-race", "--preemptions", "2"], /--preemptions applies to --strategy bounded only/],
      [["check", "seed-race", "--seed", "3"], /--seed applies to --strategy random or pct only/],
      [["check", "seed-race", "--demo"], /--demo .* takes no scenario/],
      [["check", "seed-race", "--json", "--expand"], /--expand and --json conflict/],
      [["replay", "seed-race@seed:0123456789abcdef:z1:0", "--protocol", "seed"], /--protocol only go with TARGET SCHEDULE/],
      [["check", "demo:lost-update", "--protocol", "seed"], /option --protocol applies to KVM scenarios only; demo:lost-update is an engine demo/],
      [["check", "--demo", "--set", "zap-lock=read", "--module-version", "1.5.16"], /options --set, --module-version apply to KVM scenarios only; the targets are engine demos/],
      [["check", "seed-race", "--format", "json"], /option --format: needs --out DIR/],
      [["check", "seed-race", "--format", "itf", "--json"], /option --format: needs --out DIR/],
      [["replay", "seed-race@seed:0123456789abcdef:z2:0", "--format", "itf", "--explain"], /replay: --explain shapes the step table and conflicts with --format itf/],
      [["replay", "seed-race@seed:0123456789abcdef:z2:0", "--json", "--expand", "--raw"], /replay: --expand, --raw shape the step table and conflict with --json/],
      [["replay", "seed-race@seed:0123456789abcdef:z2:0", "--json", "--format", "text"], /replay: --json and --format text conflict/],
      [["validate", "--print-schema", "x.yaml"], /validate: --print-schema prints the schema and validates nothing; it takes no file/],
    ] as [string[], RegExp][]) {
      const r = await run(c);
      expectBad(r, c.join(" "), { lines: 1, json: c.includes("--json") });
      expect(r.err).toMatch(msg);
    }
  });
});

describe("files that are not scenario files", () => {
  it("special files, directories, huge files, binary files, alias bombs: refused without reading them", async () => {
    const fifo = join(TMP, "fifo.yaml");
    spawnSync("mkfifo", [fifo]);
    const huge = join(TMP, "huge.yaml");
    writeFileSync(huge, "# " + "x".repeat(5 << 20) + "\n");
    const bin = file("name: a\u0000b\n");
    const bomb = file(["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)].join("\n") + "\n");
    for (const f of ["/dev/zero", "/dev/null", TMP, existsSync(fifo) ? fifo : "/dev/zero", huge, bin, bomb, "/proc/self/mem"]) {
      for (const c of [["check", f], ["validate", f], ["replay", f], ["ablate", f]]) {
        expectBad(await run(c), c.join(" "), { lines: 1 });
      }
    }
    expect(() => readInput("/dev/zero")).toThrow(/not a regular file/);
  });

  it("--out, --junit and --view that cannot be written are refused before the run, and nothing is left behind", async () => {
    const ro = join(TMP, "ro");
    mkdirSync(ro);
    const aFile = file("not a directory\n", ".txt");
    const procLink = join(TMP, "proc-link");
    symlinkSync("/proc", procLink);
    chmodSync(ro, 0o555);
    const cases = [
      ["check", "seed-race", "--out", "/proc/self/NEW"],
      ["check", "seed-race", "--out", "/dev/null"],
      ["check", "seed-race", "--junit", "/proc/self/NEW.xml"],
      ["check", "seed-race", "--view", "/sys/NEW"],
      // Through a symbolic link into /proc (Node's recursive mkdir never returns there), and stdout as a file name.
      ["check", "seed-race", "--out", join(procLink, "self", "NEW", "deeper")],
      ["check", "seed-race", "--view", join(procLink, "NEW")],
      ["check", "seed-race", "--junit", join(procLink, "self", "NEW.xml")],
      ["check", "seed-race", "--junit", "-"],
      // A file where a directory is expected on the path (ENOTDIR used to escape as a stack trace).
      ["check", "seed-race", "--out", join(aFile, "sub")],
      ["check", "seed-race", "--junit", join(aFile, "sub", "j.xml")],
      ["check", "seed-race", "--view", join(aFile, "v")],
      ["view", "seed-race@seed:0123456789abcdef:z2:0", "--out", join(aFile, "p.html")],
      ["view", "seed-race@seed:0123456789abcdef:z2:0", "--out", "-"],
      ["simulate", "--workload", "boot", "--vcpus", "1", "--pages", "2", "--charts", "/proc/self/NEW"],
      ["simulate", "--workload", "boot", "--vcpus", "1", "--pages", "2", "--charts", join(procLink, "NEW", "x")],
    ];
    if (process.getuid?.() !== 0) cases.push(["check", "seed-race", "--out", join(ro, "sub")], ["check", "seed-race", "--junit", join(ro, "j.xml")]);
    for (const c of cases) {
      const r = await run(c);
      expectBad(r, c.join(" "), { lines: 1 });
      expect(r.ms).toBeLessThan(1000);
    }
    expect(readdirSync(ro)).toEqual([]);
  });
});

describe("output files that cannot be written after the run", () => {
  it("one line naming the file, the verdicts still printed (text and --json), exit 2, nothing half-written or left behind", async () => {
    const args = ["check", "seed-race", "--protocol", "seed", "--strategy", "bounded"];
    const base = await run(args);
    expect(base.code).toBe(0); // the violation found is the cell's expected verdict
    const body = (s: string): string => s.trimEnd().split("\n").slice(0, -1).join("\n");
    // Each output is made to fail only at its final write: the temporary name taken by a
    // directory (--junit), or a directory where the file goes (--view, --out, --out --format itf).
    const j = join(TMP, "late", "report.xml");
    mkdirSync(`${j}.tmp-${process.pid}`, { recursive: true });
    const view = join(TMP, "late-view");
    mkdirSync(join(view, "seed-race@seed.mirror-sept-agreement.html"), { recursive: true });
    const out = join(TMP, "late-out");
    mkdirSync(join(out, "seed-race@seed.mirror-sept-agreement.json"), { recursive: true });
    const itf = join(TMP, "late-itf");
    mkdirSync(join(itf, "seed-race@seed.mirror-sept-agreement.itf.json"), { recursive: true });
    const cases: [string[], RegExp][] = [
      [["--junit", j], /^tdxmc: option --junit: cannot write \S*report\.xml \(EEXIST\); the verdicts are in the output$/],
      [["--view", view], /^tdxmc: option --view: cannot write \S*seed-race@seed\.mirror-sept-agreement\.html \(EISDIR\); its counterexample is in the output$/],
      [["--out", out], /^tdxmc: option --out: cannot write \S*seed-race@seed\.mirror-sept-agreement\.json \(EISDIR\); its counterexample is in the output$/],
      [["--out", itf, "--format", "itf"], /^tdxmc: option --out: cannot write \S*\.itf\.json \(EISDIR\); its counterexample is in the output$/],
    ];
    for (const [extra, msg] of cases) {
      const r = await run([...args, ...extra]);
      expect(r.code, extra.join(" ")).toBe(2);
      expect(r.err.trimEnd().split("\n"), extra.join(" ")).toHaveLength(1);
      expect(r.err.trimEnd(), extra.join(" ")).toMatch(msg);
      expect(body(r.out), extra.join(" ")).toBe(body(base.out));
      expect(r.out.trimEnd().split("\n").at(-1)).toMatch(/1 output file\(s\) not written \(on stderr\)\. Exit 2\.$/);
      const js = await run([...args, ...extra, "--json"]);
      expect(js.code).toBe(2);
      expect(js.err.trimEnd().split("\n")).toHaveLength(1);
      const doc = JSON.parse(js.out) as { exitCode: number; cells: { counterexamples: unknown[] }[] };
      expect(doc.exitCode).toBe(2);
      expect(doc.cells[0]!.counterexamples.length).toBeGreaterThan(0);
    }
    // Nothing but what the test put there: no temporary or partial file.
    expect(readdirSync(join(TMP, "late"))).toEqual([`report.xml.tmp-${process.pid}`]);
    for (const d of [view, out, itf]) expect(readdirSync(d), d).toHaveLength(1);
    // And when the files can be written, they are whole and nothing else is there.
    const ok = join(TMP, "late-ok");
    const r = await run([...args, "--out", ok, "--junit", join(ok, "j.xml"), "--view", ok]);
    expect(r.code).toBe(0); // expected violation, files written
    expect(readdirSync(ok).sort()).toEqual(["j.xml", "seed-race@seed.mirror-sept-agreement.html", "seed-race@seed.mirror-sept-agreement.json"]);
    expect(JSON.parse(readFileSync(join(ok, "seed-race@seed.mirror-sept-agreement.json"), "utf8")).property).toBe("mirror-sept-agreement");
    expect(readFileSync(join(ok, "j.xml"), "utf8")).toMatch(/<\/testsuites>\s*$/);
    expect(readFileSync(join(ok, "seed-race@seed.mirror-sept-agreement.html"), "utf8")).toMatch(/<\/html>\s*$/);
  });
});

describe("replay strings", () => {
  const ref = async (): Promise<string> => {
    const r = await run(["check", "seed-race", "--protocol", "seed", "--strategy", "bounded"]);
    return /replay: tdxmc replay (\S+)/.exec(r.out)![1]!;
  };

  it("run-length bombs are refused before anything is expanded", async () => {
    const fp = (await ref()).split(":")[1]!;
    const bombs = [`seed-race@seed:${fp}:z1:${"0x999999999.".repeat(25)}0`, `seed-race@seed:${fp}:z1:${"1x99999.0x99999.".repeat(100)}0`, `seed-race@seed:${fp}:v1:${"0.".repeat(300000)}0`];
    for (const b of bombs) {
      const r = await run(["replay", b]);
      expectBad(r, b.slice(0, 60), { lines: 1 });
      expect(r.err).toMatch(/more than 10000 steps|too long/);
      expect(r.ms).toBeLessThan(500);
    }
  });

  it("a truncated counterexample is exit 2, 'schedule ended after N of M steps, before the violation'", async () => {
    const s = await ref();
    const head = s.slice(0, s.indexOf(":z1:") + 4);
    const items = s.slice(head.length).split(".");
    const cut = `${head}${items.slice(0, -1).join(".")}`;
    const r = await run(["replay", cut]);
    expectBad(r, "truncated string", { lines: 1 });
    expect(r.err).toMatch(/schedule ended after \d+ steps, before the violation/);
    // The same from a counterexample file: it knows how many steps it had.
    const dir = join(TMP, "trunc");
    await run(["check", "seed-race", "--protocol", "seed", "--strategy", "bounded", "--out", dir]);
    const path = join(dir, readdirSync(dir)[0]!);
    const f = JSON.parse(readFileSync(path, "utf8"));
    const v1 = replayV1(f.schedule);
    const t = file(JSON.stringify({ ...f, schedule: v1.slice(0, v1.lastIndexOf(".")) }), ".json");
    const r2 = await run(["replay", t]);
    expectBad(r2, "truncated file", { lines: 1 });
    expect(r2.err).toMatch(new RegExp(`schedule ended after ${f.steps - 1} of ${f.steps} steps, before the violation \\(mirror-sept-agreement\\)`));
  });

  it("corrupted replay strings (fast-check): never a crash, exit 2 with one line unless still a valid schedule", async () => {
    const s = await ref();
    await fc.assert(
      fc.asyncProperty(fc.nat(s.length), fc.nat(s.length), fc.string({ maxLength: 8 }), async (i, j, ins) => {
        const bad = s.slice(0, Math.min(i, j)) + ins + s.slice(Math.max(i, j));
        const r = await run(["replay", bad]);
        expect([0, 1, 2]).toContain(r.code);
        if (r.code === 2) expectBad(r, bad, { lines: 1 });
        else expect(r.err).toBe("");
      }),
      { numRuns: 80, seed: 3 },
    );
  });
});

function replayV1(z: string): string {
  if (!z.startsWith("z1:")) return z;
  return (
    "v1:" +
    z
      .slice(3)
      .split(".")
      .flatMap((it) => {
        const m = /^([^x]+)x(\d+)$/.exec(it);
        return m ? Array<string>(Number(m[2])).fill(m[1]!) : [it];
      })
      .join(".")
  );
}

describe("budgets, time limit, minimization, model errors, heartbeat", () => {
  it("a counted budget that stops a run: what was explored and how to raise it, exit 3", async () => {
    const r = await run(["check", "seed-race", "--protocol", "upstream-6.19", "--max-steps", "5"]);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/stopped by the max-steps budget \(5 steps in one execution\), no verdict; raise it with --max-steps \(explored: \d+ executions/);
    const m = await run(["check", "seed-race", "--protocol", "upstream-6.19", "--max-memory", "1"]);
    expect(m.code).toBe(0); // 1 MiB = 6553 counted states: enough for this cell
    const s = await run(["check", "seed-race", "--protocol", "upstream-6.19", "--max-states", "10"]);
    expect(s.code).toBe(3);
    expect(s.out).toContain("stopped by the max-states budget (10 stored states)");
  });

  it("a time limit only from the command line: stopped by time, no verdict, exit 3", async () => {
    // A cell that needs minutes of CPU (the scaling series' zap k=4: no verdict within 40 s of CPU, docs/bench.md),
    // so the 1 s limit stops it on any machine; a built-in cell became too fast for this once the engine sped up.
    const r = await run(["check", join(import.meta.dirname, "../../bench/scaling/zap-k4.yaml"), "--time-limit", "1", "--no-minimize"]);
    expect(r.code).toBe(3);
    expect(r.out).toContain("stopped by time (--time-limit 1 s), no verdict");
  });

  it("minimization obeys the budgets: cut short, it keeps a real counterexample and says it is not minimal", () => {
    const prog = lostUpdate3();
    const found = explore(prog, { strategy: "exhaustive" });
    const cex = found.violations[0]!;
    const cut = minimizeWithin(prog, cex, { maxExecutions: 1 });
    expect(cut.minimal).toBe(false);
    expect(cut.stopReason).toBe("max-executions");
    expect(replay(prog, parseSchedule(cut.counterexample.schedule)).violations.map((v) => v.property)).toContain(cex.property);
    const full = minimizeWithin(prog, cex, {});
    expect(full.minimal).toBe(true);
    expect(full.counterexample.steps.length).toBeLessThanOrEqual(cex.steps.length);
  });

  it("an exception in model code is a finding with a replayable schedule, never a crash", async () => {
    DEMOS.push({ name: "throws", description: "a thread that throws at its second step", make: throwing, expected: "verified" });
    try {
      const r = await run(["check", "demo:throws"]);
      expect(r.code).toBe(1);
      expect(r.out).toContain("violated model-error");
      expect(r.out).toContain("exception in thread T1: Error: the model's own invariant broke");
      const ref = /replay: tdxmc replay (\S+)/.exec(r.out)![1]!;
      const p = await run(["replay", ref]);
      expect(p.code).toBe(1);
      expect(p.out).toContain("violated: model-error");
      // An invariant that throws is that invariant's violation, with its schedule.
      DEMOS.push({ name: "throws-final", description: "a final check that throws", make: () => lostUpdateFinalThrows(), expected: "verified" });
      const f = await run(["check", "demo:throws-final"]);
      expect(f.code).toBe(1);
      expect(f.out).toContain("model exception while checking: TypeError: boom");
      expect(f.out).toMatch(/replay: tdxmc replay demo:throws-final:/);
    } finally {
      while (DEMOS[DEMOS.length - 1]!.name.startsWith("throws")) DEMOS.pop();
    }
  });

  it("Ctrl-C: the partial results are printed, cells not run say so, exit 130 (check and ablate)", async () => {
    // The interrupt arrives as main's SIGINT handler delivers it, at the first point the run yields:
    // in-process, cells run one by one and yield between cells, so exactly one cell has run.
    const io = (): CheckIo & { text: () => string } => {
      let out = "";
      return { out: (s) => void (out += s), err: () => undefined, tty: false, onInterrupt: (f) => (setImmediate(f), () => undefined), text: () => out };
    };
    const c = io();
    expect(await runCheck([], { jobs: 1 }, c)).toBe(130);
    expect(c.text()).toMatch(/^scenario /m);
    expect(c.text()).toMatch(/not-run/);
    expect(c.text()).toMatch(/\n1 of \d+ cells with an expected verdict have it; \d+ stopped by a budget or Ctrl-C, no verdict\. Exit 130\.\n$/);
    const a = io();
    expect(await runAblate("seed-race", { jobs: 1 }, a)).toBe(130);
    // Title, header and summary aside, one row per run; all but the first (the preset as it is) not run.
    const rows = a.text().split("\n").filter((l) => /^\S+\s/.test(l)).length - 3;
    expect(rows).toBeGreaterThan(30);
    expect(a.text().match(/no verdict \(not run \(interrupted\)\)/g)?.length).toBe(rows - 1);
  });

  it("not on a terminal: check, ablate and simulate print a heartbeat line every 30 s (an injected clock, no waiting)", async () => {
    // The clock's interval fires every real millisecond and moves its time on by the period asked
    // for, so each tick is "30 s later"; now() also moves on by 10 s per call, for synchronous loops
    // (simulate) where no timer can fire and the heartbeat is poked instead.
    const fake = () => {
      let t = 0;
      const periods: number[] = [];
      const clock: Clock = {
        now: () => (t += 10_000),
        setInterval: (f, ms) => {
          periods.push(ms);
          return setInterval(() => ((t += ms), f()), 1);
        },
        clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
      };
      return { periods, clock };
    };
    const runs: [string, RegExp, (io: CheckIo & { clock?: Clock }) => number | Promise<number>][] = [
      ["check", /^tdxmc: check: \d+\/11 cells, \d+ executions.*, \d+ s$/, (io) => runCheck([], { demo: true, jobs: 1 }, io)],
      ["ablate", /^tdxmc: ablate: \d+\/\d+ runs, \d+ executions.*, \d+ s$/, (io) => runAblate("seed-race", { jobs: 1 }, io)],
      ["simulate", /^tdxmc: simulate: custom: \d+\/\d+ runs, \d+ s$/, (io) => runSimulate([], { workload: "boot", vcpus: "1,2", pages: "4", charts: join(TMP, "sim-beat"), json: true }, io)],
    ];
    for (const [what, line, go] of runs) {
      const f = fake();
      let err = "";
      let out = "";
      const code = await go({ out: (s) => void (out += s), err: (s) => void (err += s), tty: false, clock: f.clock });
      expect(code, what).toBe(0);
      expect(f.periods, what).toEqual([30_000]);
      const lines = err.trimEnd().split("\n");
      expect(lines.length, `${what}: ${err}`).toBeGreaterThanOrEqual(1);
      for (const l of lines) expect(l, what).toMatch(line);
      // The heartbeat goes to stderr only: stdout is what a terminal run prints (less timings).
      let ttyOut = "";
      let ttyErr = "";
      await go({ out: (s) => void (ttyOut += s), err: (s) => void (ttyErr += s), tty: true, clock: fake().clock });
      expect(ttyErr, what).not.toMatch(/^tdxmc: /m);
      const strip = (s: string): string => s.replace(/"(generated|date|time|wallMs|totalMs)": [^,\n]*/g, "");
      expect(strip(out), what).toBe(strip(ttyOut));
    }
  });
});

function lostUpdate3() {
  return defineProgram("lost-update-3", (w) => {
    const c = new Atomic(w, "counter", 0);
    const inc = function* (): Generator<Op, void, number> {
      const v = yield c.load("load");
      yield c.store(v + 1, "store");
    };
    return { threads: [0, 1, 2].map((i) => ({ name: `T${i}`, body: inc })), final: [{ name: "no-lost-update", check: () => (c.peek() === 3 ? null : `counter is ${c.peek()}`) }] };
  });
}

function lostUpdateFinalThrows() {
  return defineProgram("final-throws", (w) => {
    const c = new Atomic(w, "x", 0);
    return {
      threads: [{ name: "T0", body: function* (): Generator<Op, void, number> { yield c.store(1, "T0: x = 1"); } }],
      final: [{ name: "final-check", check: () => { throw new TypeError("boom"); } }],
    };
  });
}

function throwing() {
  return defineProgram("throws", (w) => {
    const c = new Atomic(w, "x", 0);
    return {
      threads: [
        { name: "T0", body: function* (): Generator<Op, void, number> { yield c.store(1, "T0: x = 1"); } },
        {
          name: "T1",
          body: function* (): Generator<Op, void, number> {
            const v = yield c.load("T1: read x");
            if (v === 1) throw new Error("the model's own invariant broke");
            yield c.store(2, "T1: x = 2");
          },
        },
      ],
    };
  });
}

describe("as a process (a sample): exit 2, one line, no stack, within 3 s and 256 MB", () => {
  it("special files, hostile names, bombs, unwritable --out", async () => {
    const fifo = join(TMP, "fifo2.yaml");
    spawnSync("mkfifo", [fifo]);
    const bomb = `seed-race@seed:0123456789abcdef:z1:${"0x999999999.".repeat(25)}0`;
    const cases = [["explain", "constructor"], ["ablate", "__proto__"], ["check", "/dev/zero"], ["validate", existsSync(fifo) ? fifo : "/dev/zero"], ["replay", bomb], ["check", "seed-race", "--out", "/proc/self/NEW"]];
    const results = await Promise.all(
      cases.map(
        (args, i) =>
          new Promise<{ code: number | null; out: string; err: string; stats: { ms: number; rss: number } }>((resolve) => {
            const statsFile = join(TMP, `stats-${i}.json`);
            // Timed from the call of main (not the TypeScript loader's start-up).
            const js = `let t0=0;import("./src/cli/main.ts").then((m)=>{t0=performance.now();return m.main(${JSON.stringify(args)})}).then((c)=>{require("node:fs").writeFileSync(${JSON.stringify(statsFile)},JSON.stringify({ms:performance.now()-t0,rss:process.resourceUsage().maxRSS*1024}));process.exit(c)})`;
            execFile(process.execPath, ["--max-old-space-size=256", "--import", "tsx", "-e", js], { cwd: ROOT, timeout: 60_000, encoding: "utf8" }, (e, out, err) => {
              const code = e ? ((e as { code?: number }).code ?? null) : 0;
              resolve({ code, out, err, stats: existsSync(statsFile) ? JSON.parse(readFileSync(statsFile, "utf8")) : { ms: -1, rss: -1 } });
            });
          }),
      ),
    );
    results.forEach((r, i) => {
      const what = cases[i]!.join(" ").slice(0, 80);
      expect(r.code, `${what}: ${r.err}`).toBe(2);
      expect(r.out, what).toBe("");
      expect(r.err.trimEnd().split("\n"), what).toHaveLength(1);
      expect(r.err, what).not.toMatch(/\n\s+at |internal error/);
      expect(r.stats.ms, what).toBeGreaterThan(0);
      expect(r.stats.ms, what).toBeLessThan(3000);
      expect(r.stats.rss, what).toBeLessThan(256 << 20);
    });
  });
});
