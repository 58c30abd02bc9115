// The engine's public interface. Nothing here knows about KVM or TDX.
export { World, decimal, type Formatter, type ObjInfo } from "./world.js";
export { K, M, KIND_NAMES, type Op, type OpKind } from "./ops.js";
export * from "./primitives/index.js";
export { defineProgram, type Program, type ThreadApi, type ThreadBody, type ThreadSpec, type Invariant, type IncrementalCheck, type QuiescentInvariant, type ProgramParts, MAX_THREADS, MAX_SIM_THREADS } from "./program.js";
export { Execution, type Oracle, type Violation } from "./execution.js";
export * from "./result.js";
export { formatSchedule, parseSchedule, ScheduleSyntaxError, type Schedule } from "./schedule.js";
export { exhaustiveExplore } from "./schedulers/exhaustive.js";
export { dporExplore } from "./schedulers/dpor.js";
export { boundedExplore } from "./schedulers/bounded.js";
export { pctExplore } from "./schedulers/pct.js";
export { randomExplore } from "./schedulers/random.js";
export { replay, ReplayDivergence, type ReplayResult } from "./schedulers/replay.js";
export { minimize, minimizeWithin, type MinimizeOptions, type MinimizeResult } from "./minimize.js";
export { explore, STRATEGIES, type StrategyName, type StrategyOptions } from "./explore.js";
export { canonicalExplore, canonicalSearch, type CanonicalOutcome, type CanonicalSearchResult } from "./parallel/canonical.js";
export { formatStepTable } from "./table.js";
export { Symmetry, SymmetryError, MAX_GROUP_ORDER, type SymmetryGenerator, type SymmetryCheckOptions } from "./symmetry.js";
