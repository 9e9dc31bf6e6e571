/** Imported first by fit-thread.test-thread.ts: the background thread's write turns, as server.ts sets them. */
import { workerData } from "node:worker_threads";

globalThis.sliceWriteTurns = { role: "after", state: (workerData as { state: Int32Array }).state };
