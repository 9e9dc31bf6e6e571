/**
 * A shop whose customers buy as the BG/NBD model says (Fader, Hardie and Lee 2005): each customer
 * buys at a rate λ ~ Gamma(r, α) per day while active, and after each repeat purchase drops out for
 * good with probability p ~ Beta(a, b); spend per order varies around a customer's own mean. Written
 * as Customer and Order rows, so the per-shop fit (app/predict/) reads it as it reads a real shop.
 * Drawn here, independently of app/engine/predict/simulate.ts, so the two check each other.
 */
import type { PrismaClient } from "@prisma/client";
import { mulberry32 } from "../webhooks";
import type { BgNbdParams } from "../../app/engine/predict/types";

const DAY = 86_400_000;

export interface DrawnOrder {
  customer: number;
  at: Date;
  totalPrice: number;
}

function gammaDraw(random: () => number, shape: number, scale: number): number {
  // Marsaglia and Tsang; a shape below 1 is boosted and scaled back.
  if (shape < 1) return gammaDraw(random, shape + 1, scale) * Math.pow(random(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v * scale;
  }
}

/** Customers' orders over `days` days before `now` (first purchases spread evenly over the first `acquisitionDays`). */
export function drawOrders(options: {
  customers: number;
  params: BgNbdParams;
  now: Date;
  days: number;
  acquisitionDays?: number;
  seed: number;
}): DrawnOrder[] {
  const random = mulberry32(options.seed);
  const { r, alpha, a, b } = options.params;
  const end = options.now.getTime();
  const start = end - options.days * DAY;
  const orders: DrawnOrder[] = [];
  for (let c = 0; c < options.customers; c++) {
    const lambda = gammaDraw(random, r, 1 / alpha);
    const ga = gammaDraw(random, a, 1);
    const p = ga / (ga + gammaDraw(random, b, 1));
    const meanSpend = 2000 + Math.floor(random() * 8000);
    let t = start + random() * (options.acquisitionDays ?? options.days) * DAY;
    const spend = () => Math.max(100, Math.round(meanSpend * (0.5 + random())));
    orders.push({ customer: c, at: new Date(Math.floor(t)), totalPrice: spend() });
    // Active from the first purchase; may drop out after each repeat purchase (the model's x = 0
    // customers are all still active).
    for (;;) {
      t += (-Math.log(1 - random()) / lambda) * DAY;
      if (t > end) break;
      orders.push({ customer: c, at: new Date(Math.floor(t)), totalPrice: spend() });
      if (random() < p) break;
    }
  }
  return orders;
}

export const customerGid = (n: number) => String(7_100_000_000_000 + n);

/** Writes the customers (0 … customers − 1) and their orders into the shop. */
export async function writeDrawnShop(
  db: PrismaClient,
  shopId: number,
  customers: number,
  orders: DrawnOrder[],
): Promise<void> {
  const updated = new Date("2026-01-01T00:00:00Z");
  for (let i = 0; i < customers; i += 500)
    await db.customer.createMany({
      data: Array.from({ length: Math.min(500, customers - i) }, (_, k) => ({
        shopId,
        shopifyId: customerGid(i + k),
        shopifyUpdatedAt: updated,
      })),
    });
  for (let i = 0; i < orders.length; i += 500)
    await db.order.createMany({
      data: orders.slice(i, i + 500).map((o, k) => ({
        shopId,
        shopifyId: String(5_900_000_000_000 + i + k),
        customerShopifyId: customerGid(o.customer),
        currency: "USD",
        totalPrice: o.totalPrice,
        processedAt: o.at,
        shopifyCreatedAt: o.at,
        shopifyUpdatedAt: o.at,
      })),
    });
}
