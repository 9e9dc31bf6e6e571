/**
 * The stand-in's token endpoint and token book: `POST /admin/oauth/access_token` as Shopify answers
 * it for an embedded app with expiring offline tokens, and the check of the token on every Admin
 * API request.
 *
 * What it imitates (shopify.dev: "About offline access tokens", "Exchange a session token for an
 * access token", the changelogs "Offline access tokens now support expiry and refresh" and "More
 * resilient refreshes for expiring offline access tokens"):
 * - token exchange: the session token (a JWT signed HS256 with the app's secret, `aud` the client
 *   id, `dest` the shop) becomes an offline token; with `expiring=1` it lives 3600 s and comes with
 *   a refresh token living 90 days (`refresh_token_expires_in` 7776000);
 * - the `refresh_token` grant returns a new access token AND a new refresh token (rotation). The
 *   refresh token just used stays usable until the app first uses its replacement (then it is
 *   retired), for at most 30 days from its first use, and never past its own 90 days;
 * - errors: an invalid session token is 400 `invalid_subject_token`; an unknown, retired or expired
 *   refresh token is 400 `invalid_grant`; a wrong client id or secret is 401 `invalid_client`; an
 *   unsupported grant is 400 `unsupported_grant_type`; an expired or unknown access token gets the
 *   Admin API's 401 "[API] Invalid API key or access token".
 * Time is the stand-in's clock, which tests move.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const ACCESS_TOKEN_TTL_S = 3600;
export const REFRESH_TOKEN_TTL_S = 90 * 24 * 3600;
/** How long a used refresh token may be retried while its replacement is unused. */
export const REFRESH_RETRY_WINDOW_S = 30 * 24 * 3600;

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token";
const OFFLINE = "urn:shopify:params:oauth:token-type:offline-access-token";
const ONLINE = "urn:shopify:params:oauth:token-type:online-access-token";

export const INVALID_ACCESS_TOKEN =
  "[API] Invalid API key or access token (unrecognized login or wrong password)";

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

interface AccessGrant {
  shop: string;
  scopes: string[];
  /** ms on the stand-in's clock; null: a non-expiring token. */
  expiresAt: number | null;
  /** The refresh token issued with it (its use retires the refresh token used to get it). */
  refreshToken: string | null;
}

interface RefreshGrant {
  shop: string;
  expiresAt: number;
  retired: boolean;
  firstUsedAt: number | null;
  /** The refresh token issued when this one was used (the replacement). */
  replacement: string | null;
  /** The refresh token this one replaced. */
  predecessor: string | null;
}

export interface TokenAuthorityOptions {
  shop: string;
  apiKey: string;
  apiSecret: string;
  now: () => number;
  /** The scopes granted to the app on the shop now (read at each issue). */
  scopes: () => string[];
}

const error = (status: number, code: string, description: string): TokenAnswer => ({
  status,
  body: { error: code, error_description: description },
});

export class TokenAuthority {
  private readonly access = new Map<string, AccessGrant>();
  private readonly refresh = new Map<string, RefreshGrant>();
  /** Every answer of the token endpoint (for tests: how many refreshes, which refused). */
  readonly log: { grant: string; status: number; error?: string }[] = [];

  constructor(private readonly options: TokenAuthorityOptions) {}

  /** A non-expiring offline token (as older installs and custom apps have); tests use it directly. */
  addLegacyToken(token: string): void {
    this.access.set(token, { shop: this.options.shop, scopes: [], expiresAt: null, refreshToken: null });
  }

  /** The shop's grant for a token, or null when it is unknown, revoked or expired. */
  check(token: string | undefined): { scopes: string[] } | null {
    if (!token) return null;
    const grant = this.access.get(token);
    if (!grant) return null;
    if (grant.expiresAt !== null && this.options.now() >= grant.expiresAt) return null;
    // Using the access token got with a refresh retires the refresh token used for it.
    if (grant.refreshToken) this.retirePredecessorOf(grant.refreshToken);
    return { scopes: grant.expiresAt === null ? this.options.scopes() : grant.scopes };
  }

  /** The app was uninstalled: every token of the shop stops working. */
  revokeAll(): void {
    this.access.clear();
    this.refresh.clear();
  }

  /** POST /admin/oauth/access_token with a JSON or form body. */
  answer(body: Record<string, string | undefined>): TokenAnswer {
    const result = this.grant(body);
    this.log.push({
      grant: body.grant_type ?? "",
      status: result.status,
      ...(typeof result.body.error === "string" ? { error: result.body.error } : {}),
    });
    return result;
  }

  private grant(body: Record<string, string | undefined>): TokenAnswer {
    const { apiKey, apiSecret } = this.options;
    if (body.client_id !== apiKey || !body.client_secret || !safeEqual(body.client_secret, apiSecret))
      return error(
        401,
        "invalid_client",
        "Client authentication failed: unknown client_id or wrong client_secret.",
      );
    if (body.grant_type === TOKEN_EXCHANGE) return this.exchange(body);
    if (body.grant_type === "refresh_token") return this.refreshGrant(body);
    return error(
      400,
      "unsupported_grant_type",
      `The grant_type "${body.grant_type ?? ""}" is not supported.`,
    );
  }

  private exchange(body: Record<string, string | undefined>): TokenAnswer {
    if (body.subject_token_type !== ID_TOKEN)
      return error(400, "invalid_request", `subject_token_type must be ${ID_TOKEN}.`);
    if (body.requested_token_type !== OFFLINE && body.requested_token_type !== ONLINE)
      return error(400, "invalid_request", "requested_token_type is missing or not supported.");
    const problem = this.sessionTokenProblem(body.subject_token ?? "");
    if (problem) return error(400, "invalid_subject_token", problem);
    if (body.requested_token_type === ONLINE)
      return error(400, "invalid_request", "The stand-in issues offline tokens only.");
    if (body.expiring !== "1") {
      const token = `shpat_${randomBytes(16).toString("hex")}`;
      this.access.set(token, { shop: this.options.shop, scopes: [], expiresAt: null, refreshToken: null });
      return { status: 200, body: { access_token: token, scope: this.options.scopes().join(",") } };
    }
    return this.issue(null);
  }

  private refreshGrant(body: Record<string, string | undefined>): TokenAnswer {
    const now = this.options.now();
    const used = body.refresh_token ?? "";
    const grant = this.refresh.get(used);
    if (!grant || grant.retired || now >= grant.expiresAt)
      return error(400, "invalid_grant", "The refresh token is invalid, expired or revoked.");
    if (grant.firstUsedAt !== null && now - grant.firstUsedAt > REFRESH_RETRY_WINDOW_S * 1000)
      return error(400, "invalid_grant", "The refresh token is invalid, expired or revoked.");
    grant.firstUsedAt ??= now;
    // A retry of a used token replaces the replacement it got before (which was never used).
    if (grant.replacement) this.refresh.delete(grant.replacement);
    const answer = this.issue(used);
    grant.replacement = answer.body.refresh_token as string;
    return answer;
  }

  private issue(predecessor: string | null): TokenAnswer {
    const now = this.options.now();
    const scopes = this.options.scopes();
    const accessToken = `shpat_${randomBytes(16).toString("hex")}`;
    const refreshToken = `shprt_${randomBytes(24).toString("hex")}`;
    const predecessorGrant = predecessor ? this.refresh.get(predecessor) : undefined;
    this.refresh.set(refreshToken, {
      shop: this.options.shop,
      // A rotated refresh token does not outlive the chain's 90 days from the first grant.
      expiresAt: predecessorGrant ? predecessorGrant.expiresAt : now + REFRESH_TOKEN_TTL_S * 1000,
      retired: false,
      firstUsedAt: null,
      replacement: null,
      predecessor,
    });
    this.access.set(accessToken, {
      shop: this.options.shop,
      scopes,
      expiresAt: now + ACCESS_TOKEN_TTL_S * 1000,
      refreshToken,
    });
    const refreshExpires = this.refresh.get(refreshToken)!.expiresAt;
    return {
      status: 200,
      body: {
        access_token: accessToken,
        expires_in: ACCESS_TOKEN_TTL_S,
        refresh_token: refreshToken,
        refresh_token_expires_in: Math.floor((refreshExpires - now) / 1000),
        scope: scopes.join(","),
      },
    };
  }

  private retirePredecessorOf(refreshToken: string): void {
    const grant = this.refresh.get(refreshToken);
    if (!grant?.predecessor) return;
    const before = this.refresh.get(grant.predecessor);
    if (before && before.replacement === refreshToken) before.retired = true;
    grant.predecessor = null;
  }

  /** Why a session token is refused, or null when it is valid (signature, audience, shop, time). */
  private sessionTokenProblem(jwt: string): string | null {
    const parts = jwt.split(".");
    if (parts.length !== 3) return "The session token is not a JWT.";
    const [header, payload, signature] = parts;
    const expected = createHmac("sha256", this.options.apiSecret)
      .update(`${header}.${payload}`)
      .digest("base64url");
    if (!safeEqual(signature, expected)) return "The session token's signature is invalid.";
    let claims: { alg?: string; aud?: string; dest?: string; exp?: number; nbf?: number };
    try {
      const head = JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg?: string };
      if (head.alg !== "HS256") return "The session token must be signed with HS256.";
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as typeof claims;
    } catch {
      return "The session token is not a JWT.";
    }
    const now = Math.floor(this.options.now() / 1000);
    if (claims.aud !== this.options.apiKey) return "The session token was issued for another app.";
    if (claims.dest !== `https://${this.options.shop}`)
      return "The session token was issued for another shop.";
    if (typeof claims.exp !== "number" || claims.exp <= now) return "The session token has expired.";
    if (typeof claims.nbf === "number" && claims.nbf > now + 5) return "The session token is not valid yet.";
    return null;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A session token as App Bridge gives one to the app (what the demo and tests exchange). */
export function signSessionToken(options: {
  shop: string;
  apiKey: string;
  apiSecret: string;
  now: number;
  userId?: string;
}): string {
  const seconds = Math.floor(options.now / 1000);
  const header = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
  const payload = Buffer.from(
    JSON.stringify({
      iss: `https://${options.shop}/admin`,
      dest: `https://${options.shop}`,
      aud: options.apiKey,
      sub: options.userId ?? "1",
      exp: seconds + 60,
      nbf: seconds - 1,
      iat: seconds,
      jti: randomBytes(8).toString("hex"),
      sid: randomBytes(8).toString("hex"),
    }),
  ).toString("base64url");
  const signature = createHmac("sha256", options.apiSecret)
    .update(`${header}.${payload}`)
    .digest("base64url");
  return `${header}.${payload}.${signature}`;
}
