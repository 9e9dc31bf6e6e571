/**
 * Storefront messages: the one validator for what a merchant sets up (admin form, CLI, tests) and
 * the shape the storefront receives. A message is shown to one segment's members, in one format
 * (popup, corner message, sticky bar), when its trigger fires, on the pages it targets, within its
 * frequency cap. Content is plain text (the script renders it with textContent, never as HTML);
 * the button's link is a path on the shop or an https URL.
 */
import { z } from "zod";
import { PAGE_TYPES, type Format, type MessageSpec, type PageType, type Trigger } from "./decide";
import { isStorableText, UNSTORABLE_MESSAGE } from "./rules";

export const FORMATS = ["popup", "corner", "bar"] as const satisfies readonly Format[];
export const TRIGGERS = ["load", "delay", "scroll", "exit", "addToCart"] as const;
export type TriggerKind = (typeof TRIGGERS)[number];

export const FORMAT_LABELS: Record<Format, string> = {
  popup: "Popup",
  corner: "Corner message",
  bar: "Sticky bar",
};
export const TRIGGER_LABELS: Record<TriggerKind, string> = {
  load: "When the page loads",
  delay: "After a number of seconds",
  scroll: "After scrolling part of the page",
  exit: "When the shopper is about to leave (exit intent)",
  addToCart: "When the shopper adds to the cart",
};
export const PAGE_TYPE_LABELS: Record<PageType, string> = {
  index: "Home page",
  product: "Product pages",
  collection: "Collection pages",
  cart: "Cart page",
  search: "Search results",
  page: "Pages",
  blog: "Blogs",
  article: "Blog posts",
  other: "Other pages",
};

export const LIMITS = { name: 80, headline: 120, body: 400, buttonLabel: 40, buttonUrl: 500, paths: 10 };

/** A message as a merchant sets it up (and as it is stored, columns aside): what decide() reads, and more. */
export interface MessageInput extends Omit<MessageSpec, "id"> {
  name: string;
  content: MessageContent;
  reward: Reward;
  /** Percent of eligible visitors held out (see nothing), to measure the lift. */
  holdoutPercent: number;
  active: boolean;
}

export interface MessageContent {
  headline: string;
  body: string;
  button: { label: string; url: string } | null;
  /** An https image shown above the headline; "" for none. */
  imageUrl: string;
}

export const REWARDS = ["none", "firstPurchase", "referral", "emailCapture"] as const;
export type RewardKind = (typeof REWARDS)[number];
export const REWARD_LABELS: Record<RewardKind, string> = {
  none: "Nothing: a message with a link",
  firstPurchase: "First-purchase discount (a unique code per shopper)",
  referral: "Referral invite (the friend gets a discount, the referrer a reward)",
  emailCapture: "Email sign-up",
};

/** A discount: a percentage (10 = 10%) or an amount in minor units of the shop's currency. */
export interface DiscountSpec {
  type: "percentage" | "amount";
  value: number;
  /** Days a code stays usable after it is given. */
  validDays: number;
  /** Minor units; 0 for none. */
  minimumSubtotal: number;
}

/**
 * What the referrer gets for each friend whose order is paid ("you get"): a percentage (10 = 10%)
 * or an amount in minor units of the shop's currency, on one later order of theirs.
 */
export interface ReferrerReward {
  type: "percentage" | "amount";
  value: number;
}

export type Reward =
  | { kind: "none" }
  | { kind: "emailCapture" }
  | { kind: "firstPurchase"; discount: DiscountSpec }
  /**
   * `discount` is the friend's ("they get": their first order, through the referrer's code);
   * `referrerReward` the referrer's ("you get"). A message saved before the two were apart gives
   * the friend's value to both, as it always did.
   */
  | { kind: "referral"; discount: DiscountSpec; referrerReward: ReferrerReward };

/** What the storefront's script receives: enough to render and arm it, nothing else. */
export interface ShownMessage {
  id: number;
  format: Format;
  trigger: Trigger;
  headline: string;
  body: string;
  button: { label: string; url: string } | null;
  imageUrl: string;
  /** What it gives: the script asks for the shopper's own code when it shows a discount. */
  reward: RewardKind;
  /** The A/B variant shown, when the message has variants. */
  variantId?: number;
  /**
   * A reminder of the code the shopper already holds from this message (not a new offer): the same
   * message and terms, and the same code, which `/code` also gives again.
   */
  reminder?: boolean;
  /** The held code, with a reminder: as `/code` answers it. */
  code?: { code: string; expiresAt: string; applyPath: string; shareUrl?: string };
}

export interface MessageProblem {
  /** The form field, e.g. "trigger.seconds", "content.headline". */
  field: string;
  message: string;
}

export class MessageError extends Error {
  override name = "MessageError";
  constructor(readonly problems: MessageProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join("; "));
  }
}

const text = (max: number, what: string) =>
  z
    .string({ required_error: `give ${what}`, invalid_type_error: `${what} must be text` })
    .transform((s) => s.trim())
    .refine((s) => s.length <= max, `must be at most ${max} characters`);

/** A shop path ("/collections/sale") or an https URL; nothing that runs script. */
const linkUrl = z
  .string()
  .trim()
  .max(LIMITS.buttonUrl, `must be at most ${LIMITS.buttonUrl} characters`)
  .refine(
    (u) => /^\/(?!\/)[^\s]*$/.test(u) || /^https:\/\/[^\s/]+\.[^\s/]+(\/[^\s]*)?$/.test(u),
    'must be a path on your shop (starting with "/") or an https:// address',
  );

const triggerSchema = z.discriminatedUnion(
  "on",
  [
    z.object({ on: z.literal("load") }),
    z.object({
      on: z.literal("delay"),
      seconds: z
        .number({ invalid_type_error: "give the number of seconds" })
        .int("must be a whole number of seconds")
        .min(1, "must be at least 1 second")
        .max(600, "must be at most 600 seconds"),
    }),
    z.object({
      on: z.literal("scroll"),
      percent: z
        .number({ invalid_type_error: "give how far down the page, in percent" })
        .int("must be a whole percentage")
        .min(1, "must be at least 1%")
        .max(100, "must be at most 100%"),
    }),
    z.object({ on: z.literal("exit") }),
    z.object({ on: z.literal("addToCart") }),
  ],
  { errorMap: () => ({ message: `must be one of ${TRIGGERS.join(", ")}` }) },
);

const handles = z
  .array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "must be a segment"))
  .max(10, "at most 10 segments")
  .default([])
  .transform((list) => [...new Set(list)]);

const isoTime = z.string().datetime({ offset: true, message: "must be a date and time" });

const discountSchema = z
  .object({
    type: z.enum(["percentage", "amount"], { errorMap: () => ({ message: "must be percentage or amount" }) }),
    value: z
      .number({ invalid_type_error: "must be a number" })
      .int("must be a whole number")
      .min(1, "must be at least 1"),
    validDays: z
      .number({ invalid_type_error: "must be a number of days" })
      .int("must be a whole number of days")
      .min(1, "must be at least 1 day")
      .max(60, "must be at most 60 days")
      .default(7),
    minimumSubtotal: z
      .number({ invalid_type_error: "must be a number" })
      .int()
      .min(0, "must not be negative")
      .default(0),
  })
  .superRefine((d, ctx) => {
    if (d.type === "percentage" && d.value > 100)
      ctx.addIssue({ code: "custom", path: ["value"], message: "must be at most 100%" });
  });

const referrerRewardSchema = z
  .object({
    type: z.enum(["percentage", "amount"], { errorMap: () => ({ message: "must be percentage or amount" }) }),
    value: z
      .number({ invalid_type_error: "must be a number" })
      .int("must be a whole number")
      .min(1, "must be at least 1"),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.type === "percentage" && d.value > 100)
      ctx.addIssue({ code: "custom", path: ["value"], message: "must be at most 100%" });
  });

/** A referral: the friend's discount, and the referrer's reward (the friend's kind and value when not given). */
const referralSchema = z.object({
  kind: z.literal("referral"),
  discount: discountSchema,
  referrerReward: referrerRewardSchema.optional(),
});

const schema = z
  .object({
    name: text(LIMITS.name, "a name").refine((s) => s.length > 0, "give the message a name"),
    segment: z
      .string({ required_error: "choose a segment" })
      .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "choose a segment"),
    format: z.enum(FORMATS, { errorMap: () => ({ message: `must be one of ${FORMATS.join(", ")}` }) }),
    trigger: triggerSchema,
    priority: z
      .number({ invalid_type_error: "must be a number" })
      .int("must be a whole number")
      .min(-1000, "must be at least -1000")
      .max(1000, "must be at most 1000")
      .default(0),
    pages: z
      .object({
        types: z
          .array(
            z.enum(PAGE_TYPES, { errorMap: () => ({ message: `must be one of ${PAGE_TYPES.join(", ")}` }) }),
          )
          .default([])
          .transform((types) => [...new Set(types)]),
        pathContains: z
          .array(
            z
              .string()
              .trim()
              .min(1, "must not be empty")
              .max(200, "must be at most 200 characters")
              .refine((p) => !/\s/.test(p), "must not contain spaces"),
          )
          .max(LIMITS.paths, `at most ${LIMITS.paths} URL texts`)
          .default([]),
      })
      .default({}),
    cap: z
      .object({
        oncePerSession: z.boolean().default(true),
        everyDays: z
          .number({ invalid_type_error: "must be a number of days" })
          .int("must be a whole number of days")
          .min(1, "must be at least 1 day")
          .max(365, "must be at most 365 days")
          .nullable()
          .default(null),
      })
      .default({}),
    content: z.object({
      headline: text(LIMITS.headline, "a headline").refine((s) => s.length > 0, "give a headline"),
      body: text(LIMITS.body, "the text").default(""),
      button: z
        .object({
          label: text(LIMITS.buttonLabel, "the button's label").refine(
            (s) => s.length > 0,
            "give the button a label",
          ),
          url: linkUrl,
        })
        .nullable()
        .default(null),
      imageUrl: z
        .string()
        .trim()
        .max(LIMITS.buttonUrl, `must be at most ${LIMITS.buttonUrl} characters`)
        .refine(
          (u) => u === "" || /^https:\/\/[^\s/]+\.[^\s/]+(\/[^\s]*)?$/.test(u),
          "must be an https:// address",
        )
        .default(""),
    }),
    audience: z
      .object({ alsoAll: handles, anyOf: handles, exclude: handles })
      .default({})
      .superRefine((a, ctx) => {
        const both = a.exclude.filter((h) => a.alsoAll.includes(h) || a.anyOf.includes(h));
        if (both.length)
          ctx.addIssue({
            code: "custom",
            path: ["exclude"],
            message: `"${both[0]}" is both required and excluded`,
          });
      }),
    schedule: z
      .object({ startsAt: isoTime.nullable().default(null), endsAt: isoTime.nullable().default(null) })
      .default({})
      .superRefine((w, ctx) => {
        if (w.startsAt && w.endsAt && Date.parse(w.endsAt) <= Date.parse(w.startsAt))
          ctx.addIssue({ code: "custom", path: ["endsAt"], message: "must be after the start" });
      }),
    reward: z
      .discriminatedUnion(
        "kind",
        [
          z.object({ kind: z.literal("none") }),
          z.object({ kind: z.literal("emailCapture") }),
          z.object({ kind: z.literal("firstPurchase"), discount: discountSchema }),
          referralSchema,
        ],
        { errorMap: () => ({ message: `must be one of ${REWARDS.join(", ")}` }) },
      )
      .default({ kind: "none" })
      .transform((r): Reward =>
        r.kind === "referral"
          ? {
              ...r,
              referrerReward: r.referrerReward ?? { type: r.discount.type, value: r.discount.value },
            }
          : r,
      ),
    holdoutPercent: z
      .number({ invalid_type_error: "must be a number" })
      .int("must be a whole percentage")
      .min(0, "must be at least 0%")
      .max(50, "must be at most 50%")
      .default(10),
    active: z.boolean().default(false),
  })
  .strict();

/** The paths of text no database can hold (NUL, half a surrogate pair) anywhere in `value`. */
function unstorableTextIn(value: unknown, path: string[] = []): string[] {
  if (typeof value === "string") return isStorableText(value) ? [] : [path.join(".") || "message"];
  if (path.length > 8 || value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, child]) => unstorableTextIn(child, [...path, key]));
}

/** Validates a message; throws MessageError naming each field that is wrong. */
export function parseMessage(input: unknown): MessageInput {
  const unstorable = unstorableTextIn(input);
  if (unstorable.length)
    throw new MessageError(unstorable.map((field) => ({ field, message: UNSTORABLE_MESSAGE })));
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new MessageError(
    result.error.issues.map((i) => ({
      field: i.path.join(".") || "message",
      message:
        i.code === "unrecognized_keys" ? `unknown ${i.keys.map((k) => `"${k}"`).join(", ")}` : i.message,
    })),
  );
}

export function triggerLabel(t: Trigger): string {
  if (t.on === "delay") return `After ${t.seconds} s`;
  if (t.on === "scroll") return `At ${t.percent}% scroll`;
  if (t.on === "exit") return "Exit intent";
  if (t.on === "addToCart") return "On add to cart";
  return "On load";
}

/** The decision's view of a message. */
export function specOf(id: number, m: MessageInput): MessageSpec {
  return {
    id,
    segment: m.segment,
    format: m.format,
    trigger: m.trigger,
    priority: m.priority,
    pages: m.pages,
    cap: m.cap,
    audience: m.audience,
    schedule: m.schedule,
    codeKind: m.reward.kind === "firstPurchase" || m.reward.kind === "referral" ? m.reward.kind : null,
  };
}

export function shownOf(id: number, m: MessageInput): ShownMessage {
  return { id, format: m.format, trigger: m.trigger, ...m.content, reward: m.reward.kind };
}

/** Columns as stored (Prisma's Message) <-> the validated shape. */
export interface MessageColumns {
  name: string;
  segmentHandle: string;
  format: string;
  trigger: string;
  triggerValue: number | null;
  priority: number;
  pageTypes: string;
  pathContains: string;
  oncePerSession: boolean;
  everyDays: number | null;
  headline: string;
  body: string;
  buttonLabel: string;
  buttonUrl: string;
  imageUrl: string;
  alsoAll: string;
  anyOf: string;
  exclude: string;
  startsAt: Date | null;
  endsAt: Date | null;
  reward: string;
  discountKind: string;
  discountValue: number;
  codeValidDays: number;
  minimumSubtotal: number;
  /** A referral's "you get": null when it is the friend's discount (messages saved before it had its own). */
  referrerRewardKind: string | null;
  referrerRewardValue: number | null;
  holdoutPercent: number;
  active: boolean;
}

export function toColumns(m: MessageInput): MessageColumns {
  return {
    name: m.name,
    segmentHandle: m.segment,
    format: m.format,
    trigger: m.trigger.on,
    triggerValue:
      m.trigger.on === "delay" ? m.trigger.seconds : m.trigger.on === "scroll" ? m.trigger.percent : null,
    priority: m.priority,
    pageTypes: m.pages.types.length ? `|${m.pages.types.join("|")}|` : "",
    pathContains: JSON.stringify(m.pages.pathContains),
    oncePerSession: m.cap.oncePerSession,
    everyDays: m.cap.everyDays,
    headline: m.content.headline,
    body: m.content.body,
    buttonLabel: m.content.button?.label ?? "",
    buttonUrl: m.content.button?.url ?? "",
    imageUrl: m.content.imageUrl,
    alsoAll: JSON.stringify(m.audience.alsoAll),
    anyOf: JSON.stringify(m.audience.anyOf),
    exclude: JSON.stringify(m.audience.exclude),
    startsAt: m.schedule.startsAt ? new Date(m.schedule.startsAt) : null,
    endsAt: m.schedule.endsAt ? new Date(m.schedule.endsAt) : null,
    reward: m.reward.kind,
    discountKind: "discount" in m.reward ? m.reward.discount.type : "percentage",
    discountValue: "discount" in m.reward ? m.reward.discount.value : 10,
    codeValidDays: "discount" in m.reward ? m.reward.discount.validDays : 7,
    minimumSubtotal: "discount" in m.reward ? m.reward.discount.minimumSubtotal : 0,
    referrerRewardKind: m.reward.kind === "referral" ? m.reward.referrerReward.type : null,
    referrerRewardValue: m.reward.kind === "referral" ? m.reward.referrerReward.value : null,
    holdoutPercent: m.holdoutPercent,
    active: m.active,
  };
}

/** Stored columns back to the validated shape (validated again: the database is not trusted blindly). */
export function fromColumns(c: MessageColumns): MessageInput {
  const trigger =
    c.trigger === "delay"
      ? { on: "delay", seconds: c.triggerValue }
      : c.trigger === "scroll"
        ? { on: "scroll", percent: c.triggerValue }
        : { on: c.trigger };
  return parseMessage({
    name: c.name,
    segment: c.segmentHandle,
    format: c.format,
    trigger,
    priority: c.priority,
    pages: {
      types: c.pageTypes.split("|").filter(Boolean),
      pathContains: JSON.parse(c.pathContains) as unknown,
    },
    cap: { oncePerSession: c.oncePerSession, everyDays: c.everyDays },
    content: {
      headline: c.headline,
      body: c.body,
      button: c.buttonLabel ? { label: c.buttonLabel, url: c.buttonUrl } : null,
      imageUrl: c.imageUrl,
    },
    audience: {
      alsoAll: JSON.parse(c.alsoAll) as unknown,
      anyOf: JSON.parse(c.anyOf) as unknown,
      exclude: JSON.parse(c.exclude) as unknown,
    },
    schedule: { startsAt: c.startsAt?.toISOString() ?? null, endsAt: c.endsAt?.toISOString() ?? null },
    reward:
      c.reward === "firstPurchase" || c.reward === "referral"
        ? {
            kind: c.reward,
            discount: {
              type: c.discountKind,
              value: c.discountValue,
              validDays: c.codeValidDays,
              minimumSubtotal: c.minimumSubtotal,
            },
            ...(c.reward === "referral" && c.referrerRewardKind !== null && c.referrerRewardValue !== null
              ? { referrerReward: { type: c.referrerRewardKind, value: c.referrerRewardValue } }
              : {}),
          }
        : { kind: c.reward },
    holdoutPercent: c.holdoutPercent,
    active: c.active,
  });
}

/**
 * The messages a new shop starts with, paused until the merchant switches them on: one per
 * audience the storefront is built for.
 */
export function starterMessages(): MessageInput[] {
  const base = {
    priority: 0,
    pages: { types: [], pathContains: [] },
    audience: { alsoAll: [], anyOf: [], exclude: [] },
    schedule: { startsAt: null, endsAt: null },
    reward: { kind: "none" } as Reward,
    holdoutPercent: 10,
    active: false,
  };
  return [
    {
      ...base,
      name: "Welcome: first purchase",
      segment: "first-time-visitors",
      format: "popup",
      trigger: { on: "delay", seconds: 5 },
      cap: { oncePerSession: true, everyDays: 7 },
      content: {
        headline: "Welcome! Here's 10% off your first order",
        body: "New here? Use your code at checkout within 7 days.",
        button: { label: "Start shopping", url: "/collections/all" },
        imageUrl: "",
      },
      reward: {
        kind: "firstPurchase",
        discount: { type: "percentage", value: 10, validDays: 7, minimumSubtotal: 0 },
      },
    },
    {
      ...base,
      name: "Cart reminder on exit",
      segment: "cart-abandoners",
      format: "popup",
      trigger: { on: "exit" },
      priority: 10,
      cap: { oncePerSession: true, everyDays: 1 },
      content: {
        headline: "Your cart is waiting",
        body: "The items in your cart aren't reserved. Check out now so you don't miss them.",
        button: { label: "Go to cart", url: "/cart" },
        imageUrl: "",
      },
    },
    {
      ...base,
      name: "Referral invite for top customers",
      segment: "high-spend-repeat",
      format: "corner",
      trigger: { on: "delay", seconds: 3 },
      priority: 20,
      cap: { oncePerSession: true, everyDays: 14 },
      content: {
        headline: "Thanks for being one of our best customers",
        body: "Share your link: your friend gets 15% off their first order, and you get 15% off when they order.",
        button: null,
        imageUrl: "",
      },
      reward: {
        kind: "referral",
        discount: { type: "percentage", value: 15, validDays: 30, minimumSubtotal: 0 },
        referrerReward: { type: "percentage", value: 15 },
      },
    },
  ];
}

/** "15%" or "$10.00": a discount's size, the amount in the shop's currency (minor units in). */
export type MoneyText = (minor: number) => string;

/** What a referral gives, as a shopper reads it: "Give 15%, get $10.00" (the friend's, then the referrer's). */
export function referralTerms(
  reward: { discount: Pick<DiscountSpec, "type" | "value">; referrerReward: ReferrerReward },
  money: MoneyText,
): string {
  const size = (d: { type: "percentage" | "amount"; value: number }) =>
    d.type === "percentage" ? `${d.value}%` : money(d.value);
  return `Give ${size(reward.discount)}, get ${size(reward.referrerReward)}`;
}
