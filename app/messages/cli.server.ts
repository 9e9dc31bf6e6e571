/** `npm run slice -- messages …`: the shop's storefront messages, and why a visitor sees what they see. */
import prisma from "../db.server";
import { triggerLabel, FORMAT_LABELS } from "../engine/message";
import type { PageContext } from "../engine/decide";
import { explainDecision, type ExplainSkip } from "../storefront/decide.server";
import { listMessages, setMessageActive } from "./store.server";
import { CliError } from "../segments/cli.server";
import { rewardSummary } from "./admin.server";

/** The rules across messages, said in full (the others print as they are named). */
const SKIP_WORDS: Partial<Record<ExplainSkip, string>> = {
  "cool-down": "cool-down (a message was dismissed within the shop's cool-down, or this session)",
  "popup this session": "popup this session (a popup was already shown in this session)",
  "after a popup": "after a popup (the shop shows no corner message or bar after a popup)",
  "code already held": "code already held (one code per kind of offer: first-purchase, referral)",
};

export async function messagesCommand(
  command: "list" | "pause" | "resume" | "explain",
  options: {
    shop: string;
    id?: number;
    visitorId?: string;
    customerId?: string;
    page: PageContext;
    /** Messages shown and dismissed in this browser session (the storefront's shown= and dismissed=). */
    shown?: number[];
    dismissed?: number[];
    now: Date;
  },
  out: (line: string) => void,
): Promise<number> {
  const shop = await prisma.shop.findUnique({
    where: { domain: options.shop },
    select: { id: true, currency: true },
  });
  if (!shop) throw new CliError(`no shop ${options.shop} in this database`);
  if (command === "list") {
    const rows = await listMessages(prisma, shop.id);
    if (!rows.length) out("no messages");
    for (const m of rows) {
      // What it gives: "Referral: give 15%, get $10.00" (the friend's, then the referrer's).
      const gives = rewardSummary(m.input.reward, shop.currency);
      out(
        [
          String(m.id).padStart(4),
          (m.input.active ? "active" : "paused").padEnd(6),
          `p${m.input.priority}`.padEnd(5),
          m.input.name,
          `→ ${m.segmentName ?? `${m.input.segment} (segment deleted)`}`,
          `· ${FORMAT_LABELS[m.input.format]}, ${triggerLabel(m.input.trigger).toLowerCase()}`,
          ...(gives ? [`· ${gives}`] : []),
        ].join("  "),
      );
    }
    return 0;
  }
  if (command === "pause" || command === "resume") {
    if (options.id === undefined) throw new CliError(`messages ${command} needs the message's id`);
    await setMessageActive(prisma, shop.id, options.id, command === "resume");
    out(`message ${options.id} ${command === "resume" ? "is active" : "is paused"}`);
    return 0;
  }
  const explanation = await explainDecision(prisma, options.shop, {
    visitorId: options.visitorId,
    customerId: options.customerId,
    page: options.page,
    shown: options.shown,
    dismissed: options.dismissed,
    now: options.now,
  });
  if (!explanation) throw new CliError(`${options.shop} is not installed`);
  const { chosen, skipped } = explanation;
  out(
    chosen
      ? `shows message ${chosen.id}: "${chosen.headline}"${chosen.reminder ? " (a reminder of the code they hold)" : ""}`
      : "shows no message",
  );
  for (const r of chosen?.reasons ?? []) out(`  ${r.met ? "✓" : "✗"} ${r.condition} (is ${r.value})`);
  for (const s of skipped) out(`  not ${s.id} "${s.headline}": ${SKIP_WORDS[s.why] ?? s.why}`);
  return 0;
}
