/**
 * Says plainly, until Shopify grants `read_all_orders`, what the app cannot see and what that
 * affects: on the home page (everything) and on a segment that reads order history (its conditions).
 */
import { Banner, List } from "@shopify/polaris";

export function OrderHistoryBanner({ conditions }: { conditions?: string[] }) {
  return (
    <Banner tone="warning" title="Slice can read only the last 60 days of orders">
      <p>
        Shopify has not granted Slice the <code>read_all_orders</code> permission, so orders older than 60
        days are not imported. Shopify approves an app&apos;s request for this permission first; the store
        then grants it when it accepts the app&apos;s updated permissions.
      </p>
      <p>
        Until then each customer&apos;s number of orders and total spent come from Shopify&apos;s own lifetime
        figures (so nobody who ordered before is treated as a first-time buyer), but:
      </p>
      <List>
        <List.Item>
          &quot;First order&quot; dates are unknown for customers with older orders, and &quot;last
          order&quot; for customers whose orders are all older (first-time and lapsed customers are affected);
        </List.Item>
        <List.Item>
          conditions on orders over more than 60 days (bought a product, number of orders or spend in a
          window) see only the last 60 days.
        </List.Item>
      </List>
      {conditions && conditions.length > 0 && (
        <>
          <p>In this segment:</p>
          <List>
            {conditions.map((c) => (
              <List.Item key={c}>{c}</List.Item>
            ))}
          </List>
        </>
      )}
    </Banner>
  );
}
