/**
 * The command line with hostile arguments: each is refused with a message naming the argument
 * (a usage error or "no such …"), never a stack trace or a query built from it; and the privacy
 * commands list, show and make data-request exports for the shop named by --shop.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { main, UsageError } from "../cli";
import { CliError } from "../segments/cli.server";
import { ensurePresets } from "../segments/store.server";
import { INJECTIONS } from "./hostile";

const SHOP = "cli-fuzz.myshopify.com";
let shopId = 0;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await ensurePresets(prisma, shopId);
  await prisma.customer.create({
    data: { shopId, shopifyId: "5150", email: "cli@example.com", shopifyUpdatedAt: new Date() },
  });
});
afterAll(() => prisma.$disconnect());

async function run(args: string[]): Promise<{ code: number | null; lines: string[]; error: Error | null }> {
  const lines: string[] = [];
  try {
    return { code: await main(args, (line) => void lines.push(line)), lines, error: null };
  } catch (error) {
    return { code: null, lines, error: error as Error };
  }
}

describe("the CLI with hostile arguments", () => {
  it("refuses each with a usage error or 'no such' naming the argument", async () => {
    const cases: [string[], RegExp][] = [
      [["privacy", "list", "--shop", INJECTIONS[0]], /^no shop/],
      [
        ["privacy", "export", "--shop", SHOP, "--customer", INJECTIONS[0]],
        /^--customer must be a Shopify customer id/,
      ],
      [["privacy", "export", "--shop", SHOP], /needs --customer <id> or --email/],
      [["privacy", "show", "abc", "--shop", SHOP], /^the export's id must be a number/],
      [["privacy", "show", "99999", "--shop", SHOP], /^no data export #99999/],
      [["privacy", "list"], /needs --shop/],
      [["segments", "show", INJECTIONS[0], "--shop", SHOP], /segment/],
      [
        ["segments", "export", "first-time-visitors", "--shop", SHOP, "--format", "<script>"],
        /^--format must be csv or json/,
      ],
      [
        ["segments", "show", "first-time-visitors", "--shop", SHOP, "--now", INJECTIONS[3]],
        /^--now must be an ISO time/,
      ],
      [["messages", "pause", "1e999", "--shop", SHOP], /message/],
      [["messages", "explain", "--shop", SHOP, "--page", INJECTIONS[6]], /^--page must be one of/],
      [["store", "generate", "--customers", "-5"], /--customers/],
      [["store", "generate", "--customers", "lots"], /^--customers must be a number/],
      [["segments", "list", "--shop", SHOP, "--drop", "tables"], /Unknown option '--drop'/],
      [[INJECTIONS[0]], /^unknown command/],
      [[], /^no command given/],
    ];
    for (const [args, named] of cases) {
      const result = await run(args);
      expect(result.error, args.join(" ")).not.toBeNull();
      const usage =
        result.error instanceof UsageError ||
        result.error instanceof CliError ||
        (result.error as Error & { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
      expect(usage, `${args.join(" ")}: ${result.error}`).toBe(true);
      expect(result.error!.message, args.join(" ")).toMatch(named);
    }
    expect(await prisma.customer.count({ where: { shopId } })).toBe(1);
  });

  it("privacy export, list and show: an export made now for a customer, listed and printed for this shop", async () => {
    const made = await run(["privacy", "export", "--shop", SHOP, "--customer", "5150"]);
    expect(made.error).toBeNull();
    expect(made.lines[0]).toMatch(/^export #\d+: 1 customers, 0 orders/);
    const id = /#(\d+)/.exec(made.lines[0])![1];
    const listed = await run(["privacy", "list", "--shop", SHOP]);
    expect(listed.lines.join("\n")).toMatch(new RegExp(`^\\s*${id}  .*customer 5150`, "m"));
    const shown = await run(["privacy", "show", id, "--shop", SHOP]);
    const data = JSON.parse(shown.lines.join("\n")) as { customers: { email: string }[] };
    expect(data.customers.map((c) => c.email)).toEqual(["cli@example.com"]);
  });
});
