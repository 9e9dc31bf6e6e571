/**
 * Calling the admin's loaders and actions in a test as a signed-in merchant: requests carry the
 * development sign-in's signed cookie for one shop (SLICE_DEV_LOGIN=1), and an answer is read the
 * same whether the route returned or threw a Response, or returned data.
 */
import { devShopCookie } from "../auth.server";

export const ADMIN_ORIGIN = "http://127.0.0.1:3999";

export type RouteArgs = { request: Request; params: Record<string, string>; context: Record<string, never> };
export type Route = (args: RouteArgs) => unknown;

export interface Answer {
  status: number;
  text: string;
}

/** Signs in as `shop` for the requests made with the returned function. */
export async function adminAs(shop: string) {
  process.env.SLICE_DEV_LOGIN = "1";
  const cookie = await devShopCookie.serialize(shop);
  return (
    path: string,
    init: { method?: string; form?: Record<string, string>; json?: unknown; body?: string } = {},
  ) => {
    const headers = new Headers({ Cookie: cookie });
    let body: string | undefined = init.body;
    if (init.form) {
      headers.set("Content-Type", "application/x-www-form-urlencoded");
      body = new URLSearchParams(init.form).toString();
    } else if (init.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(init.json);
    } else if (body !== undefined) headers.set("Content-Type", "application/json");
    return new Request(`${ADMIN_ORIGIN}${path}`, {
      method: init.method ?? (body !== undefined ? "POST" : "GET"),
      headers,
      body,
    });
  };
}

/** What a loader or action answered: a thrown or returned Response, or data (200). */
export async function call(
  route: Route,
  request: Request,
  params: Record<string, string> = {},
): Promise<Answer> {
  let result: unknown;
  try {
    result = await route({ request, params, context: {} });
  } catch (thrown) {
    if (!(thrown instanceof Response)) throw thrown;
    result = thrown;
  }
  if (result instanceof Response) return { status: result.status, text: await result.text() };
  return { status: 200, text: JSON.stringify(result) };
}
