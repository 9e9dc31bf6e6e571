/**
 * CPU time per pixel batch, in this process (`npx tsx bench/pixel-cpu.ts [batches]`): the endpoint's
 * own code (receivePixelBody) on a temporary SQLite file, with the bench's batches (bench/pixel.ts:
 * four events, half from browsers with keys, half first contacts), 32 at once. CPU time (user +
 * system, process.cpuUsage) is disturbed far less than wall time by other work on the machine.
 * Also the parts alone: JSON.parse, JSON.parse with the validation, and a group's transaction.
 * Run with `node --cpu-prof --import tsx bench/pixel-cpu.ts` for a profile.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { migrate } from "../prisma/migrate";
import { createPrismaClient } from "../app/db.server";
import {
  parsePixelBatch,
  pixelPerClient,
  pixelPerShop,
  receivePixelBody,
} from "../app/storefront/pixel.server";
import { batchBody, SHOP } from "./pixel";

let serial = 0;
const clientId = () => `bench-${process.pid}-${(serial++).toString().padStart(12, "0")}`;

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function main() {
  // At most 3,000: the shop's limit (a burst of 2,000, then 1,000 a second) would refuse more.
  const count = Math.min(3000, Number(process.argv[2] ?? 3000));
  const dir = mkdtempSync(path.join(os.tmpdir(), "slice-pixel-cpu-"));
  const url = `file:${path.join(dir, "bench.sqlite")}`;
  await migrate(url);
  const db = createPrismaClient(url);
  try {
    await db.shop.create({ data: { domain: SHOP, backfillStatus: "done" } });
    const known: { clientId: string; key: string }[] = [];
    for (let i = 0; i < 300; i++) {
      const id = clientId();
      const answer = (await (await receivePixelBody(batchBody(id, undefined, i), db)).json()) as {
        key?: string;
      };
      if (!answer.key) throw new Error("first contact: no key");
      known.push({ clientId: id, key: answer.key });
    }
    const bodies = (n: number) =>
      Array.from({ length: n }, (_, i) => {
        const who = i % 2 === 0 ? known[(i >> 1) % known.length] : { clientId: clientId(), key: undefined };
        return batchBody(who.clientId, who.key, i);
      });

    const run = async (list: string[], together = 32) => {
      pixelPerShop.clear();
      pixelPerClient.clear();
      let next = 0;
      let failed = 0;
      const worker = async () => {
        while (next < list.length) {
          const response = await receivePixelBody(list[next++], db);
          if (response.status !== 200) failed++;
          await response.text();
        }
      };
      const start = process.cpuUsage();
      const wall = performance.now();
      await Promise.all(Array.from({ length: together }, worker));
      return { cpu: cpuMs(start) / list.length, wall: (performance.now() - wall) / list.length, failed };
    };

    await run(bodies(1000)); // warm-up
    const parts = bodies(count);
    let start = process.cpuUsage();
    for (const b of parts) JSON.parse(b);
    const parse = cpuMs(start) / count;
    start = process.cpuUsage();
    for (const b of parts)
      if (!parsePixelBatch(JSON.parse(b), new Date()).success) throw new Error("invalid");
    const validate = cpuMs(start) / count - parse;
    const whole = await run(bodies(count));
    const alone = await run(bodies(1000), 1);
    // Open loop: one batch every 2 ms (2,000 events/s), each one's time to its answer.
    pixelPerShop.clear();
    pixelPerClient.clear();
    const offered = bodies(Math.min(count, 4000));
    const times: number[] = [];
    const openStart = process.cpuUsage();
    await new Promise<void>((resolve) => {
      let sent = 0;
      const started = performance.now();
      const tick = () => {
        const due = Math.min(offered.length, Math.floor((performance.now() - started) / 2) + 1);
        for (; sent < due; sent++) {
          const at = started + sent * 2;
          void receivePixelBody(offered[sent], db).then(async (r) => {
            await r.text();
            times.push(performance.now() - at);
            if (times.length === offered.length) resolve();
          });
        }
        if (sent < offered.length) setTimeout(tick, 1);
      };
      tick();
    });
    const openCpu = cpuMs(openStart) / offered.length;
    times.sort((a, b) => a - b);
    const pct = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
    console.log(
      [
        `open loop in-process, 500 batches/s: p50 ${pct(0.5)} ms, p90 ${pct(0.9)} ms, p99 ${pct(0.99)} ms, max ${pct(1)} ms; CPU ${openCpu.toFixed(3)} ms per batch`,
        `batches: ${count} (4 events, half known browsers, 32 at once), failed: ${whole.failed}`,
        `CPU per batch, whole endpoint: ${whole.cpu.toFixed(3)} ms (wall ${whole.wall.toFixed(3)} ms per batch)`,
        `CPU per batch, one at a time (a transaction each): ${alone.cpu.toFixed(3)} ms (wall ${alone.wall.toFixed(3)} ms)`,
        `  of which JSON.parse: ${parse.toFixed(3)} ms, validation: ${validate.toFixed(3)} ms`,
        `events per CPU second: ${Math.round((4 * 1000) / whole.cpu)}`,
        `load average: ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}`,
      ].join("\n"),
    );
  } finally {
    await db.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
