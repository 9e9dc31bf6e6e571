/**
 * One inbox worker in a process of its own, for tests and benchmarks that run several against one
 * PostgreSQL database: `tsx dev/testing/inbox-worker.ts` with DATABASE_URL and SLICE_EXPECT_DONE
 * (stop once that many events are done or dead). Prints `ready` once connected, then
 * `done <id> <outcome>` for each event whose "done" mark it committed, and `finished <n>` last.
 */
import { createPrismaClient } from "../../app/db.server";
import { InboxWorker } from "../../app/sync/worker.server";

const url = process.env.DATABASE_URL;
const expected = Number(process.env.SLICE_EXPECT_DONE ?? "0");
if (!url || !expected) throw new Error("DATABASE_URL and SLICE_EXPECT_DONE are required");
const quiet = process.env.SLICE_QUIET === "1";

const db = createPrismaClient(url);
await db.$queryRawUnsafe("SELECT 1");
const lines: string[] = [];
const flush = () => {
  if (lines.length) process.stdout.write(lines.splice(0).join(""));
};
const worker = new InboxWorker(db, {
  batchSize: Number(process.env.SLICE_BATCH ?? "20"),
  onDone: (event, outcome) => {
    if (!quiet) lines.push(`done ${event.id} ${outcome}\n`);
  },
});
console.log("ready");

const finished = async () =>
  (await db.webhookEvent.count({ where: { status: { in: ["done", "dead"] } } })) >= expected;
let applied = 0;
for (;;) {
  const n = await worker.drain();
  applied += n;
  flush();
  // Nothing due here: everything is done, or a retry's backoff has not run out, or the others hold it.
  if (n === 0) {
    if (await finished()) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
flush();
console.log(`finished ${applied}`);
await db.$disconnect();
