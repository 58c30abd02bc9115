// `check --junit FILE`: the verdict matrix as JUnit XML in the Ant/Jenkins dialect (testsuites >
// testsuite > testcase with failure / error), one test case per cell, so that CI systems show which
// cell broke. A cell passes when it has its expected verdict (a cell without one: when verified);
// a different verdict is a <failure> carrying the replay command; a cell stopped by a limit (or a
// model error) is an <error>. No time or timestamp attributes: the file depends only on the cells.
import type { Counterexample } from "../engine/index.js";
import type { CellResult } from "./cell.js";
import type { Cell } from "./check.js";
import { EXIT } from "./errors.js";
import { VERSION } from "./provenance.js";
import { escapeMarkup } from "./view.js";

export interface JunitDeps {
  /** Exit code of a cell judged against its expected verdict (check.ts cellExit with compare). */
  cellExit: (r: CellResult) => number;
  replayRef: (c: Cell, x: Counterexample) => string;
}

interface Case {
  classname: string;
  name: string;
  outcome: "pass" | "failure" | "error";
  type: string;
  message: string;
  body: string;
}

const verdictText = (v: string | undefined): string => (v === undefined ? "no expected verdict" : v.startsWith("violated:") ? `violated ${v.slice(9)}` : v);

function caseOf(c: Cell, d: JunitDeps): Case {
  const r = c.result!;
  const scenario = c.preset === null ? c.label : c.label.slice(0, c.label.lastIndexOf("@"));
  const base = { classname: c.preset === null ? "tdxmc.demo" : `tdxmc.${scenario}`, name: c.preset === null ? c.label : `${scenario}@${c.preset}` };
  const code = d.cellExit(r);
  const got = r.verdict === "incomplete" ? `stopped by ${r.stopReason ?? "a limit"} after ${r.stats.executions} executions, no verdict` : r.verdict === "error" ? `model error: ${r.error ?? ""}` : verdictText(r.verdict);
  if (code === EXIT.ok) return { ...base, outcome: "pass", type: "", message: "", body: "" };
  if (code === EXIT.limit || code === EXIT.usage) return { ...base, outcome: "error", type: r.verdict === "error" ? "model-error" : "limit", message: got, body: "" };
  const x = r.counterexamples[0];
  const message = `expected ${verdictText(r.expected)}, got ${got}`;
  const body = x ? `${x.message}\n${x.steps.length} steps\ntdxmc replay '${d.replayRef(c, x).replace(/'/g, `'\\''`)}'` : "";
  return { ...base, outcome: "failure", type: r.verdict, message, body };
}

export function junitXml(cells: readonly Cell[], d: JunitDeps): string {
  const cases = cells.map((c) => caseOf(c, d));
  const suites = new Map<string, Case[]>();
  for (const k of cases) suites.set(k.classname, [...(suites.get(k.classname) ?? []), k]);
  const count = (l: Case[], o: Case["outcome"]): number => l.filter((k) => k.outcome === o).length;
  const a = escapeMarkup;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(`<testsuites name="tdxmc check" tests="${cases.length}" failures="${count(cases, "failure")}" errors="${count(cases, "error")}">`);
  for (const [name, l] of suites) {
    out.push(`  <testsuite name="${a(name)}" tests="${l.length}" failures="${count(l, "failure")}" errors="${count(l, "error")}" skipped="0">`);
    out.push(`    <properties>`, `      <property name="tdxmc" value="${a(VERSION)}"/>`, `    </properties>`);
    for (const k of l) {
      const head = `    <testcase classname="${a(k.classname)}" name="${a(k.name)}"`;
      if (k.outcome === "pass") out.push(`${head}/>`);
      else out.push(`${head}>`, `      <${k.outcome} type="${a(k.type)}" message="${a(k.message)}">${a(k.body)}</${k.outcome}>`, `    </testcase>`);
    }
    out.push(`  </testsuite>`);
  }
  out.push(`</testsuites>`, "");
  return out.join("\n");
}
