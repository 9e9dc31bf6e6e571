/**
 * `npm run slice -- privacy …`: the data-request exports Shopify asked for (customers/data_request),
 * and a new one made now for a customer, for a request that reached the merchant another way.
 */
import prisma from "../db.server";
import { CliError } from "../segments/cli.server";
import { exportCustomerData, listExports, readExport } from "./customer-data.server";

export async function privacyCommand(
  command: "list" | "show" | "export",
  options: { shop: string; id?: number; customerId?: string; email?: string; now: Date },
  out: (line: string) => void,
): Promise<number> {
  const shop = await prisma.shop.findUnique({ where: { domain: options.shop }, select: { id: true } });
  if (!shop) throw new CliError(`no shop ${options.shop} in this database`);
  if (command === "list") {
    const rows = await listExports(prisma, shop.id, 1000);
    if (!rows.length) out("no data requests");
    for (const r of rows)
      out(
        [
          String(r.id).padStart(4),
          r.createdAt,
          `customer ${r.customerId ?? "-"}`,
          r.email ?? "-",
          `request ${r.requestId ?? "-"}`,
          `${r.bytes} bytes`,
        ].join("  "),
      );
    return 0;
  }
  if (command === "show") {
    if (options.id === undefined) throw new CliError("privacy show needs the export's id");
    const row = await readExport(prisma, shop.id, options.id);
    if (!row) throw new CliError(`no data export #${options.id} in ${options.shop}`);
    out(row.payload);
    return 0;
  }
  if (!options.customerId && !options.email)
    throw new CliError("privacy export needs --customer <id> or --email <address>");
  const made = await exportCustomerData(
    prisma,
    shop.id,
    { customerId: options.customerId ?? null, email: options.email ?? null, orderIds: [] },
    null,
    options.now,
  );
  out(
    `export #${made.id}: ${Object.entries(made.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(", ")}`,
  );
  return 0;
}
