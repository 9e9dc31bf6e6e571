/**
 * The Messages page's cards for the rules across messages: the shop's settings (cool-down after a
 * dismissal, a corner or bar after a popup) and the warnings about active messages that reach the
 * same people.
 */
import { Link, useFetcher } from "@remix-run/react";
import {
  Banner,
  BlockStack,
  Button,
  Card,
  Checkbox,
  InlineStack,
  List,
  Text,
  TextField,
} from "@shopify/polaris";
import { useState } from "react";
import type { SessionPolicy } from "../engine/decide";
import type { OverlapWarning } from "./overlap.server";
import type { PolicyResult } from "./policy.server";

const PAGE_WORDS: Record<string, string> = {
  index: "home page",
  product: "product pages",
  collection: "collection pages",
  cart: "cart page",
  search: "search page",
  page: "pages",
  blog: "blogs",
  article: "articles",
  other: "other pages",
};

function reach(w: OverlapWarning): string {
  const where = w.pages ? ` on ${w.pages.map((p) => PAGE_WORDS[p] ?? p).join(", ")}` : "";
  const same = w.basis === "same segment" ? "Same audience. " : "";
  if (w.customers === null)
    return `${same}Both can reach the same visitors${where}; visitors who are not customers cannot be counted, so how many is not known.`;
  const people = `${w.customers.toLocaleString("en-US")} customer${w.customers === 1 ? " is" : "s are"}`;
  const guests = w.visitorsToo ? ", and visitors who are not customers may be too" : "";
  return `${same}${people} in both audiences now${guests}${where}.`;
}

/** One warning per pair of active messages that reach the same people. */
export function OverlapBanners({ warnings }: { warnings: OverlapWarning[] }) {
  return (
    <>
      {warnings.map((w) => (
        <div key={`${w.winner.id}-${w.other.id}`} data-overlap={`${w.winner.id}-${w.other.id}`}>
          <Banner tone="warning" title={`"${w.winner.name}" and "${w.other.name}" can reach the same people`}>
            <BlockStack gap="200">
              <p>{reach(w)}</p>
              <p>
                When both apply, <Link to={`/app/messages/${w.winner.id}`}>{w.winner.name}</Link> is shown:{" "}
                {w.why}. Change the priority of <Link to={`/app/messages/${w.other.id}`}>{w.other.name}</Link>{" "}
                to change that, or narrow either audience.
              </p>
              <List>
                {w.then.map((t) => (
                  <List.Item key={t}>{t}</List.Item>
                ))}
              </List>
            </BlockStack>
          </Banner>
        </div>
      ))}
    </>
  );
}

/** The shop's settings across messages: saved through the Messages list's action (intent=policy). */
export function PolicyCard({ policy }: { policy: SessionPolicy }) {
  const fetcher = useFetcher<PolicyResult>();
  const [days, setDays] = useState(String(policy.cooldownDays));
  const [afterPopup, setAfterPopup] = useState(policy.afterPopup);
  const result = fetcher.data;
  return (
    <Card>
      <fetcher.Form method="post" data-policy-form>
        <input type="hidden" name="intent" value="policy" />
        <BlockStack gap="300">
          <Text as="h2" variant="headingMd">
            One message per visit
          </Text>
          <Text as="p" tone="subdued">
            Across all messages: at most one popup per browser session, and never a second discount code of
            the same kind to one shopper (a shopper holding an unused code is reminded of it instead).
          </Text>
          <TextField
            label="After a shopper dismisses a message, show nothing for"
            name="cooldownDays"
            type="number"
            min={0}
            max={365}
            suffix="days"
            autoComplete="off"
            value={days}
            onChange={setDays}
            helpText="0: only for the rest of the browser session. Without tracking consent it always lasts the session only."
            error={result && !result.ok ? `Cool-down ${result.message}` : undefined}
          />
          <Checkbox
            label="Allow a corner message or bar after a popup in the same session"
            checked={afterPopup}
            onChange={setAfterPopup}
          />
          {afterPopup && <input type="hidden" name="afterPopup" value="on" />}
          <InlineStack gap="200" blockAlign="center">
            <Button submit loading={fetcher.state !== "idle"}>
              Save
            </Button>
            {result?.ok && fetcher.state === "idle" && (
              <Text as="span" tone="success">
                Saved
              </Text>
            )}
          </InlineStack>
        </BlockStack>
      </fetcher.Form>
    </Card>
  );
}
