// The build-time check of the restriction that restoring threads puts on model thread code
// (docs/design.md, "Restoring threads" and "The contract for thread code"; docs/model.md, "Writing
// a model thread"). It reads the model's TypeScript with the compiler API and reports, one line
// each (`file:line:col: message`):
//
//   live     `t.loopHead(label, ...locals)` resets the thread's local state to (label, locals), so
//            every local that is live at the loop head and whose value may differ between two
//            arrivals there must be passed (the false violation fixed in 5a7814c: INIT_MEM_REGION's
//            retry loop did not pass `pfn`);
//   call     a `yield*` call that can reach a loop head (directly or through further calls) drops
//            the caller's locals the same way: each live one must go into an argument that every
//            loop head reached hashes (a parameter the callee passes on to its loop heads);
//   closure  a function carried by a yielded op (a wait predicate, a read-modify-write function)
//            must not capture a `let` the thread reassigns after yielding it (a recorded op is
//            executed again in other executions);
//   global   thread code must not write module-level JavaScript state (other threads and the
//            checks read it; what a check needs belongs in World objects).
//
// What "may differ between two arrivals" means here (conservative, syntactic): a value received
// (`yield`, `yield*`), a `peek()`, a `let`/`var` written after its declaration, a for-of/for-in
// variable, a number/boolean (or unannotated) parameter of a generator function, or anything
// computed from one of them. Parameters of the non-generator functions that build a thread body
// (a thread's `me`), parameters with object or string types and module-level constants are taken
// as fixed; the state inside objects (an iterator's fields) is not tracked, so a field that
// changes must be passed explicitly (`iter.oldSpte`). A local is "passed" when an argument of the
// loop head mentions it, or it is a constant computed only from passed locals and fixed values.
//
// A finding can be acknowledged with `// tdxmc-live-ok: <reason>` on its line or the line above;
// the reason is required, and a comment that acknowledges nothing is itself reported.
import ts from "typescript";

export interface Finding {
  file: string;
  line: number;
  col: number;
  rule: "live" | "call" | "closure" | "global" | "hatch";
  message: string;
}

export interface SourceText {
  fileName: string;
  text: string;
}

export interface CheckStats {
  files: number;
  generators: number;
  loopHeads: number;
  loopingCalls: number;
  opClosures: number;
  acknowledged: number;
}

export interface CheckResult {
  findings: Finding[];
  stats: CheckStats;
}

const HATCH = /\/\/\s*tdxmc-live-ok\b:?(.*)$/;

/** Mutating methods: calling one on a module-level object from thread code writes shared JS state. */
const MUTATORS = new Set(["push", "pop", "shift", "unshift", "splice", "sort", "reverse", "fill", "copyWithin", "set", "delete", "clear", "add"]);

type Fn = ts.FunctionLikeDeclaration;

interface SymInfo {
  decl: ts.Node;
  /** The function whose scope holds the declaration (undefined: module level). */
  owner: Fn | undefined;
  reads: ts.Identifier[];
  writes: ts.Identifier[];
}

function isFn(n: ts.Node): n is Fn {
  return ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isMethodDeclaration(n) || ts.isConstructorDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n);
}

function isGenerator(f: Fn): boolean {
  return (ts.isFunctionDeclaration(f) || ts.isFunctionExpression(f) || ts.isMethodDeclaration(f)) && f.asteriskToken !== undefined;
}

function enclosingFn(n: ts.Node): Fn | undefined {
  for (let p = n.parent; p; p = p.parent) if (isFn(p)) return p;
  return undefined;
}

function isLoop(n: ts.Node): n is ts.IterationStatement {
  return ts.isForStatement(n) || ts.isForOfStatement(n) || ts.isForInStatement(n) || ts.isWhileStatement(n) || ts.isDoStatement(n);
}

/** The innermost loop around `n` inside function `f` (not crossing into it from a nested function). */
function enclosingLoop(n: ts.Node, f: Fn): ts.IterationStatement | undefined {
  for (let p = n.parent; p && p !== f; p = p.parent) {
    if (isFn(p)) return undefined;
    if (isLoop(p)) return p;
  }
  return undefined;
}

function within(n: ts.Node, outer: ts.Node): boolean {
  return n.pos >= outer.pos && n.end <= outer.end;
}

/** Is identifier `id` written (assignment target, ++/--, destructuring target)? */
function isWrite(id: ts.Identifier): boolean {
  let n: ts.Node = id;
  let p = n.parent;
  // Destructuring assignment targets: [a, b] = …, ({ a } = …).
  while (p && (ts.isArrayLiteralExpression(p) || ts.isShorthandPropertyAssignment(p) || ts.isSpreadElement(p) || (ts.isPropertyAssignment(p) && p.initializer === n) || ts.isObjectLiteralExpression(p) || ts.isParenthesizedExpression(p))) {
    n = p;
    p = p.parent;
  }
  if (!p) return false;
  if (ts.isBinaryExpression(p) && p.left === n) {
    const k = p.operatorToken.kind;
    return k >= ts.SyntaxKind.FirstAssignment && k <= ts.SyntaxKind.LastAssignment;
  }
  if ((ts.isPrefixUnaryExpression(p) || ts.isPostfixUnaryExpression(p)) && n === id) {
    return p.operator === ts.SyntaxKind.PlusPlusToken || p.operator === ts.SyntaxKind.MinusMinusToken;
  }
  if ((ts.isForOfStatement(p) || ts.isForInStatement(p)) && p.initializer === n) return true;
  return false;
}

function isLoopHeadCall(n: ts.Node): n is ts.CallExpression {
  return ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === "loopHead";
}

function isPeekCall(n: ts.Node): boolean {
  return ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === "peek";
}

/** An identifier that names a value binding (not a property name, label or type). */
function isValueName(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if (ts.isQualifiedName(p) && p.right === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodSignature(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p) || ts.isEnumMember(p)) && p.name === id) return false;
  if ((ts.isLabeledStatement(p) || ts.isBreakStatement(p) || ts.isContinueStatement(p)) && p.label === id) return false;
  if (ts.isBindingElement(p) && p.propertyName === id) return false;
  if (ts.isClassDeclaration(p) || ts.isClassExpression(p)) return false;
  return true;
}

export function checkSources(sources: readonly SourceText[], opts: { report?: (f: string) => boolean; root?: string } = {}): CheckResult {
  const byName = new Map(sources.map((s) => [normal(s.fileName), s.text]));
  const options: ts.CompilerOptions = { noLib: true, types: [], noEmit: true, allowJs: false, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true };
  const host = ts.createCompilerHost(options, true);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (f) => byName.get(normal(f)) ?? readFile(f);
  host.fileExists = (f) => byName.has(normal(f)) || fileExists(f);
  host.getSourceFile = (f, lang) => {
    const text = host.readFile(f);
    if (text === undefined) return undefined;
    const key = normal(f);
    const hit = parsed.get(key);
    if (hit && hit.text === text) return hit;
    const sf = ts.createSourceFile(f, text, lang, true);
    parsed.set(key, sf);
    return sf;
  };
  // Imports resolve only among the files checked (`./x.js` → `./x.ts`); the engine and the rest stay
  // unparsed: a callee outside them is taken to reach no loop head.
  host.resolveModuleNameLiterals = (lits, containing) =>
    lits.map((lit) => {
      const spec = lit.text;
      if (!spec.startsWith(".")) return { resolvedModule: undefined };
      const base = normal(containing).replace(/[^/]*$/, "");
      const target = normalizePath(base + spec).replace(/\.js$/, ".ts");
      return byName.has(target) ? { resolvedModule: { resolvedFileName: target, extension: ts.Extension.Ts, isExternalLibraryImport: false } } : { resolvedModule: undefined };
    });
  const program = ts.createProgram({ rootNames: [...byName.keys()], options, host });
  const checker = program.getTypeChecker();
  const root = opts.root ?? process.cwd();
  const reportFile = opts.report ?? ((f: string) => byName.has(normal(f)));
  const files = program.getSourceFiles().filter((sf) => !sf.isDeclarationFile && reportFile(sf.fileName));
  // Symbols resolved in every file of the program that can hold thread code (callees may live in
  // files not reported on; they are indexed too so that calls into them are followed).
  // Calls are followed only between these files (a callee elsewhere is taken to reach no loop head).
  const analysed = files;

  const syms = new Map<ts.Symbol, SymInfo>();
  const symOf = new Map<ts.Identifier, ts.Symbol>();
  const fnsByFile = new Map<ts.SourceFile, Fn[]>();
  for (const sf of analysed) {
    const fns: Fn[] = [];
    const visit = (n: ts.Node): void => {
      if (isFn(n)) fns.push(n);
      if (ts.isTypeNode(n) || ts.isTypeAliasDeclaration(n) || ts.isInterfaceDeclaration(n)) return;
      if (ts.isIdentifier(n) && isValueName(n)) {
        const s = checker.getSymbolAtLocation(n);
        if (s) {
          symOf.set(n, s);
          const decl = s.valueDeclaration;
          if (decl && (ts.isVariableDeclaration(decl) || ts.isParameter(decl) || ts.isBindingElement(decl)) && decl.getSourceFile() === sf) {
            let info = syms.get(s);
            if (!info) {
              info = { decl, owner: enclosingFn(decl), reads: [], writes: [] };
              syms.set(s, info);
            }
            const isDeclName = (ts.isVariableDeclaration(n.parent) || ts.isParameter(n.parent) || ts.isBindingElement(n.parent)) && n.parent.name === n;
            if (!isDeclName) (isWrite(n) ? info.writes : info.reads).push(n);
          }
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    fnsByFile.set(sf, fns);
  }
  const allFns = [...fnsByFile.values()].flat();
  const readIds = new Set<ts.Node>();
  for (const info of syms.values()) for (const r of info.reads) readIds.add(r);

  // --- which values may differ between two arrivals at a point ---
  const TOP = "top" as const;
  type Deps = Set<ts.Symbol> | typeof TOP;
  const taintMemo = new Map<ts.Symbol, boolean>();
  const depsMemo = new Map<ts.Symbol, Deps>();

  /** Varying locals an expression depends on, or TOP if it receives a value (yield, peek). */
  function exprDeps(e: ts.Node, seen: Set<ts.Symbol>): Deps {
    const out = new Set<ts.Symbol>();
    let top = false;
    const walk = (x: ts.Node, inFn = false): void => {
      if (top) return;
      if (!inFn && (ts.isYieldExpression(x) || isPeekCall(x))) {
        top = true;
        return;
      }
      if (ts.isIdentifier(x)) {
        const s = symOf.get(x);
        if (s && syms.has(s) && !within(syms.get(s)!.decl, e) && varying(s, seen)) out.add(s);
      }
      const nested = inFn || isFn(x);
      ts.forEachChild(x, (y) => walk(y, nested));
    };
    walk(e);
    return top ? TOP : out;
  }

  /**
   * A generator's parameter is fixed when its type is an object or string type, or when every call
   * of the generator is a resolved `yield*` call passing the same fixed expression (a flow called
   * once per thread with the thread's declaration).
   */
  function isParamFixed(p: ts.ParameterDeclaration, seen: Set<ts.Symbol>): boolean {
    const f = p.parent as Fn;
    if (!isGenerator(f)) return true; // a thread-body factory's parameter (`me`), or a callback's
    const t = p.type;
    const prim = (x: ts.TypeNode): boolean =>
      x.kind === ts.SyntaxKind.NumberKeyword || x.kind === ts.SyntaxKind.BooleanKeyword || x.kind === ts.SyntaxKind.BigIntKeyword || (ts.isLiteralTypeNode(x) && !ts.isStringLiteral(x.literal)) || (ts.isUnionTypeNode(x) && x.types.some(prim));
    if (t && !prim(t)) return true;
    const idx = f.parameters.indexOf(p);
    const sites = callSitesOf().get(f);
    if (!sites || sites.length === 0) return false;
    const texts = new Set<string>();
    for (const c of sites) {
      const a = c.arguments[idx];
      if (!a) {
        texts.add("<default>");
        continue;
      }
      if (a.kind === ts.SyntaxKind.SpreadElement) return false;
      const d = exprDeps(a, seen);
      if (d === TOP || d.size > 0) return false;
      texts.add(a.getText());
    }
    return texts.size === 1;
  }
  let callSites: Map<Fn, ts.CallExpression[]> | undefined;
  /** The resolved `yield*` calls of each generator; a generator also used as a value gets none. */
  function callSitesOf(): Map<Fn, ts.CallExpression[]> {
    if (callSites) return callSites;
    const m = new Map<Fn, ts.CallExpression[]>();
    const calleeIds = new Set<ts.Node>();
    for (const calls of yieldStarCalls.values())
      for (const c of calls) {
        const g = callee(c);
        if (!g) continue;
        calleeIds.add(c.expression);
        m.set(g, [...(m.get(g) ?? []), c]);
      }
    // A generator referenced other than as a yield* callee (passed as a value, called plainly) may be
    // called with anything.
    for (const [id, s0] of symOf) {
      if (calleeIds.has(id)) continue;
      const s = s0.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s0) : s0;
      const d = s.valueDeclaration;
      const g = d && isFn(d) ? d : d && ts.isVariableDeclaration(d) && d.initializer && (ts.isFunctionExpression(d.initializer) || ts.isArrowFunction(d.initializer)) ? d.initializer : undefined;
      if (!g || !m.has(g)) continue;
      const isOwnName = (ts.isFunctionDeclaration(id.parent) || ts.isVariableDeclaration(id.parent)) && (id.parent as ts.FunctionDeclaration).name === id;
      const isImport = ts.isImportSpecifier(id.parent) || ts.isExportSpecifier(id.parent);
      if (!isOwnName && !isImport) m.delete(g);
    }
    callSites = m;
    return m;
  }

  /** May this local hold different values at two arrivals at one point of its scope? */
  function varying(s: ts.Symbol, seen: Set<ts.Symbol> = new Set()): boolean {
    const m = taintMemo.get(s);
    if (m !== undefined) return m;
    const info = syms.get(s);
    if (!info || !info.owner) return false; // module level: rule "global"
    if (seen.has(s)) return true;
    seen.add(s);
    let v: boolean;
    const d = info.decl;
    if (info.writes.length > 0) v = true;
    else if (ts.isParameter(d)) v = !isParamFixed(d, seen);
    else if (ts.isBindingElement(d)) v = true;
    else if (ts.isVariableDeclaration(d)) {
      const list = d.parent;
      const stmt = list.parent;
      if (ts.isForOfStatement(stmt) || ts.isForInStatement(stmt)) v = true;
      else if (!d.initializer) v = true;
      else {
        const deps = exprDeps(d.initializer, seen);
        v = deps === TOP || deps.size > 0;
      }
    } else v = true;
    seen.delete(s);
    taintMemo.set(s, v);
    return v;
  }

  /** What a const's value is computed from (TOP if it received a value or is reassigned). */
  function depsOf(s: ts.Symbol): Deps {
    const m = depsMemo.get(s);
    if (m !== undefined) return m;
    const info = syms.get(s)!;
    const d = info.decl;
    let r: Deps = TOP;
    if (info.writes.length === 0 && ts.isVariableDeclaration(d) && d.initializer && !ts.isForOfStatement(d.parent.parent) && !ts.isForInStatement(d.parent.parent)) r = exprDeps(d.initializer, new Set([s]));
    depsMemo.set(s, r);
    return r;
  }

  /** Is `s` determined by the symbols in `given` (mentioned) and fixed values? */
  function covered(s: ts.Symbol, given: Set<ts.Symbol>, seen: Set<ts.Symbol> = new Set()): boolean {
    if (given.has(s) || !varying(s)) return true;
    if (seen.has(s)) return false;
    seen.add(s);
    const d = depsOf(s);
    return d !== TOP && [...d].every((x) => covered(x, given, seen));
  }

  function mentioned(nodes: readonly ts.Node[]): Set<ts.Symbol> {
    const out = new Set<ts.Symbol>();
    const walk = (x: ts.Node): void => {
      if (ts.isIdentifier(x)) {
        const s = symOf.get(x);
        if (s) out.add(s);
      }
      ts.forEachChild(x, walk);
    };
    for (const n of nodes) walk(n);
    return out;
  }

  // --- liveness (backward, over the structured statements of one function) ---
  type Live = Set<ts.Symbol>;
  interface Flow {
    liveIn: Map<ts.Node, Live>;
    liveOut: Map<ts.Node, Live>;
    /** Locals read by nested functions that may run at any later time (conservatively always live). */
    always: Live;
  }
  const flows = new Map<Fn, Flow>();

  /** Reads of locals in `n`, not descending into nested functions (inline callbacks included). */
  function readsIn(n: ts.Node, skipFns = true): Live {
    const out: Live = new Set();
    const walk = (x: ts.Node): void => {
      if (skipFns && isFn(x) && !ts.isCallExpression(x.parent)) return;
      if (ts.isIdentifier(x)) {
        const s = symOf.get(x);
        const info = s && syms.get(s);
        if (s && info && info.owner && readIds.has(x)) out.add(s);
      }
      ts.forEachChild(x, walk);
    };
    walk(n);
    return out;
  }
  const union = (...xs: Live[]): Live => {
    const o: Live = new Set();
    for (const x of xs) for (const v of x) o.add(v);
    return o;
  };
  const minus = (a: Live, b: Iterable<ts.Symbol>): Live => {
    const o = new Set(a);
    for (const v of b) o.delete(v);
    return o;
  };
  /** Locals a statement certainly (re)defines: declarations with initializers, top-level `x = e`. */
  function defsOf(st: ts.Node): ts.Symbol[] {
    const out: ts.Symbol[] = [];
    if (ts.isVariableStatement(st) || ts.isVariableDeclarationList(st)) {
      const list = ts.isVariableStatement(st) ? st.declarationList : st;
      for (const d of list.declarations) if (d.initializer && ts.isIdentifier(d.name)) { const s = symOf.get(d.name); if (s) out.push(s); }
    } else if (ts.isExpressionStatement(st) || ts.isBinaryExpression(st)) {
      const e = ts.isExpressionStatement(st) ? st.expression : st;
      if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(e.left)) { const s = symOf.get(e.left); if (s) out.push(s); }
    }
    return out;
  }

  function flowOf(f: Fn): Flow {
    let fl = flows.get(f);
    if (fl) return fl;
    const liveIn = new Map<ts.Node, Live>();
    const liveOut = new Map<ts.Node, Live>();
    const always: Live = new Set();
    const nested = (x: ts.Node): void => {
      if (x !== f && isFn(x) && !ts.isCallExpression(x.parent)) {
        for (const s of readsIn(x, false)) if (syms.get(s)!.owner !== x && !within(syms.get(s)!.decl, x)) always.add(s);
        return;
      }
      ts.forEachChild(x, nested);
    };
    ts.forEachChild(f, nested);
    interface Targets { brk: Live; cont: Live | null; labels: Map<string, { brk: Live; cont: Live | null }> }
    const stmtList = (list: readonly ts.Statement[], out: Live, t: Targets): Live => {
      let cur = out;
      for (let i = list.length - 1; i >= 0; i--) cur = stmt(list[i]!, cur, t);
      return cur;
    };
    const stmt = (st: ts.Statement, out: Live, t: Targets, label?: string): Live => {
      liveOut.set(st, union(liveOut.get(st) ?? new Set(), out));
      let r: Live;
      if (ts.isBlock(st)) r = stmtList(st.statements, out, t);
      else if (ts.isExpressionStatement(st) || ts.isVariableStatement(st)) r = union(minus(out, defsOf(st)), readsIn(st));
      else if (ts.isIfStatement(st)) r = union(readsIn(st.expression), stmt(st.thenStatement, out, t), st.elseStatement ? stmt(st.elseStatement, out, t) : out);
      else if (ts.isReturnStatement(st) || ts.isThrowStatement(st)) r = st.expression ? readsIn(st.expression) : new Set();
      else if (ts.isBreakStatement(st)) r = st.label ? (t.labels.get(st.label.text)?.brk ?? new Set()) : t.brk;
      else if (ts.isContinueStatement(st)) r = (st.label ? t.labels.get(st.label.text)?.cont : t.cont) ?? new Set();
      else if (ts.isLabeledStatement(st)) r = stmt(st.statement, out, t, st.label.text);
      else if (isLoop(st)) {
        // Fixpoint: the live set at the loop's head grows until stable.
        let head: Live = new Set();
        for (let k = 0; k < 50; k++) {
          let cont: Live;
          let next: Live;
          if (ts.isForStatement(st)) {
            const incr = st.incrementor;
            cont = incr ? union(minus(head, defsOf(incr)), readsIn(incr)) : head;
            const labels = new Map(t.labels);
            if (label) labels.set(label, { brk: out, cont });
            const body = stmt(st.statement, cont, { brk: out, cont, labels });
            next = union(st.condition ? readsIn(st.condition) : new Set(), body, st.condition ? out : new Set());
          } else if (ts.isWhileStatement(st) || ts.isDoStatement(st)) {
            const condLive = union(readsIn(st.expression), head, out);
            cont = ts.isDoStatement(st) ? condLive : head;
            const labels = new Map(t.labels);
            if (label) labels.set(label, { brk: out, cont });
            const body = stmt(st.statement, cont, { brk: out, cont, labels });
            next = ts.isDoStatement(st) ? union(body, head) : union(readsIn(st.expression), body, out);
          } else {
            const fo = st as ts.ForOfStatement | ts.ForInStatement;
            cont = head;
            const labels = new Map(t.labels);
            if (label) labels.set(label, { brk: out, cont });
            const body = stmt(fo.statement, cont, { brk: out, cont, labels });
            const vars = ts.isVariableDeclarationList(fo.initializer) ? fo.initializer.declarations.flatMap((d) => (ts.isIdentifier(d.name) && symOf.get(d.name) ? [symOf.get(d.name)!] : [])) : [];
            next = union(minus(body, vars), out);
          }
          if (next.size === head.size && [...next].every((v) => head.has(v))) break;
          head = union(head, next);
        }
        if (ts.isForStatement(st) && st.initializer) r = union(minus(head, defsOf(st.initializer)), readsIn(st.initializer));
        else if (ts.isForOfStatement(st) || ts.isForInStatement(st)) r = union(head, readsIn(st.expression));
        else r = head;
      } else if (ts.isSwitchStatement(st)) {
        let next: Live = out;
        let hasDefault = false;
        const clauses = st.caseBlock.clauses;
        const labels = new Map(t.labels);
        if (label) labels.set(label, { brk: out, cont: t.cont });
        const acc: Live[] = [];
        for (let i = clauses.length - 1; i >= 0; i--) {
          const c = clauses[i]!;
          if (ts.isDefaultClause(c)) hasDefault = true;
          next = stmtList(c.statements, next, { brk: out, cont: t.cont, labels });
          acc.push(next);
          if (ts.isCaseClause(c)) acc.push(readsIn(c.expression));
        }
        r = union(readsIn(st.expression), ...acc, hasDefault ? new Set() : out);
      } else if (ts.isTryStatement(st)) {
        const fin = st.finallyBlock ? stmt(st.finallyBlock, out, t) : out;
        const c = st.catchClause ? stmt(st.catchClause.block, fin, t) : new Set<ts.Symbol>();
        const body = stmt(st.tryBlock, fin, t);
        r = union(body, c, fin);
      } else r = union(out, readsIn(st));
      liveIn.set(st, union(liveIn.get(st) ?? new Set(), r));
      return r;
    };
    if (f.body && ts.isBlock(f.body)) stmtList(f.body.statements, new Set(), { brk: new Set(), cont: null, labels: new Map() });
    fl = { liveIn, liveOut, always };
    flows.set(f, fl);
    return fl;
  }

  /**
   * The varying locals live right after point `p` (in function `f`): declared before it in `f` or
   * an enclosing function, and read on some path from p before being overwritten (locals that
   * nested functions read count as live throughout). Excludes what p's own statement declares or
   * assigns from p's result.
   */
  function liveAfter(p: ts.Node, f: Fn): ts.Symbol[] {
    const fl = flowOf(f);
    let st: ts.Node | undefined;
    for (let x: ts.Node = p; x !== f; x = x.parent) if (ts.isStatement(x) && fl.liveOut.has(x)) { st = x; break; }
    const live: Live = new Set(fl.always);
    if (st) {
      // Reads in the statement after p; for an `if` whose condition holds p, the branches' live-in.
      for (const r of readsIn(st)) if (syms.get(r)!.reads.some((id) => id.pos >= p.end && within(id, st!))) live.add(r);
      if (ts.isIfStatement(st) && within(p, st.expression)) {
        for (const v of fl.liveIn.get(st.thenStatement) ?? []) live.add(v);
        for (const v of st.elseStatement ? fl.liveIn.get(st.elseStatement) ?? [] : fl.liveOut.get(st)!) live.add(v);
      } else if (isLoop(st) || ts.isSwitchStatement(st)) {
        for (const v of fl.liveIn.get(st) ?? []) live.add(v);
        for (const v of fl.liveOut.get(st)!) live.add(v);
      } else {
        const defs = defsOf(st);
        for (const v of fl.liveOut.get(st)!) if (!defs.includes(v) || !within(p, st)) live.add(v);
      }
    }
    const out: ts.Symbol[] = [];
    for (const s of live) {
      const info = syms.get(s)!;
      const d = info.decl;
      if (!ts.isParameter(d) && d.end > p.pos) continue;
      if (!ts.isParameter(d) && within(p, d)) continue;
      if (!varying(s)) continue;
      out.push(s);
    }
    return out;
  }

  // --- loop heads and the functions that reach one ---
  const directHeads = new Map<Fn, ts.CallExpression[]>();
  const yieldStarCalls = new Map<Fn, ts.CallExpression[]>();
  for (const f of allFns) {
    const heads: ts.CallExpression[] = [];
    const calls: ts.CallExpression[] = [];
    const walk = (x: ts.Node): void => {
      if (x !== f && isFn(x)) return;
      if (isLoopHeadCall(x)) heads.push(x);
      if (ts.isYieldExpression(x) && x.asteriskToken && x.expression && ts.isCallExpression(x.expression)) calls.push(x.expression);
      ts.forEachChild(x, walk);
    };
    ts.forEachChild(f, walk);
    directHeads.set(f, heads);
    yieldStarCalls.set(f, calls);
  }
  const calleeMemo = new Map<ts.CallExpression, Fn | undefined>();
  function callee(c: ts.CallExpression): Fn | undefined {
    if (calleeMemo.has(c)) return calleeMemo.get(c);
    let r: Fn | undefined;
    if (ts.isIdentifier(c.expression)) {
      let s = symOf.get(c.expression) ?? checker.getSymbolAtLocation(c.expression);
      if (s && s.flags & ts.SymbolFlags.Alias) s = checker.getAliasedSymbol(s);
      const d = s?.valueDeclaration;
      if (d && isFn(d)) r = d;
      else if (d && ts.isVariableDeclaration(d) && d.initializer && (ts.isFunctionExpression(d.initializer) || ts.isArrowFunction(d.initializer))) r = d.initializer;
    }
    calleeMemo.set(c, r);
    return r;
  }
  const reaches = new Set<Fn>();
  for (const [f, h] of directHeads) if (h.length > 0) reaches.add(f);
  for (let changed = true; changed; ) {
    changed = false;
    for (const [f, calls] of yieldStarCalls) {
      if (reaches.has(f)) continue;
      if (calls.some((c) => { const g = callee(c); return g !== undefined && reaches.has(g); })) {
        reaches.add(f);
        changed = true;
      }
    }
  }
  // Parameters that every loop head reached from a function hashes (greatest fixpoint).
  const hashed = new Map<Fn, Set<number>>();
  for (const f of reaches) hashed.set(f, new Set(f.parameters.map((_, i) => i)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of reaches) {
      const cur = hashed.get(f)!;
      for (const i of [...cur]) {
        const pn = f.parameters[i]!.name;
        const ps = ts.isIdentifier(pn) ? symOf.get(pn) : undefined;
        let ok = ps !== undefined;
        for (const h of directHeads.get(f)!) if (ok && !mentioned(h.arguments).has(ps!)) ok = false;
        for (const c of yieldStarCalls.get(f)!) {
          const g = callee(c);
          if (!ok || !g || !reaches.has(g)) continue;
          const hs = hashed.get(g)!;
          ok = c.arguments.some((a, j) => hs.has(j) && mentioned([a]).has(ps!));
        }
        if (!ok) {
          cur.delete(i);
          changed = true;
        }
      }
    }
  }

  // --- the findings ---
  const findings: Finding[] = [];
  const rel = (sf: ts.SourceFile): string => {
    const n = normal(sf.fileName);
    const r = normal(root).replace(/\/?$/, "/");
    return n.startsWith(r) ? n.slice(r.length) : n;
  };
  const at = (n: ts.Node): { sf: ts.SourceFile; line: number; col: number } => {
    const sf = n.getSourceFile();
    const lc = sf.getLineAndCharacterOfPosition(n.getStart(sf));
    return { sf, line: lc.line + 1, col: lc.character + 1 };
  };
  const raw: { node: ts.Node; rule: Finding["rule"]; message: string }[] = [];
  const nameOf = (s: ts.Symbol): string => s.getName();
  const lineOf = (n: ts.Node): number => at(n).line;
  const fnName = (f: Fn): string => {
    if (f.name && ts.isIdentifier(f.name)) return f.name.text;
    if (ts.isVariableDeclaration(f.parent) && ts.isIdentifier(f.parent.name)) return f.parent.name.text;
    return "an anonymous function";
  };
  const reportSet = new Set(files);
  let generators = 0;
  let loopHeads = 0;
  let loopingCalls = 0;
  let opClosures = 0;
  for (const sf of files) {
    for (const f of fnsByFile.get(sf) ?? []) {
      if (isGenerator(f)) generators++;
      for (const h of directHeads.get(f)!) {
        loopHeads++;
        const given = mentioned(h.arguments);
        const label = h.arguments[0] && ts.isStringLiteralLike(h.arguments[0]) ? `"${h.arguments[0].text}"` : "";
        for (const s of liveAfter(h, f)) {
          if (covered(s, given)) continue;
          raw.push({ node: h, rule: "live", message: `loopHead(${label}) does not pass '${nameOf(s)}' (line ${lineOf(syms.get(s)!.decl)}), which is live at the loop head and may differ between arrivals there; pass it (or a number that determines it) as a local` });
        }
      }
      const sameCall = new Map<string, ts.CallExpression>();
      for (const c of yieldStarCalls.get(f)!) {
        const g = callee(c);
        if (!g || !reaches.has(g)) continue;
        loopingCalls++;
        // Two calls with the same arguments reach the same loop-head states: nothing tells them apart.
        const key = c.getText().replace(/\s+/g, "");
        const first = sameCall.get(key);
        if (first && !exclusive(first, c)) raw.push({ node: c, rule: "call", message: `this call of ${fnName(g)}() has the same arguments as the one at line ${lineOf(first)}, and ${fnName(g)}() reaches a loop head: the two calls' states there are one; pass a distinct number in an argument the loop head hashes` });
        else sameCall.set(key, c);
        const hs = hashed.get(g)!;
        const given = mentioned(c.arguments.filter((_, j) => hs.has(j)));
        for (const s of liveAfter(c.parent, f)) {
          if (covered(s, given)) continue;
          raw.push({ node: c, rule: "call", message: `${fnName(g)}() reaches a loop head, which resets the thread's local state, but '${nameOf(s)}' (line ${lineOf(syms.get(s)!.decl)}) of ${fnName(f)}() is live after the call and not in an argument that the loop head hashes` });
        }
      }
      if (isGenerator(f)) opClosures += checkOpClosures(f, raw);
      checkGlobals(f, raw);
    }
  }

  /** Are a and b in the two branches of one `if` or `?:` (so no path runs both in one pass)? */
  function exclusive(a: ts.Node, b: ts.Node): boolean {
    for (let p = a.parent; p; p = p.parent) {
      if (!within(b, p)) continue;
      if (ts.isIfStatement(p) && p.elseStatement) {
        const inThen = (n: ts.Node) => within(n, p.thenStatement);
        const inElse = (n: ts.Node) => within(n, p.elseStatement!);
        return (inThen(a) && inElse(b)) || (inElse(a) && inThen(b));
      }
      if (ts.isConditionalExpression(p)) {
        const wt = (n: ts.Node) => within(n, p.whenTrue);
        const wf = (n: ts.Node) => within(n, p.whenFalse);
        return (wt(a) && wf(b)) || (wf(a) && wt(b));
      }
      return false;
    }
    return false;
  }

  function checkOpClosures(f: Fn, out: typeof raw): number {
    let n = 0;
    const walk = (x: ts.Node): void => {
      if (x !== f && isFn(x)) return;
      if (ts.isYieldExpression(x) && !x.asteriskToken && x.expression && ts.isCallExpression(x.expression)) {
        const y = x;
        for (const a of x.expression.arguments) {
          if (!ts.isArrowFunction(a) && !ts.isFunctionExpression(a)) continue;
          n++;
          const loop = enclosingLoop(y, f);
          const seen = new Set<ts.Symbol>();
          const cap = (z: ts.Node): void => {
            if (ts.isIdentifier(z)) {
              const s = symOf.get(z);
              const info = s && syms.get(s);
              if (s && info && info.owner && !within(info.decl, a) && !seen.has(s)) {
                seen.add(s);
                // A `for (let …)` variable is a fresh binding per iteration: its incrementor writes the next one.
                const d = info.decl;
                const forLet = ts.isVariableDeclaration(d) && ts.isForStatement(d.parent.parent) && d.parent.parent.initializer === d.parent && (d.parent.flags & ts.NodeFlags.BlockScoped) !== 0;
                const later = info.writes.find((w) => !(forLet && (d.parent.parent as ts.ForStatement).incrementor !== undefined && within(w, (d.parent.parent as ts.ForStatement).incrementor!)) && (w.pos >= y.end || (loop !== undefined && within(w, loop) && !within(info.decl, loop.statement))));
                if (later) out.push({ node: z, rule: "closure", message: `the function carried by this op captures '${s.getName()}', which the thread reassigns after yielding the op (line ${lineOf(later)}); a recorded op is executed again in other executions: copy the value into a const first` });
              }
            }
            ts.forEachChild(z, cap);
          };
          ts.forEachChild(a, cap);
        }
      }
      ts.forEachChild(x, walk);
    };
    ts.forEachChild(f, walk);
    return n;
  }

  function inThreadCode(f: Fn): boolean {
    for (let g: Fn | undefined = f; g; g = enclosingFn(g)) if (isGenerator(g)) return true;
    return false;
  }

  function checkGlobals(f: Fn, out: typeof raw): void {
    if (!inThreadCode(f)) return;
    const walk = (x: ts.Node): void => {
      if (x !== f && isFn(x)) return;
      if (ts.isIdentifier(x)) {
        const s = symOf.get(x);
        const info = s && syms.get(s);
        if (s && info && !info.owner) {
          let why = "";
          if (isWrite(x)) why = "assigns";
          else {
            // The base of a property write or of a mutating method call.
            let e: ts.Node = x;
            while (ts.isPropertyAccessExpression(e.parent) || ts.isElementAccessExpression(e.parent)) {
              if (e.parent.expression !== e) break;
              e = e.parent;
            }
            if (e !== x) {
              const p = e.parent;
              if (ts.isBinaryExpression(p) && p.left === e && p.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && p.operatorToken.kind <= ts.SyntaxKind.LastAssignment) why = "writes a property of";
              else if ((ts.isPrefixUnaryExpression(p) || ts.isPostfixUnaryExpression(p)) && (p.operator === ts.SyntaxKind.PlusPlusToken || p.operator === ts.SyntaxKind.MinusMinusToken)) why = "writes a property of";
              else if (ts.isCallExpression(p) && p.expression === e && ts.isPropertyAccessExpression(e) && MUTATORS.has(e.name.text)) why = `calls ${e.name.text}() on`;
            }
          }
          if (why) out.push({ node: x, rule: "global", message: `thread code ${why} module-level '${s.getName()}' (line ${lineOf(info.decl)}); other threads and the checks see it, and the engine may run or skip this code when it restores: keep shared state in World objects` });
        }
      }
      ts.forEachChild(x, walk);
    };
    ts.forEachChild(f, walk);
  }

  // --- acknowledgements (`// tdxmc-live-ok: reason`) ---
  const hatches = new Map<string, { line: number; col: number; reason: string; used: boolean; sf: ts.SourceFile }>();
  for (const sf of files) {
    // Only real `//` comments count (not the text of a string that looks like one): the comment
    // ranges around every node of the parsed file.
    const seen = new Set<number>();
    const take = (ranges: ts.CommentRange[] | undefined): void => {
      for (const r of ranges ?? []) {
        if (r.kind !== ts.SyntaxKind.SingleLineCommentTrivia || seen.has(r.pos)) continue;
        seen.add(r.pos);
        const m = HATCH.exec(sf.text.slice(r.pos, r.end));
        if (!m) continue;
        const lc = sf.getLineAndCharacterOfPosition(r.pos + m.index);
        hatches.set(`${sf.fileName}:${lc.line + 1}`, { line: lc.line + 1, col: lc.character + 1, reason: (m[1] ?? "").trim(), used: false, sf });
      }
    };
    const walk = (n: ts.Node): void => {
      take(ts.getLeadingCommentRanges(sf.text, n.pos));
      take(ts.getTrailingCommentRanges(sf.text, n.end));
      // Comments after the last element of a list (before a block's closing brace).
      ts.forEachChild(n, walk, (list) => {
        list.forEach(walk);
        take(ts.getLeadingCommentRanges(sf.text, list.end));
      });
    };
    walk(sf);
    take(ts.getLeadingCommentRanges(sf.text, sf.endOfFileToken.pos));
  }
  let acknowledged = 0;
  const seenKey = new Set<string>();
  for (const r of raw) {
    const { sf, line, col } = at(r.node);
    if (!reportSet.has(sf)) continue;
    const key = `${sf.fileName}:${line}:${col}:${r.message}`;
    if (seenKey.has(key)) continue;
    seenKey.add(key);
    const h = hatches.get(`${sf.fileName}:${line}`) ?? hatches.get(`${sf.fileName}:${line - 1}`) ?? hatchAbove(sf, line);
    if (h && h.reason.length >= 8) {
      h.used = true;
      acknowledged++;
      continue;
    }
    findings.push({ file: rel(sf), line, col, rule: r.rule, message: r.message });
  }
  /** A hatch in the comment block directly above the finding's line. */
  function hatchAbove(sf: ts.SourceFile, line: number) {
    const lines = sf.text.split("\n");
    for (let l = line - 1; l >= 1; l--) {
      const t = lines[l - 1]!.trim();
      if (!t.startsWith("//")) return undefined;
      const h = hatches.get(`${sf.fileName}:${l}`);
      if (h) return h;
    }
    return undefined;
  }
  for (const h of hatches.values()) {
    if (h.reason.length < 8) findings.push({ file: rel(h.sf), line: h.line, col: h.col, rule: "hatch", message: "tdxmc-live-ok needs a reason after the colon (why the value cannot differ, or why it does not matter)" });
    else if (!h.used) findings.push({ file: rel(h.sf), line: h.line, col: h.col, rule: "hatch", message: "this tdxmc-live-ok acknowledges no finding of the thread-code check; remove it" });
  }
  findings.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col || (a.message < b.message ? -1 : 1)));
  return { findings, stats: { files: files.length, generators, loopHeads, loopingCalls, opClosures, acknowledged } };
}

function normal(f: string): string {
  return f.replace(/\\/g, "/");
}

function normalizePath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "..") out.pop();
    else if (seg !== ".") out.push(seg);
  }
  return out.join("/");
}

/** Parsed files, kept across runs in one process (the tests check several variants of one tree). */
const parsed = new Map<string, ts.SourceFile>();

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.col}: ${f.message} [threadcheck/${f.rule}]`;
}
