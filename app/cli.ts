/**
 * Slice's command line: `npm run slice -- <command>`.
 *
 *   webhooks replay <file.jsonl> --url <app>/webhooks [--secret S] [--duplicates 0.1] [--reorder 0.1]
 *                   [--delay MS] [--concurrency N] [--seed N]
 *   store generate [--customers N] [--seed N] [--shop DOMAIN] [--out FILE.jsonl]
 *   segments list|show|export <handle> --shop DOMAIN [--now ISO | --as-of ISO] [--format csv|json]
 *   segments create <file.json> --shop DOMAIN
 *   segments update <handle> <file.json> --shop DOMAIN
 *   segments delete <handle> --shop DOMAIN
 *   segments push <handle> --shop DOMAIN [--tag on|off] [--metafield on|off]
 *   segments explain <handle> <email|name|gid|id> --shop DOMAIN [--now ISO | --as-of ISO]
 *   messages list --shop DOMAIN
 *   messages pause|resume <id> --shop DOMAIN
 *   messages explain --shop DOMAIN [--visitor ID] [--customer ID] [--page TYPE] [--path /P] [--now ISO]
 *                    [--shown IDS] [--dismissed IDS]
 *   privacy list|show <id>|export --shop DOMAIN [--customer ID] [--email ADDRESS]
 *   predict fit|show --shop DOMAIN [--now ISO]
 *
 * The segments commands read the app's database (DATABASE_URL) and compute members with the same
 * compiler the app uses, at `--now` (default: the current time), or as of `--as-of` (a snapshot:
 * nothing recorded after it counts; app/engine/as-of.ts).
 */
import { parseArgs } from "node:util";

const USAGE = `usage:
  npm run slice -- webhooks replay <file.jsonl> --url <app>/webhooks [--secret S] [--duplicates 0.1]
                   [--reorder 0.1] [--delay MS] [--concurrency N] [--seed N]
  npm run slice -- store generate [--customers N] [--seed N] [--shop DOMAIN] [--out FILE.jsonl]
  npm run slice -- segments list --shop DOMAIN [--now ISO-TIME | --as-of ISO-TIME]
  npm run slice -- segments create <file.json> --shop DOMAIN
  npm run slice -- segments update <handle> <file.json> --shop DOMAIN
  npm run slice -- segments delete <handle> --shop DOMAIN
  npm run slice -- segments show <handle> --shop DOMAIN [--now ISO-TIME | --as-of ISO-TIME]
  npm run slice -- segments export <handle> --shop DOMAIN [--now ISO-TIME | --as-of ISO-TIME]
                   [--format csv|json]
  npm run slice -- segments push <handle> --shop DOMAIN [--tag on|off] [--metafield on|off]
  npm run slice -- segments explain <handle> <email|name|gid|id> --shop DOMAIN
                   [--now ISO-TIME | --as-of ISO-TIME]
  npm run slice -- messages list --shop DOMAIN
  npm run slice -- messages pause|resume <id> --shop DOMAIN
  npm run slice -- messages explain --shop DOMAIN [--visitor ID] [--customer ID] [--page TYPE]
                   [--path /PATH] [--now ISO-TIME] [--shown 1,2] [--dismissed 1]
  npm run slice -- privacy list --shop DOMAIN
  npm run slice -- privacy show <export id> --shop DOMAIN
  npm run slice -- privacy export --shop DOMAIN (--customer ID | --email ADDRESS)
  npm run slice -- predict fit --shop DOMAIN [--now ISO-TIME]
  npm run slice -- predict show --shop DOMAIN

--now: the rule's clock at that time ("in the last 30 days" counts back from it); orders, visits
  and changes recorded after it still count.
--as-of: a snapshot at that time: orders processed, cancelled or refunded after it, checkouts
  completed after it, storefront events after it, carts changed after it and customers created
  after it do not count, so "in the last 30 days" ends at it. Tags, country, consent and order
  status are as they are now (the app keeps no history of them); predicted fields are refused.
predict fit: fits the shop's BG/NBD and Gamma-Gamma models on its orders to --now (default: the
  current time), checks them on the last 90 days (fitted on the history before), and writes every
  customer's predictions; the app does this daily and after a history import. predict show: the
  latest fit, its holdout check and value tiers.
segment file (create / update): JSON {"name", "handle", "description", "minSize", "maxSize",
  "rule": {"version": 1, "match": ...}}, checked by the same validator as the admin's builder;
  update takes only the keys it changes, or a bare rule {"version": 1, "match": ...}.`;

export class UsageError extends Error {}

/** `--now` (the clock only) or `--as-of` (a snapshot), never both; the current time by default. */
function momentOf(values: { now?: string; "as-of"?: string }): { now: Date; asOf: boolean } {
  if (values.now !== undefined && values["as-of"] !== undefined)
    throw new UsageError("give --now (the rule's clock) or --as-of (a snapshot), not both");
  const given = values["as-of"] ?? values.now;
  const now = given !== undefined ? new Date(given) : new Date();
  if (Number.isNaN(now.getTime()))
    throw new UsageError(
      `--${values["as-of"] !== undefined ? "as-of" : "now"} must be an ISO time (got "${given}")`,
    );
  return { now, asOf: values["as-of"] !== undefined };
}

function number(value: string | undefined, name: string, fallback: number, max = Infinity): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > max)
    throw new UsageError(`--${name} must be a number between 0 and ${max} (got "${value}")`);
  return n;
}

/**
 * One line to stdout; when the pipe is full, a promise that resolves once it drains, so a command
 * that awaits it (segments export) writes no faster than the reader takes, in bounded memory.
 */
export function writeLine(line: string): void | Promise<void> {
  if (process.stdout.write(`${line}\n`)) return;
  return new Promise((resolve) => process.stdout.once("drain", () => resolve()));
}

export async function main(argv: string[], out: (line: string) => unknown = writeLine): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group === "help" || group === "--help" || group === "-h") {
    out(USAGE);
    return 0;
  }
  if (group === "webhooks" && command === "replay") {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        url: { type: "string" },
        secret: { type: "string" },
        duplicates: { type: "string" },
        reorder: { type: "string" },
        delay: { type: "string" },
        concurrency: { type: "string" },
        seed: { type: "string" },
      },
    });
    const file = positionals[0];
    if (!file) throw new UsageError("webhooks replay needs a JSONL file");
    if (!values.url)
      throw new UsageError("webhooks replay needs --url (e.g. http://127.0.0.1:3000/webhooks)");
    const secret = values.secret ?? process.env.SHOPIFY_API_SECRET;
    if (!secret) throw new UsageError("webhooks replay needs --secret or SHOPIFY_API_SECRET to sign with");
    const { readJsonl, replayLines } = await import("../dev/webhooks");
    const lines = await readJsonl(file);
    const result = await replayLines(lines, {
      url: values.url,
      secret,
      duplicates: number(values.duplicates, "duplicates", 0, 1),
      reorder: number(values.reorder, "reorder", 0, 1),
      delayMs: number(values.delay, "delay", 0),
      concurrency: number(values.concurrency, "concurrency", 4, 256),
      seed: number(values.seed, "seed", 1),
    });
    out(
      `sent ${result.sent} deliveries of ${lines.length} webhooks: ${result.accepted} accepted, ${result.rejected.length} rejected`,
    );
    for (const r of result.rejected.slice(0, 10)) out(`  ${r.topic}: HTTP ${r.status} ${r.body}`);
    return result.rejected.length ? 1 : 0;
  }
  if (group === "store" && command === "generate") {
    const { values } = parseArgs({
      args: rest,
      options: {
        customers: { type: "string" },
        seed: { type: "string" },
        shop: { type: "string" },
        out: { type: "string" },
      },
    });
    const { generateStore } = await import("../dev/store");
    const store = generateStore({
      customers: number(values.customers, "customers", 500, 1_000_000),
      seed: number(values.seed, "seed", 42),
      shop: values.shop,
    });
    const { createWriteStream } = await import("node:fs");
    const target = values.out ? createWriteStream(values.out) : process.stdout;
    for (const e of store.events)
      target.write(
        `${JSON.stringify({ topic: e.topic, shop: e.shop, payload: e.payload, eventId: e.eventId, triggeredAt: e.triggeredAt })}\n`,
      );
    if (values.out) {
      await new Promise<void>((resolve) => (target as NodeJS.WritableStream).end(() => resolve()));
      out(
        `wrote ${store.events.length} webhooks (${store.customers.length} customers, ${store.orders.length} orders) to ${values.out}`,
      );
    }
    return 0;
  }
  if (group === "segments" && command === "explain") {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { shop: { type: "string" }, now: { type: "string" }, "as-of": { type: "string" } },
    });
    if (!values.shop) throw new UsageError("segments explain needs --shop <name>.myshopify.com");
    const { now, asOf } = momentOf(values);
    const { explainCommand } = await import("./segments/explain-cli.server");
    const [handle, ...customer] = positionals;
    return explainCommand({ shop: values.shop, handle, customer: customer.join(" "), now, asOf }, out);
  }
  if (
    group === "segments" &&
    ["list", "show", "export", "push", "create", "update", "delete"].includes(command ?? "")
  ) {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        shop: { type: "string" },
        now: { type: "string" },
        "as-of": { type: "string" },
        format: { type: "string" },
        tag: { type: "string" },
        metafield: { type: "string" },
      },
    });
    const onOff = (value: string | undefined, name: string) => {
      if (value === undefined) return undefined;
      if (value !== "on" && value !== "off")
        throw new UsageError(`--${name} must be on or off (got "${value}")`);
      return value === "on";
    };
    if (!values.shop) throw new UsageError(`segments ${command} needs --shop <name>.myshopify.com`);
    const { now, asOf } = momentOf(values);
    if (asOf && !["list", "show", "export"].includes(command ?? ""))
      throw new UsageError(`--as-of is for segments list, show, export and explain, not ${command}`);
    const format = values.format ?? "csv";
    if (format !== "csv" && format !== "json")
      throw new UsageError(`--format must be csv or json (got "${format}")`);
    // create <file>; update <handle> <file>: the file is read here, its problems named by path.
    const filePath =
      command === "create" ? positionals[0] : command === "update" ? positionals[1] : undefined;
    if ((command === "create" || command === "update") && !filePath)
      throw new UsageError(
        command === "create"
          ? "segments create needs a segment file: segments create <file.json> --shop DOMAIN"
          : "segments update needs a handle and a segment file: segments update <handle> <file.json> --shop DOMAIN",
      );
    let file: { path: string; text: string } | undefined;
    if (filePath) {
      const { readFile } = await import("node:fs/promises");
      try {
        file = { path: filePath, text: await readFile(filePath, "utf8") };
      } catch (error) {
        throw new UsageError(`cannot read ${filePath}: ${(error as Error).message}`);
      }
    }
    const { segmentsCommand } = await import("./segments/cli.server");
    return segmentsCommand(
      command as "list" | "show" | "export" | "push" | "create" | "update" | "delete",
      {
        shop: values.shop,
        handle: command === "create" ? undefined : positionals[0],
        now,
        at: command === "list" && (values.now || asOf) ? now : undefined,
        asOf,
        file,
        format,
        tag: onOff(values.tag, "tag"),
        metafield: onOff(values.metafield, "metafield"),
      },
      out,
    );
  }
  if (group === "messages" && ["list", "pause", "resume", "explain"].includes(command ?? "")) {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        shop: { type: "string" },
        visitor: { type: "string" },
        customer: { type: "string" },
        page: { type: "string" },
        path: { type: "string" },
        now: { type: "string" },
        shown: { type: "string" },
        dismissed: { type: "string" },
      },
    });
    if (!values.shop) throw new UsageError(`messages ${command} needs --shop <name>.myshopify.com`);
    // This browser session's messages, as the storefront script sends them.
    const session = (name: "shown" | "dismissed"): number[] => {
      const text = values[name] ?? "";
      if (!/^(\d{1,9}(,\d{1,9})*)?$/.test(text))
        throw new UsageError(`--${name} must be message ids separated by commas (got "${text}")`);
      return text ? text.split(",").map(Number) : [];
    };
    const now = values.now ? new Date(values.now) : new Date();
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be an ISO time (got "${values.now}")`);
    const id = positionals[0] === undefined ? undefined : Number(positionals[0]);
    if (id !== undefined && !Number.isInteger(id))
      throw new UsageError(`the message id must be a number (got "${positionals[0]}")`);
    const { PAGE_TYPES } = await import("./engine/decide");
    const page = values.page ?? "index";
    if (!(PAGE_TYPES as readonly string[]).includes(page))
      throw new UsageError(`--page must be one of ${PAGE_TYPES.join(", ")} (got "${page}")`);
    const { messagesCommand } = await import("./messages/cli.server");
    return messagesCommand(
      command as "list" | "pause" | "resume" | "explain",
      {
        shop: values.shop,
        id,
        visitorId: values.visitor,
        customerId: values.customer,
        page: { type: page as (typeof PAGE_TYPES)[number], path: values.path ?? "/" },
        shown: session("shown"),
        dismissed: session("dismissed"),
        now,
      },
      out,
    );
  }
  if (group === "privacy" && ["list", "show", "export"].includes(command ?? "")) {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { shop: { type: "string" }, customer: { type: "string" }, email: { type: "string" } },
    });
    if (!values.shop) throw new UsageError(`privacy ${command} needs --shop <name>.myshopify.com`);
    if (values.customer !== undefined && !/^\d{1,20}$/.test(values.customer))
      throw new UsageError(`--customer must be a Shopify customer id (got "${values.customer}")`);
    const id = positionals[0] === undefined ? undefined : Number(positionals[0]);
    if (id !== undefined && !Number.isSafeInteger(id))
      throw new UsageError(`the export's id must be a number (got "${positionals[0]}")`);
    const { privacyCommand } = await import("./privacy/cli.server");
    return privacyCommand(
      command as "list" | "show" | "export",
      { shop: values.shop, id, customerId: values.customer, email: values.email, now: new Date() },
      out,
    );
  }
  if (group === "predict" && (command === "fit" || command === "show")) {
    const { values } = parseArgs({
      args: rest,
      options: { shop: { type: "string" }, now: { type: "string" } },
    });
    if (!values.shop) throw new UsageError(`predict ${command} needs --shop <name>.myshopify.com`);
    const now = values.now ? new Date(values.now) : new Date();
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be an ISO time (got "${values.now}")`);
    const { predictCommand } = await import("./predict/cli.server");
    return predictCommand(command, { shop: values.shop, now }, out);
  }
  throw new UsageError(
    group ? `unknown command "${[group, command].filter(Boolean).join(" ")}"` : "no command given",
  );
}

const invokedDirectly = process.argv[1] && /app[\\/]cli\.ts$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error & { code?: string }) => {
      // parseArgs's own refusals (an unknown option, a missing value) are usage errors too.
      if (error instanceof UsageError || error.code?.startsWith("ERR_PARSE_ARGS"))
        console.error(`${error.message}\n\n${USAGE}`);
      else if (error.code === "P2021")
        console.error(
          "The database named by DATABASE_URL is missing tables: run `npm run db:migrate` first.",
        );
      else console.error(error.message);
      process.exit(2);
    },
  );
}
