// `list`, `explain`, `ablate` and --help cite public sources only: commit ids, file@commit,
// Message-IDs, patch subjects. Never the project's internal notes (they do not ship), their section
// numbers or source keys, nor internal issue numbers. Every text these commands print is scanned.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ABLATIONS, CANNOT_MATTER, NO_VERDICT_CHANGE, PRESETS, SCENARIOS, SWITCHES } from "../../src/kvm/index.js";
import { WHY } from "../../src/kvm/why.js";
import { DEFAULT_COSTS_YAML } from "../../src/sim/default-costs.js";
import { PROPERTY_INFO } from "../../src/cli/properties.js";
import { run } from "../helpers/run-cli.js";

/** Citation forms that point at something a reader of the released tool cannot open. */
const FORBIDDEN: [RegExp, string][] = [
  [/§/, "a section of an internal note"],
  [/\bnotes?\b/i, "an internal note"],
  [/shared\/docs/, "the internal notes' folder"],
  [/\b(kvm-mirror-spec|kvm-v11-design|kvm-7\.2(-changes)?|tdx-module-spec|dynamic-pamt|sept-hugepages|tdx-cost-figures)\b/, "an internal note's name"],
  [/\bv1[0-9]-\d{3}\b/, "an internal note's key for a patch (cite its Message-ID)"],
  [/\[(?!PATCH\])[A-Z][A-Z0-9-]*\d*\]/, "a bracketed source key of an internal note ([PP619], [PIN], ...)"],
  [/\b(PP619|SEAN23|YAN24|RICK24|VPINIT|TDX26|TDX618|TDP618|TDP72|TDX72|RFC26|RFC5|MMUREF|GMEM-[A-Z]+)\b/, "a source key of an internal note"],
  [/\bSLOT\b/, "a source key of an internal note"],
  [/\bI-\d+\b/, "an invariant number of an internal note"],
  [/\bissues? #?\d+/i, "an internal issue number"],
  // Not a citation, but the same scan catches a value the printer did not have.
  [/\bundefined\b|\bNaN\b|\[object Object\]/, "a missing value printed as JavaScript's placeholder"],
];

/** Markdown files that ship: the only .md names a text may give. */
const SHIPPED_MD = new Set(["README.md", ...readdirSync(join(import.meta.dirname, "../../docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]);

function problems(text: string): string[] {
  const out: string[] = [];
  text.split("\n").forEach((line, i) => {
    for (const [re, what] of FORBIDDEN) {
      const m = re.exec(line);
      if (m) out.push(`line ${i + 1}: ${what}: '${m[0]}' in: ${line.trim().slice(0, 160)}`);
    }
    for (const m of line.matchAll(/[\w./-]*\.md\b/g)) if (!SHIPPED_MD.has(m[0])) out.push(`line ${i + 1}: '${m[0]}' is not a shipped document`);
    // A Message-ID is cited whole (local part @ domain).
    for (const m of line.matchAll(/Message-I[Dd]\s+<?([^\s<>(),;"']+)/g)) if (!/^[\w.+=-]+@[\w-]+(\.[\w-]+)+$/.test(m[1]!.replace(/[.:]$/, ""))) out.push(`line ${i + 1}: malformed Message-ID '${m[1]}'`);
  });
  return out;
}

describe("citations in what list, explain, ablate and --help print", () => {
  it("the scanner catches each forbidden form (and lets public ones through)", () => {
    for (const bad of ["see kvm-mirror-spec §4 I-1", "v11-057 tdx_track()", "6.19 [PP619] guard", "[PIN] drop pinning", "the design note's ablation", "fixed (SLOT, 6.18)", "issue 10", "(kvm-v11-design.md)", "Message-ID 2749eb2e"])
      expect(problems(bad), bad).not.toEqual([]);
    for (const good of [
      "[PATCH v11 057/113] (Message-ID 2749eb2e634df67937aade6dc46b1c86defcfee5.1673539699.git.isaku.yamahata@intel.com)",
      "kvm-x86/linux ce7b5695397b 'KVM: TDX: Drop superfluous page pinning in S-EPT management'",
      "arch/x86/kvm/vmx/tdx.c@09c6f74ecb86",
      "'KVM: TDX: Take MMU lock around tdh_vp_init()' ([PATCH], Message-ID 20251028002824.1470939-1-rick.p.edgecombe@intel.com)",
      "engine (docs/design.md)",
    ])
      expect(problems(good), good).toEqual([]);
  });

  it("every text: list, list --json, explain of every switch, property, preset and scenario, ablate, help", async () => {
    const names = [...SWITCHES.map((s) => s.id), ...PROPERTY_INFO.map((p) => p.name), ...Object.keys(PRESETS), ...Object.keys(SCENARIOS)];
    const commands = [["list"], ["list", "--json"], ["ablate"], ["ablate", "--json"], ["--help"], ...["check", "replay", "view", "ablate", "list", "explain", "validate", "simulate"].map((c) => ["help", c]), ...names.map((n) => ["explain", n])];
    const found: string[] = [];
    let scanned = 0;
    for (const c of commands) {
      const r = await run(c);
      expect(r.code, c.join(" ")).toBe(0);
      for (const p of problems(r.out)) found.push(`tdxmc ${c.join(" ")}: ${p}`);
      scanned += r.out.length;
    }
    expect(found).toEqual([]);
    expect(scanned).toBeGreaterThan(100_000);
    // Every scenario's explanation says why each expected verdict holds.
    const e = await run(["explain", "seed-race"]);
    expect(e.out).toMatch(/^ {25}why: .*Y8m34OEVBfL7Q4Ns@google\.com/m);
  });
});

/** Every string inside a value (object fields, arrays), with its path; functions are skipped. */
function strings(v: unknown, path: string, out: [string, string][], seen = new Set<unknown>()): [string, string][] {
  if (typeof v === "string") out.push([path, v]);
  else if (v && typeof v === "object" && !seen.has(v)) {
    seen.add(v);
    for (const [k, x] of Object.entries(v)) strings(x, `${path}.${k}`, out, seen);
  }
  return out;
}

/** The internal notes' own marks, forbidden in every shipped text, docs included: a section sign, a note's name or folder. */
const NOTE_MARKS = /§|shared\/docs|\b(kvm-mirror-spec|kvm-v11-design|kvm-7\.2-changes|tdx-module-spec|dynamic-pamt|sept-hugepages|tdx-cost-figures)\b|\bkvm-7\.2 §/;

describe("citations in the texts the tool ships", () => {
  it("the sources of every user-visible text (scenario descriptions, why, switches, presets, properties, ablations, costs, scenarios/, schema/) cite public sources only", () => {
    const root = join(import.meta.dirname, "../..");
    const texts: [string, string][] = [];
    const sources: Record<string, unknown> = { SCENARIOS, SWITCHES, PRESETS, PROPERTY_INFO, ABLATIONS, NO_VERDICT_CHANGE, CANNOT_MATTER, WHY, DEFAULT_COSTS_YAML };
    for (const [name, v] of Object.entries(sources)) strings(v, name, texts);
    for (const dir of ["scenarios", "schema"]) for (const f of readdirSync(join(root, dir))) texts.push([`${dir}/${f}`, readFileSync(join(root, dir, f), "utf8")]);
    const found = texts.flatMap(([where, text]) => problems(text).map((p) => `${where}: ${p}`));
    expect(found).toEqual([]);
    expect(texts.length).toBeGreaterThan(500);
    // Docs and README may name issues and notes in the ordinary sense, but never an internal note.
    const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
    const marks = docs.flatMap((d) => readFileSync(join(root, d), "utf8").split("\n").flatMap((line, i) => (NOTE_MARKS.test(line) ? [`${d}:${i + 1}: ${line.trim().slice(0, 160)}`] : [])));
    expect(marks).toEqual([]);
    for (const bad of ["(§2.8)", "kvm-7.2-changes §2.6", "see dynamic-pamt", "../shared/docs/x", "sept-hugepages R3"]) expect(NOTE_MARKS.test(bad), bad).toBe(true);
    for (const good of ["Linux 7.2", "kvm-x86/linux 09c6f74ecb86", "docs/model.md"]) expect(NOTE_MARKS.test(good), good).toBe(false);
  });
});
