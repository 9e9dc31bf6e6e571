/**
 * What each figure of an offer's results means, said where the figure is shown (the results page
 * and the Messages list): the words, and a small "?" that opens them in a Polaris Tooltip.
 *
 * The reasons given for "treated" outnumbering "impressions" are the code's own: the decision
 * (storefront/decide.server.ts) records a shopper's exposure when it chooses the offer for them,
 * before the storefront script (slice.js, slice-draw.js) draws it, and the script draws it only
 * when its trigger fires, its format is on in the app embed, it was not shown yet in that browser
 * session and, for a discount offer, a code could be handed out.
 */
import { Icon, InlineStack, Text, Tooltip } from "@shopify/polaris";
import { QuestionCircleIcon } from "@shopify/polaris-icons";
import type { ReactNode } from "react";

export const HELP = {
  treated: (windowDays: number) =>
    `Shoppers the storefront chose this offer for and let see it. Each signed-in customer, or each browser of a shopper who is not signed in, counts once, from the first time the offer was chosen for them; their orders count for ${windowDays} days from then.`,
  heldOut: (holdoutPercent: number) =>
    `Shoppers the offer was chosen for who were kept from seeing it: ${holdoutPercent}% of them, picked at random by the same rule. They show what would have happened without the offer.`,
  impressions:
    "Times the message appeared on a shopper's screen. One shopper can see it on several visits, so this counts showings, not shoppers.",
  treatedVsImpressions:
    "A shopper counts as treated when the storefront chooses the offer for them, before it appears. It may never appear: its trigger did not happen (they left before the delay ran out, did not scroll far enough or never moved to leave the page), its format is switched off in the app embed, it was already shown in that browser session, a discount offer had no code left to give, or the browser blocked the script. They still count: leaving them out would compare only the shoppers who stayed with everyone held out.",
  conversion: (windowDays: number) =>
    `Share of each group who placed an order (not a test, not cancelled) within ${windowDays} days of the first time the offer was chosen for them.`,
  lift: "How much higher the treated group's conversion is than the held-out group's, in percentage points. The range after it is the 95% confidence interval: the true lift is very likely inside it. When the whole range is above zero, the offer raised conversion (significant); when it includes zero, it may have made no difference yet.",
  notEnough:
    "A lift is worked out once each group has at least 100 shoppers and there are at least 10 orders between them; before that any difference is mostly chance.",
  codes:
    "Codes handed to treated shoppers in this period, and codes used in an order in this period. Discount cost is what those orders were discounted.",
  revenue: (windowDays: number) =>
    `Orders of the treated shoppers within ${windowDays} days of the offer being chosen for them, less refunds. The held-out group is smaller, so compare revenue per shopper rather than totals.`,
  revenuePerShopper:
    "Each group's revenue (after refunds) divided by its number of shoppers, treated against held out.",
  bySegment:
    "Signed-in customers who are members of each segment now (not necessarily when the offer was first chosen for them); a customer in two segments counts in both. Shoppers who were not signed in are one row of their own.",
  untracked:
    "Shoppers who declined analytics see only messages that target no one in particular and are counted here in total, with no id: they are in neither group above.",
} as const;

/** A "?" that opens `content` in a tooltip (hover or keyboard focus); `label` names it for screen readers. */
export function HelpTip({ label, content }: { label: string; content: ReactNode }) {
  return (
    <Tooltip content={content} width="wide" hoverDelay={100}>
      <span
        role="button"
        tabIndex={0}
        aria-label={`About ${label}`}
        data-help={label}
        style={{ display: "inline-flex", cursor: "help" }}
      >
        <Icon source={QuestionCircleIcon} tone="subdued" />
      </span>
    </Tooltip>
  );
}

/** A figure's heading with its "?". */
export function LabelWithHelp({ label, help }: { label: string; help: ReactNode }) {
  return (
    <InlineStack gap="100" blockAlign="center" wrap={false}>
      <Text as="h3" variant="headingSm" tone="subdued">
        {label}
      </Text>
      <HelpTip label={label} content={help} />
    </InlineStack>
  );
}
