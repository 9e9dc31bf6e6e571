/** How the admin names a customer (pure: the pages and the server share it). */

/** "Ada Lovelace", else the email, else "Customer 123". */
export function customerName(c: {
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  shopifyId: string;
}): string {
  return `${c.firstName ?? ""} ${c.lastName ?? ""}`.trim() || c.email || `Customer ${c.shopifyId}`;
}
