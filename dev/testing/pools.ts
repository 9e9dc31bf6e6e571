/**
 * For browser tests on the demo: wait until the demo's discount offers have codes ready (the
 * pool loop makes them in the Admin API stand-in a few seconds after the demo starts), so an
 * offer is not left out as "no codes left" by the time the test looks.
 */
import type { PrismaClient } from "@prisma/client";

export async function waitForCodePools(
  db: PrismaClient,
  {
    offers = 2,
    codes = 10,
    timeoutMs = 90_000,
  }: { offers?: number; codes?: number; timeoutMs?: number } = {},
): Promise<void> {
  const ready = async () =>
    (
      await db.discountCode.groupBy({ by: ["messageId"], where: { status: "pool" }, _count: { _all: true } })
    ).filter((g) => g._count._all >= codes).length;
  for (let waited = 0; (await ready()) < offers; waited += 500) {
    if (waited > timeoutMs)
      throw new Error(`the demo's discount code pools were not filled within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
