/**
 * `npx tsx bench/decide-read.ts`: the storefront decision's reads on PostgreSQL, in process, the
 * one-statement read (decide-read.server.ts) against the read by parts (loadFacts and the
 * visitor's own rows): statements per decision, latency one at a time, and at a fixed offered
 * rate the latency and the CPU time per decision of this process (the app) and of PostgreSQL's
 * backends. CPU time holds on a shared machine where wall-clock latency does not.
 *
 * A shop of 2,000 customers (two orders of three lines each, a checkout, products in
 * collections), 600 stored browsers (200 of them signed-in customers'), each with ten storefront
 * events (message history among them) and half with a cart; a first-purchase offer whose codes
 * 100 browsers and 50 customers hold (1,000 more in its pool), so each decision also reads the
 * codes the shopper holds, as the endpoint does when the shop has such an offer: in the one
 * statement, or by heldCodes beside the parts. Decisions asked as the storefront bench asks them:
 * 80% anonymous (half of them new browsers), 20% signed in.
 */
import { readFileSync, readdirSync } from "node:fs";
import pg from "pg";
import { startPostgres } from "../dev/postgres";
import { migrate } from "../prisma/migrate";

const RATE = Number(process.env.RATE ?? 500);
const SECONDS = Number(process.env.SECONDS ?? 10);
const CUSTOMERS = 2000;

process.env.SHOPIFY_API_KEY ??= "bench-key";
process.env.SHOPIFY_API_SECRET ??= "bench-secret";
process.env.SHOPIFY_APP_URL ??= "http://127.0.0.1:3999";
process.env.SLICE_WORKER = "0";

/**
 * CPU time of a PostgreSQL server so far, in ms (/proc, 100 ticks a second): its backends alive
 * now, plus the postmaster's own and its ended children's (cutime, cstime).
 */
function postgresCpu(postmaster: number): number {
  const stat = (pid: number | string) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const own = stat(postmaster);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync("/proc"))
    if (/^\d+$/.test(entry))
      try {
        const fields = stat(entry);
        if (Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // ended meanwhile (its time is in the postmaster's cutime now)
      }
  return ticks * 10;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function main() {
  const server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query("CREATE DATABASE slice_decide_read");
  const [{ pid: postmaster }] = (
    await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
  ).rows;
  const master = Number(readFileSync(`/proc/${postmaster}/stat`, "utf8").split(") ")[1].split(" ")[1]);
  await admin.end();
  const url = server.databaseUrl("slice_decide_read");
  await migrate(url);
  process.env.DATABASE_URL = url;
  const { createPrismaClient } = await import("../app/db.server");
  const { hotFor, closeHot } = await import("../app/db-hot.server");
  const { visitorFactsByParts } = await import("../app/storefront/decide.server");
  const { visitorFactsInOne, statementFor } = await import("../app/storefront/decide-read.server");
  const { heldCodes } = await import("../app/offers/pool.server");
  const db = createPrismaClient(url);
  try {
    const now = new Date("2031-01-15T12:00:00Z");
    const ago = (d: number) => new Date(now.getTime() - d * 86_400_000);
    const shopId = (await db.shop.create({ data: { domain: "decide-read-bench.myshopify.com" } })).id;
    await db.product.createMany({
      data: Array.from({ length: 50 }, (_, i) => ({
        shopId,
        shopifyId: `p${i}`,
        title: `Product ${i}`,
        productType: `type ${i % 5}`,
        shopifyUpdatedAt: ago(30),
      })),
    });
    await db.productCollection.createMany({
      data: Array.from({ length: 50 }, (_, i) => ({
        shopId,
        productShopifyId: `p${i}`,
        collectionShopifyId: `c${i % 7}`,
      })),
    });
    await db.customer.createMany({
      data: Array.from({ length: CUSTOMERS }, (_, i) => ({
        shopId,
        shopifyId: `cust${i}`,
        tags: i % 3 ? "" : "|vip|",
        shopifyUpdatedAt: ago(10),
        shopifyCreatedAt: ago(200 + (i % 100)),
      })),
    });
    await db.order.createMany({
      data: Array.from({ length: CUSTOMERS * 2 }, (_, i) => ({
        shopId,
        shopifyId: `o${i}`,
        customerShopifyId: `cust${i >> 1}`,
        currency: "USD",
        totalPrice: 1000 + (i % 97) * 100,
        checkoutToken: `tok${i}`,
        processedAt: ago(5 + (i % 50)),
        shopifyCreatedAt: ago(5 + (i % 50)),
        shopifyUpdatedAt: ago(5 + (i % 50)),
      })),
    });
    const orders = await db.order.findMany({ where: { shopId }, select: { id: true } });
    await db.lineItem.createMany({
      data: orders.flatMap((o, i) =>
        [0, 1, 2].map((k) => ({
          shopId,
          orderId: o.id,
          shopifyId: `l${i}-${k}`,
          productId: `p${(i * 3 + k) % 50}`,
          variantId: `v${k}`,
          vendor: "Acme",
          title: "Thing",
          quantity: 1,
          price: 500,
        })),
      ),
    });
    await db.checkout.createMany({
      data: Array.from({ length: CUSTOMERS }, (_, i) => ({
        shopId,
        shopifyId: `k${i}`,
        customerShopifyId: `cust${i}`,
        currency: "USD",
        totalPrice: 100,
        shopifyCreatedAt: ago(3),
        shopifyUpdatedAt: ago(3),
      })),
    });
    const visitorId = (i: number) => `bench-visitor-${String(i).padStart(6, "0")}`;
    const stored = 600;
    await db.visitor.createMany({
      data: Array.from({ length: stored }, (_, i) => ({
        id: visitorId(i),
        shopId,
        customerShopifyId: i < 200 ? `cust${i}` : null,
        cartToken: i % 2 ? `cart${i}` : null,
        firstSeenAt: ago(20),
        lastSeenAt: ago(1),
        sessions: 3,
        landingPage: "/",
      })),
    });
    for (let i = 1; i < stored; i += 2) {
      const cart = await db.cart.create({
        data: { shopId, token: `cart${i}`, totalPrice: 3000, itemCount: 2, shopifyUpdatedAt: ago(1) },
      });
      await db.cartLine.createMany({
        data: [0, 1].map((k) => ({
          cartId: cart.id,
          productId: `p${(i + k) % 50}`,
          title: "x",
          quantity: 1,
          price: 1500,
        })),
      });
    }
    const types = [
      "session_start",
      "page_view",
      "product_view",
      "collection_view",
      "cart_update",
      "message_shown",
    ];
    await db.storefrontEvent.createMany({
      data: Array.from({ length: stored * 10 }, (_, j) => ({
        shopId,
        visitorId: visitorId(Math.floor(j / 10)),
        type: j % 10 === 9 ? "checkout_started" : types[j % types.length],
        resourceId: j % 10 === 9 ? `tok${j % 4000}` : j % 6 === 5 ? "1" : `p${j % 50}`,
        occurredAt: ago((j % 10) + 1),
      })),
    });
    const offer = await db.message.create({
      data: {
        shopId,
        name: "Welcome",
        segmentHandle: "all",
        format: "popup",
        trigger: "load",
        headline: "Welcome",
        reward: "firstPurchase",
      },
    });
    await db.discountCode.createMany({
      data: Array.from({ length: 1150 }, (_, i) => ({
        shopId,
        messageId: offer.id,
        code: `WELCOME-${i}`,
        shopifyDiscountId: `gid://shopify/DiscountCodeNode/${i}`,
        status: i < 150 ? "issued" : "pool",
        expiresAt: ago(-7),
        issuedAt: i < 150 ? ago(1) : null,
        visitorId: i < 100 ? visitorId(200 + i * 3) : null,
        customerShopifyId: i >= 100 && i < 150 ? `cust${(i - 100) * 4}` : null,
      })),
    });
    await db.$executeRawUnsafe("ANALYZE");

    // The mix: 80% anonymous (half stored browsers, half new), 20% signed in (half on a browser of theirs).
    const asks: [string, string | null][] = Array.from({ length: RATE * SECONDS }, (_, i) => {
      const r = i % 10;
      if (r < 4) return [visitorId(200 + (i % 400)), null];
      if (r < 8) return [`bench-new-${String(i).padStart(8, "0")}`, null];
      if (r === 8) return [visitorId(i % 200), `cust${i % 200}`];
      return [`bench-new-${String(i).padStart(8, "0")}`, `cust${i % CUSTOMERS}`];
    });
    const need = { lines: true, checkouts: true, visitors: true, events: true };
    const reader = hotFor(db);
    if (process.env.PLANTEST) {
      // One connection, the statement named as the hot layer names it: backend CPU per execution,
      // and whether PostgreSQL settled on a generic plan or plans each execution anew.
      for (const mode of ["auto", "force_generic_plan"]) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query(`SET plan_cache_mode = ${mode}`);
        const [{ pid }] = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows;
        const cpu = () => {
          const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
          return (Number(f[11]) + Number(f[12])) * 10;
        };
        const texts = [false, true].map((c) => {
          let n = 0;
          return statementFor(need, c, true).replace(/\?/g, () => `$${++n}`);
        });
        const before = cpu();
        const t = performance.now();
        for (const [v, c] of asks.slice(0, 3000))
          await client.query({
            name: `d${+(c !== null)}`,
            text: texts[+(c !== null)],
            values: [shopId, v, c],
          });
        const wall = performance.now() - t;
        const plans = await client.query(
          "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements",
        );
        console.log(
          `${mode}: backend CPU ${((cpu() - before) / Math.min(3000, asks.length)).toFixed(3)} ms, wall ${(wall / Math.min(3000, asks.length)).toFixed(3)} ms per execution; ${JSON.stringify(plans.rows)}`,
        );
        await client.end();
      }
    }
    if (process.env.EXPLAIN) {
      const explainer = new pg.Client({ connectionString: url });
      explainer.on("error", () => {});
      await explainer.connect();
      for (const [v, c] of [asks[0], asks[4], asks[8], asks[9]]) {
        let n = 0;
        const sql = statementFor(need, c !== null, true).replace(/\?/g, () => `$${++n}`);
        await explainer.query(`PREPARE s AS ${sql}`).catch((e: Error) => console.log(e.message, sql));
        // A generic plan, as a named statement gets after its fifth run.
        await explainer.query("SET plan_cache_mode = force_generic_plan");
        const plan = await explainer.query(
          `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE s(${shopId}, '${v}', ${c ? `'${c}'` : "NULL"})`,
        );
        console.log(
          `--- ${v} ${c}\n${plan.rows.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n")}`,
        );
        await explainer.query("DEALLOCATE s");
      }
      await explainer.end();
    }
    let statements = 0;
    const rows = reader.rows.bind(reader);
    (reader as { rows: typeof reader.rows }).rows = (sql, params) => {
      statements++;
      return rows(sql, params);
    };
    const variants = {
      "one statement": (v: string, c: string | null) =>
        visitorFactsInOne(reader, { shopId, need }, v, c, now, { codes: true }),
      // As the endpoint read on PostgreSQL before the codes joined the statement: two round trips.
      "codes beside": (v: string, c: string | null) =>
        Promise.all([
          visitorFactsInOne(reader, { shopId, need }, v, c, now),
          heldCodes(db, shopId, { visitorId: v, customerId: c }, now),
        ]),
      "by parts": (v: string, c: string | null) =>
        Promise.all([
          visitorFactsByParts(db, { shopId, need }, v, c, now),
          heldCodes(db, shopId, { visitorId: v, customerId: c }, now),
        ]),
    };
    const out: string[] = [];
    for (let round = 0; round < 2; round++)
      for (const [name, read] of Object.entries(variants)) {
        // Warm: every connection of the pool prepares its statements.
        await Promise.all(asks.slice(0, 200).map(([v, c]) => read(v, c)));
        statements = 0;
        const alone: number[] = [];
        for (const [v, c] of asks.slice(0, 500)) {
          const t = performance.now();
          await read(v, c);
          alone.push(performance.now() - t);
        }
        const perDecision = statements / 500;
        alone.sort((a, b) => a - b);
        // Offered at RATE a second, as the storefront bench offers requests.
        // The read pool's backends (alive through the phase: the pool keeps busy connections).
        const backends = (
          await db.$queryRawUnsafe<{ pid: number }[]>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'slice-read'",
          )
        ).map((r) => Number(r.pid));
        const backendCpu = () => {
          let ticks = 0;
          for (const pid of backends)
            try {
              const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
              ticks += Number(f[11]) + Number(f[12]);
            } catch {
              // ended
            }
          return ticks * 10;
        };
        const pgBefore = postgresCpu(master);
        const backendsBefore = backendCpu();
        const appBefore = process.cpuUsage();
        const load = (await import("node:os")).loadavg()[0];
        const ms: number[] = [];
        const started = performance.now();
        await Promise.all(
          asks.map(async ([v, c], i) => {
            const due = started + (i * 1000) / RATE;
            const wait = due - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            const t = performance.now();
            await read(v, c);
            ms.push(performance.now() - t);
          }),
        );
        const elapsed = (performance.now() - started) / 1000;
        const app = process.cpuUsage(appBefore);
        const pgCpu = postgresCpu(master) - pgBefore;
        const readCpu = backendCpu() - backendsBefore;
        ms.sort((a, b) => a - b);
        const n = asks.length;
        out.push(
          `${name.padEnd(14)} round ${round + 1}: ${perDecision.toFixed(2)} statements/decision; one at a time p50 ${quantile(alone, 0.5).toFixed(2)} ms, p99 ${quantile(alone, 0.99).toFixed(2)} ms; ` +
            `at ${RATE}/s offered: held ${(n / elapsed).toFixed(0)}/s, p50 ${quantile(ms, 0.5).toFixed(2)} ms, p99 ${quantile(ms, 0.99).toFixed(2)} ms, max ${ms[n - 1].toFixed(1)} ms; ` +
            `CPU per decision: app ${((app.user + app.system) / 1000 / n).toFixed(3)} ms, PostgreSQL ${(pgCpu / n).toFixed(3)} ms (of it the read pool's ${backends.length} backends ${(readCpu / n).toFixed(3)} ms) (load average ${load.toFixed(2)} at start)`,
        );
        console.error(out[out.length - 1]);
      }
    console.log(out.join("\n"));
  } finally {
    await db.$disconnect();
    await closeHot();
    await server.stop();
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
