// A scenario whose thread names are hostile to HTML and XML (markup, quotes, CDATA end, C0 controls).
/** A scenario file whose thread names and path are hostile to HTML and XML. */
export const HOSTILE_THREAD = `zap</script><script>alert(1)</script>&"'<b>]]>\u0001\u001f`;
export function hostileYaml(expected: string): string {
  return [
    "name: hostile-seed-race",
    "description: the seed race with hostile thread names",
    "initial:",
    "  tables:",
    "    - { level: 1, gfn: 0 }",
    "threads:",
    '  - { kind: fault, vcpu: 0, gfn: 0, name: "vCPU<0>&amp;" }',
    `  - { kind: zap, start: 0, end: 1, name: ${JSON.stringify(HOSTILE_THREAD).replace(/\\u00/g, "\\x")} }`,
    "expected:",
    `  seed: ${expected}`,
    "",
  ].join("\n");
}
