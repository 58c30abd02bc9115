// Worker thread: runs check cells sent by the pool (pool.ts) and posts progress and results back.
import { parentPort, workerData } from "node:worker_threads";
import { runCell, type CellSpec } from "./cell.js";

const stop = new Int32Array(workerData.stop as SharedArrayBuffer);
const port = parentPort!;

port.on("message", (m: { id: number; spec: CellSpec }) => {
  const result = runCell(m.spec, {
    shouldStop: () => Atomics.load(stop, 0) !== 0,
    onProgress: (executions) => port.postMessage({ type: "progress", id: m.id, executions }),
  });
  port.postMessage({ type: "done", id: m.id, result });
});
