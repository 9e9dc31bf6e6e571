/**
 * The server's background thread in fit-thread.server.test.ts: its connection takes write turns
 * (every BEGIN IMMEDIATE, `after` the HTTP thread, set up before the app's modules load, as
 * server.ts does), and it runs the fit on a thread of its own from there, as the prediction loop
 * does in the server.
 */
import { parentPort, workerData } from "node:worker_threads";
import "./fit-thread.test-turns";
import prisma from "../db.server";
import { fitShop } from "./fit.server";

const { shopId, now } = workerData as { shopId: number; now: string };
fitShop(prisma, shopId, new Date(now), { offThread: true, writeHoldMs: 0.05 })
  .then(
    (result) =>
      parentPort!.postMessage({
        status: result.fit.status,
        message: result.fit.message,
        predictions: result.predictions,
        chunks: result.writes?.chunks ?? 0,
      }),
    (error: Error) => parentPort!.postMessage({ error: error.message }),
  )
  .finally(() => prisma.$disconnect());
