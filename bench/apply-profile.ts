/**
 * Where the inbox worker's CPU goes per applied event, on the flash sale of bench/flash-sale.ts
 * (PostgreSQL, the 100,000-customer store): the worker drains N deliveries as the runtime wires it
 * (after-apply pipeline on), while this process's CPU is split by step (process.cpuUsage around
 * each step) and sampled by the V8 profiler (self time by source file and by function).
 *
 *   npx tsx bench/apply-profile.ts serve [customers=100000]   # a PostgreSQL with the shop, kept running
 *   npx tsx bench/apply-profile.ts run [events=20000] [memberships=1]
 *
 * `serve` copies the shop once (about a minute) and writes bench/.data/apply-profile.json; each
 * `run` copies that database (a template) and drains into the copy. Latency on a shared machine
 * means little here: read the CPU per event.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import pg from "pg";
import { createPrismaClient, refreshPlannerStatistics } from "../app/db.server";
import { closeHot } from "../app/db-hot.server";
import { ensurePresets, recompute } from "../app/segments/store.server";
import { AFTER_APPLY_STEPS } from "../app/sync/after-apply.server";
import { insertDeliveries } from "../app/sync/intake.server";
import { deliveriesOf } from "../dev/testing/compare";
import { startPostgres } from "../dev/postgres";
import { migrate } from "../prisma/migrate";
import { bigStore, BIG_SHOP } from "./generate-store";
import { addCustomSegments, type PickedCustomer } from "./segments";
import { copyStore } from "./segments-pg";
import { flashSaleHistory } from "./flash-sale-history";
import { runtimeWorker } from "./runtime-worker";

const STATE = "bench/.data/apply-profile.json";
const log = (line: string) => console.error(`[apply-profile] ${line}`);

interface State {
  url: string;
  shopId: number;
  now: string;
  buyers: PickedCustomer[];
}

async function serve(customers: number) {
  const store = await bigStore({ customers, log });
  const server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE flash_base`);
  const url = server.databaseUrl("flash_base");
  await migrate(url);
  const loader = new pg.Client({ connectionString: url });
  await loader.connect();
  await copyStore(store.file, loader);
  const picked = await loader.query(
    `SELECT "shopifyId", "email", "firstName", "lastName", "state", "tags", "countryCode", "provinceCode", "city",
       "acceptsEmailMarketing"::int AS "acceptsEmailMarketing",
       (extract(epoch FROM "shopifyCreatedAt") * 1000)::float8 AS "shopifyCreatedAt"
     FROM "Customer" WHERE "shopId" = $1 AND "deletedAt" IS NULL ORDER BY ("id"::bigint * 7919) % 1000003 LIMIT $2`,
    [store.shopId, Math.min(40_000, customers / 5)],
  );
  await loader.end();
  const db = createPrismaClient(url);
  await refreshPlannerStatistics(db);
  await ensurePresets(db, store.shopId);
  await addCustomSegments(db, store.shopId);
  await recompute(db, store.shopId, store.now);
  await db.$disconnect();
  await closeHot();
  const buyers = picked.rows.map((b: Record<string, unknown>) => ({
    shopifyId: String(b.shopifyId),
    email: (b.email as string | null) ?? null,
    firstName: (b.firstName as string | null) ?? null,
    lastName: (b.lastName as string | null) ?? null,
    state: (b.state as string | null) ?? null,
    tags: String(b.tags ?? ""),
    countryCode: (b.countryCode as string | null) ?? null,
    provinceCode: (b.provinceCode as string | null) ?? null,
    city: (b.city as string | null) ?? null,
    acceptsEmailMarketing: Number(b.acceptsEmailMarketing ?? 0),
    shopifyCreatedAt: Number(b.shopifyCreatedAt ?? 0),
  }));
  const state: State = { url: server.url, shopId: store.shopId, now: store.now.toISOString(), buyers };
  writeFileSync(STATE, JSON.stringify(state));
  log(`serving ${server.url} (database flash_base); state in ${STATE}`);
  await new Promise(() => {});
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

function summarise(
  profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] },
  events: number,
) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id)!;
    const file = callFrame.url
      .replace(/^file:\/\//, "")
      .replace(/.*\/node_modules\//, "node_modules/")
      .replace(/.*\/pgapply16\//, "")
      .replace(/^node_modules\/(@[^/]+\/[^/]+|[^/]+)\/.*/, "node_modules/$1");
    const name = callFrame.functionName || "(anonymous)";
    if (name === "(idle)" || name === "(program)" || name === "(garbage collector)") {
      byFile.set(name, (byFile.get(name) ?? 0) + us);
      if (name !== "(idle)") total += us;
      continue;
    }
    total += us;
    byFile.set(file || "(native)", (byFile.get(file || "(native)") ?? 0) + us);
    const key = `${name} ${file}:${callFrame.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const per = (us: number) => `${(us / 1000 / events).toFixed(4)} ms/event`;
  console.log(`sampled (not idle): ${per(total)}`);
  console.log("by file (self):");
  for (const [file, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 30))
    console.log(`  ${per(us)}  ${((100 * us) / total).toFixed(1)}%  ${file}`);
  console.log("by function (self):");
  for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 40))
    console.log(`  ${per(us)}  ${((100 * us) / total).toFixed(1)}%  ${fn}`);
}

async function run(events: number, memberships: boolean, profileOut?: string) {
  const state = JSON.parse(readFileSync(STATE, "utf8")) as State;
  const now = new Date(state.now);
  const name = `profile_${process.pid}`;
  const admin = new pg.Client({ connectionString: state.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE flash_base`);
  const url = state.url.replace(/\/postgres$/, `/${name}`);
  const db = createPrismaClient(url);
  try {
    const sale = flashSaleHistory({ events, customers: state.buyers, shop: BIG_SHOP, now, seed: 1 });
    const deliveries = deliveriesOf(sale.lines);
    for (let i = 0; i < deliveries.length; i += 250) await insertDeliveries(db, deliveries.slice(i, i + 250));
    // CPU per step of the after-apply pipeline, and of the whole hook.
    const stepCpu = new Map<string, number>();
    const steps = AFTER_APPLY_STEPS as unknown as {
      name: string;
      run: (...args: never[]) => Promise<void>;
    }[];
    for (const step of steps) {
      const inner = step.run;
      step.run = async (...args: never[]) => {
        const before = process.cpuUsage();
        try {
          await inner(...args);
        } finally {
          const used = process.cpuUsage(before);
          stepCpu.set(step.name, (stepCpu.get(step.name) ?? 0) + used.user + used.system);
        }
      };
    }
    let afterCpu = 0;
    const worker = runtimeWorker(db, {
      now,
      memberships,
      around: async (pipeline) => {
        const before = process.cpuUsage();
        await pipeline();
        const used = process.cpuUsage(before);
        afterCpu += used.user + used.system;
      },
    });
    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
    await session.post("Profiler.start");
    const cpu = process.cpuUsage();
    const started = performance.now();
    const applied = await worker.drain();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const { profile } = (await session.post("Profiler.stop")) as unknown as {
      profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
    };
    session.disconnect();
    if (profileOut) writeFileSync(profileOut, JSON.stringify(profile));
    const total = used.user + used.system;
    const ms = (us: number) => (us / 1000 / applied).toFixed(4);
    console.log(
      `${applied} events in ${seconds.toFixed(1)} s (${(applied / seconds).toFixed(0)}/s; shared machine), load ${(
        await import("node:os")
      )
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
    console.log(
      `CPU ms per event: total ${ms(total)}; apply (claim, applyBatch, marks) ${ms(total - afterCpu)}; afterApplied ${ms(afterCpu)}`,
    );
    for (const [step, us] of stepCpu) console.log(`  step ${step}: ${ms(us)}`);
    summarise(profile, applied);
    const notDone = await db.webhookEvent.count({ where: { status: { not: "done" } } });
    if (notDone) console.log(`NOT DONE: ${notDone}`);
  } finally {
    await db.$disconnect();
    await closeHot();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === "serve") await serve(Number(a ?? 100_000));
else await run(Number(a ?? 20_000), b !== "0", c);
