/**
 * `npm run slice -- messages …` on the app's database: list the shop's messages, pause and resume
 * them (the same kill switch as the admin), and explain which message a visitor would see and why.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { main, UsageError } from "../cli";
import { ensurePresets } from "../segments/store.server";
import { ensureStarterMessages, listMessages } from "./store.server";

const SHOP = "messages-cli.myshopify.com";
const ids: Record<string, number> = {};

beforeAll(async () => {
  const shop = await prisma.shop.create({ data: { domain: SHOP } });
  await ensurePresets(prisma, shop.id);
  await ensureStarterMessages(prisma, shop.id);
  for (const m of await listMessages(prisma, shop.id)) ids[m.input.segment] = m.id;
});
afterAll(() => prisma.$disconnect());

async function run(...argv: string[]) {
  const lines: string[] = [];
  const code = await main(argv, (line) => lines.push(line));
  return { code, lines };
}

describe("npm run slice -- messages", () => {
  it("lists the starter messages, paused, with their segment, format, trigger and what each gives", async () => {
    const { code, lines } = await run("messages", "list", "--shop", SHOP);
    expect(code).toBe(0);
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.includes("paused"))).toBe(true);
    expect(lines.find((l) => l.includes("Cart reminder on exit"))).toMatch(
      /p10\s+Cart reminder on exit {2}→ Cart abandoners {2}· Popup, exit intent/,
    );
    // What each gives, the referral's two rewards apart: the friend's, then the referrer's.
    expect(lines.find((l) => l.includes("Referral invite"))).toMatch(/· Referral: give 15%, get 15%$/);
    expect(lines.find((l) => l.includes("Welcome"))).toMatch(/· 10% first purchase$/);
  });

  it("explains a first-time visitor's decision, before and after the welcome is switched on", async () => {
    const welcome = ids["first-time-visitors"];
    expect(
      (await run("messages", "explain", "--shop", SHOP, "--visitor", "cli-visitor-000000001")).lines,
    ).toEqual(["shows no message"]);
    expect((await run("messages", "resume", String(welcome), "--shop", SHOP)).lines).toEqual([
      `message ${welcome} is active`,
    ]);
    // Its discount codes are not made yet: not offered, and the explanation says why.
    expect(
      (await run("messages", "explain", "--shop", SHOP, "--visitor", "cli-visitor-000000001")).lines,
    ).toContain(`  not ${welcome} "Welcome! Here's 10% off your first order": no codes left`);
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    await prisma.discountCode.create({
      data: {
        shopId: shop.id,
        messageId: welcome,
        code: "WELCOME-READY",
        shopifyDiscountId: "gid://shopify/DiscountCodeNode/1",
        status: "pool",
        expiresAt: new Date(Date.now() + 30 * 86_400_000),
      },
    });
    const { lines } = await run("messages", "explain", "--shop", SHOP, "--visitor", "cli-visitor-000000001");
    expect(lines).toEqual([
      `shows message ${welcome}: "Welcome! Here's 10% off your first order"`,
      "  ✓ Sessions is 1 (is 1)",
      "  ✓ Number of orders is 0 (is 0)",
    ]);
    await run("messages", "resume", String(ids["cart-abandoners"]), "--shop", SHOP);
    const both = await run("messages", "explain", "--shop", SHOP, "--page", "cart", "--path", "/cart");
    expect(both.lines).toContain(`  not ${ids["cart-abandoners"]} "Your cart is waiting": not in segment`);
    await run("messages", "pause", String(welcome), "--shop", SHOP);
    expect((await run("messages", "explain", "--shop", SHOP)).lines[0]).toBe("shows no message");
  });

  it("explains the rules across messages: the session's popup, the cool-down, a code already held", async () => {
    const shop = await prisma.shop.findUniqueOrThrow({ where: { domain: SHOP } });
    const welcome = ids["first-time-visitors"];
    const cart = ids["cart-abandoners"];
    await run("messages", "resume", String(welcome), "--shop", SHOP);
    const explain = (...more: string[]) =>
      run("messages", "explain", "--shop", SHOP, "--visitor", "cli-visitor-000000002", ...more);
    expect((await explain("--shown", String(cart))).lines).toEqual([
      "shows no message",
      `  not ${welcome} "Welcome! Here's 10% off your first order": popup this session (a popup was already shown in this session)`,
      `  not ${cart} "Your cart is waiting": shown this session`,
    ]);
    expect((await explain("--dismissed", String(cart))).lines).toContain(
      `  not ${welcome} "Welcome! Here's 10% off your first order": cool-down (a message was dismissed within the shop's cool-down, or this session)`,
    );
    // The visitor holds a first-purchase code of another offer: no code from this one.
    const other = await prisma.message.create({
      data: {
        ...(await prisma.message.findUniqueOrThrow({ where: { id: welcome } })),
        id: undefined,
        active: false,
      },
    });
    await prisma.discountCode.create({
      data: {
        shopId: shop.id,
        messageId: other.id,
        code: "WELCOME-HELD",
        shopifyDiscountId: "gid://shopify/DiscountCodeNode/2",
        status: "issued",
        visitorId: "cli-visitor-000000002",
        expiresAt: new Date(Date.now() + 30 * 86_400_000),
      },
    });
    expect((await explain()).lines).toContain(
      `  not ${welcome} "Welcome! Here's 10% off your first order": code already held (one code per kind of offer: first-purchase, referral)`,
    );
    await run("messages", "pause", String(welcome), "--shop", SHOP);
    await run("messages", "pause", String(cart), "--shop", SHOP);
    await expect(explain("--shown", "1,x")).rejects.toThrow(
      '--shown must be message ids separated by commas (got "1,x")',
    );
  });

  it("refuses a bad page type, id or shop with the reason", async () => {
    await expect(run("messages", "explain", "--shop", SHOP, "--page", "checkout")).rejects.toThrow(
      new UsageError(
        '--page must be one of index, product, collection, cart, search, page, blog, article, other (got "checkout")',
      ),
    );
    await expect(run("messages", "pause", "first", "--shop", SHOP)).rejects.toThrow(
      'the message id must be a number (got "first")',
    );
    await expect(run("messages", "list", "--shop", "nope.myshopify.com")).rejects.toThrow(
      "no shop nope.myshopify.com in this database",
    );
    await expect(run("messages", "list")).rejects.toThrow("messages list needs --shop");
  });
});
