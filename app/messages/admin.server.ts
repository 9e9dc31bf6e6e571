/**
 * What the admin's message pages need from the database: the list with each message's last 30
 * days, the form's starting values, and the form's post turned into the one MessageInput shape
 * (validated by parseMessage through the store). Problems come back with the form input they
 * belong to, and the merchant's values come back unchanged, so nothing typed is lost.
 */
import type { PrismaClient } from "@prisma/client";
import { redirect } from "@remix-run/node";
import {
  FORMAT_LABELS,
  MessageError,
  parseMessage,
  referralTerms,
  triggerLabel,
  type MessageInput,
  type MessageProblem,
  type Reward,
} from "../engine/message";
import { formatMoney, fromMinorUnits, toMinorUnits } from "../engine/money";
import { isoInZone, offsetMinutes } from "../engine/format";
import {
  createMessage,
  deleteMessage,
  getMessage,
  listMessages,
  messageStats,
  setMessageActive,
  updateMessage,
} from "./store.server";

/** The form as the merchant fills it in: text as typed, checkboxes as booleans. */
export interface MessageFormValues {
  name: string;
  segment: string;
  format: string;
  trigger: string;
  seconds: string;
  percent: string;
  priority: string;
  pageTypes: string[];
  /** URL texts, one per line or separated by commas. */
  pathContains: string;
  oncePerSession: boolean;
  /** "Not again within N days"; empty is no limit. */
  everyDays: string;
  headline: string;
  body: string;
  buttonLabel: string;
  buttonUrl: string;
  /** An https image above the headline; empty for none. */
  imageUrl: string;
  /** Segment handles: also in all of these, in at least one of these (if any), in none of these. */
  alsoAll: string[];
  anyOf: string[];
  exclude: string[];
  /** As an `<input type="datetime-local">` gives it ("2026-12-01T09:00"), in the shop's time zone; empty for none. */
  startsAt: string;
  endsAt: string;
  /** none | firstPurchase | referral | emailCapture */
  reward: string;
  /** percentage | amount */
  discountType: string;
  /** A whole percentage ("10"), or an amount in the shop's currency as typed ("5.00"). */
  discountValue: string;
  validDays: string;
  /** In the shop's currency ("50.00"); empty for none. */
  minimumSubtotal: string;
  /** A referral's "you get" (the referrer's reward per friend's paid order): percentage | amount. */
  referrerRewardType: string;
  /** As discountValue: a whole percentage, or an amount in the shop's currency as typed. */
  referrerRewardValue: string;
  holdoutPercent: string;
  active: boolean;
}

/** What the form needs to know about the shop: money is typed in its currency, times in its zone. */
export interface ShopContext {
  currency: string;
  timeZone: string;
}

export const DEFAULT_SHOP: ShopContext = { currency: "USD", timeZone: "UTC" };

export type FormInput = keyof MessageFormValues;

/** A problem from the validator, with the form input that shows it (null: only in the banner). */
export interface FormProblem extends MessageProblem {
  input: FormInput | null;
  /** The input's label, for the banner that lists every problem. */
  label: string;
}

export type MessageActionResult =
  { ok: false; problems: FormProblem[]; values: MessageFormValues } | { ok: true; active: boolean };

const INPUT_LABELS: Record<FormInput, string> = {
  name: "Name",
  segment: "Segment",
  format: "Format",
  trigger: "Trigger",
  seconds: "Seconds",
  percent: "Scroll depth",
  priority: "Priority",
  pageTypes: "Page types",
  pathContains: "URL contains",
  oncePerSession: "Once per session",
  everyDays: "Not again within",
  headline: "Headline",
  body: "Text",
  buttonLabel: "Button label",
  buttonUrl: "Button link",
  imageUrl: "Image link",
  alsoAll: "…and also in all of",
  anyOf: "…and in any of",
  exclude: "…but not in",
  startsAt: "Starts",
  endsAt: "Ends",
  reward: "What it gives",
  discountType: "Discount type",
  discountValue: "Discount value",
  referrerRewardType: "Referrer's reward type",
  referrerRewardValue: "Referrer's reward",
  validDays: "Code valid for",
  minimumSubtotal: "Minimum order subtotal",
  holdoutPercent: "Holdout",
  active: "Active",
};

/** The validator's field ("content.headline", "pages.pathContains.2") to the form's input. */
export function inputOfField(field: string): FormInput | null {
  const exact: Record<string, FormInput> = {
    name: "name",
    segment: "segment",
    format: "format",
    trigger: "trigger",
    "trigger.on": "trigger",
    "trigger.seconds": "seconds",
    "trigger.percent": "percent",
    priority: "priority",
    "cap.oncePerSession": "oncePerSession",
    "cap.everyDays": "everyDays",
    "content.headline": "headline",
    "content.body": "body",
    "content.button.label": "buttonLabel",
    "content.button.url": "buttonUrl",
    "content.imageUrl": "imageUrl",
    audience: "exclude",
    schedule: "endsAt",
    "schedule.startsAt": "startsAt",
    "schedule.endsAt": "endsAt",
    reward: "reward",
    "reward.kind": "reward",
    "reward.discount": "discountValue",
    "reward.discount.type": "discountType",
    "reward.discount.value": "discountValue",
    "reward.discount.validDays": "validDays",
    "reward.discount.minimumSubtotal": "minimumSubtotal",
    "reward.referrerReward": "referrerRewardValue",
    "reward.referrerReward.type": "referrerRewardType",
    "reward.referrerReward.value": "referrerRewardValue",
    holdoutPercent: "holdoutPercent",
    active: "active",
  };
  if (field in exact) return exact[field];
  for (const list of ["alsoAll", "anyOf", "exclude"] as const)
    if (field === `audience.${list}` || field.startsWith(`audience.${list}.`)) return list;
  if (field === "pages.types" || field.startsWith("pages.types.")) return "pageTypes";
  if (field === "pages.pathContains" || field.startsWith("pages.pathContains.")) return "pathContains";
  return null;
}

function placed(problems: MessageProblem[]): FormProblem[] {
  return problems.map((p) => {
    const input = inputOfField(p.field);
    return { ...p, input, label: input ? INPUT_LABELS[input] : "Message" };
  });
}

/** A new message's starting values. */
export function blankValues(segment = ""): MessageFormValues {
  return {
    name: "",
    segment,
    format: "popup",
    trigger: "delay",
    seconds: "5",
    percent: "50",
    priority: "0",
    pageTypes: [],
    pathContains: "",
    oncePerSession: true,
    everyDays: "7",
    headline: "",
    body: "",
    buttonLabel: "",
    buttonUrl: "",
    imageUrl: "",
    alsoAll: [],
    anyOf: [],
    exclude: [],
    startsAt: "",
    endsAt: "",
    reward: "none",
    discountType: "percentage",
    discountValue: "10",
    validDays: "7",
    minimumSubtotal: "",
    referrerRewardType: "percentage",
    referrerRewardValue: "10",
    holdoutPercent: "10",
    active: true,
  };
}

/** The wall-clock time of an instant in a time zone, as "2026-12-01T09:00" (seconds only when set). */
export function localOfIso(iso: string, timeZone: string): string {
  const local = isoInZone(iso, timeZone).slice(0, 19);
  return local.endsWith(":00") ? local.slice(0, 16) : local;
}

/** Milliseconds the zone is ahead of UTC at an instant. */
function zoneOffset(ms: number, timeZone: string): number {
  return offsetMinutes(new Date(ms), timeZone) * 60_000;
}

/**
 * "2026-12-01T09:00" read in a time zone → an ISO instant ("2026-12-01T08:00:00.000Z"); null when
 * the text is not a date and time. Around a daylight-saving change, the zone's offset at that instant is used.
 */
export function isoOfLocal(local: string, timeZone: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s = "0"] = m.slice(1).map((v) => v ?? "0");
  const wall = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s);
  const check = new Date(wall);
  if (check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +s > 59)
    return null;
  let ms = wall - zoneOffset(wall, timeZone);
  ms = wall - zoneOffset(ms, timeZone);
  return new Date(ms).toISOString();
}

/** A saved message as the form shows it. */
export function valuesOf(m: MessageInput, shop: ShopContext = DEFAULT_SHOP): MessageFormValues {
  return {
    name: m.name,
    segment: m.segment,
    format: m.format,
    trigger: m.trigger.on,
    seconds: m.trigger.on === "delay" ? String(m.trigger.seconds) : "5",
    percent: m.trigger.on === "scroll" ? String(m.trigger.percent) : "50",
    priority: String(m.priority),
    pageTypes: [...m.pages.types],
    pathContains: m.pages.pathContains.join("\n"),
    oncePerSession: m.cap.oncePerSession,
    everyDays: m.cap.everyDays === null ? "" : String(m.cap.everyDays),
    headline: m.content.headline,
    body: m.content.body,
    buttonLabel: m.content.button?.label ?? "",
    buttonUrl: m.content.button?.url ?? "",
    imageUrl: m.content.imageUrl,
    alsoAll: [...m.audience.alsoAll],
    anyOf: [...m.audience.anyOf],
    exclude: [...m.audience.exclude],
    startsAt: m.schedule.startsAt ? localOfIso(m.schedule.startsAt, shop.timeZone) : "",
    endsAt: m.schedule.endsAt ? localOfIso(m.schedule.endsAt, shop.timeZone) : "",
    reward: m.reward.kind,
    ...discountValues(m.reward, shop.currency),
    holdoutPercent: String(m.holdoutPercent),
    active: m.active,
  };
}

function discountValues(
  reward: Reward,
  currency: string,
): Pick<
  MessageFormValues,
  | "discountType"
  | "discountValue"
  | "validDays"
  | "minimumSubtotal"
  | "referrerRewardType"
  | "referrerRewardValue"
> {
  if (reward.kind !== "firstPurchase" && reward.kind !== "referral")
    return {
      discountType: "percentage",
      discountValue: "10",
      validDays: "7",
      minimumSubtotal: "",
      referrerRewardType: "percentage",
      referrerRewardValue: "10",
    };
  const d = reward.discount;
  const valueText = (v: { type: string; value: number }) =>
    v.type === "amount" ? fromMinorUnits(v.value, currency) : String(v.value);
  // A first-purchase offer has no referrer: were it made a referral, the referrer's starts as the friend's.
  const mine = reward.kind === "referral" ? reward.referrerReward : d;
  return {
    discountType: d.type,
    discountValue: valueText(d),
    validDays: String(d.validDays),
    minimumSubtotal: d.minimumSubtotal ? fromMinorUnits(d.minimumSubtotal, currency) : "",
    referrerRewardType: mine.type,
    referrerRewardValue: valueText(mine),
  };
}

function text(form: FormData, key: string): string {
  const v = form.get(key);
  return typeof v === "string" ? v : "";
}

function list(form: FormData, key: string): string[] {
  return form.getAll(key).filter((v): v is string => typeof v === "string" && v !== "");
}

/** The posted form (checkboxes as in HTML: present when ticked, page types repeated). */
export function readForm(form: FormData): MessageFormValues {
  return {
    name: text(form, "name"),
    segment: text(form, "segment"),
    format: text(form, "format"),
    trigger: text(form, "trigger"),
    seconds: text(form, "seconds"),
    percent: text(form, "percent"),
    priority: text(form, "priority"),
    pageTypes: list(form, "pageTypes"),
    pathContains: text(form, "pathContains"),
    oncePerSession: form.has("oncePerSession"),
    everyDays: text(form, "everyDays"),
    headline: text(form, "headline"),
    body: text(form, "body"),
    buttonLabel: text(form, "buttonLabel"),
    buttonUrl: text(form, "buttonUrl"),
    imageUrl: text(form, "imageUrl"),
    alsoAll: list(form, "alsoAll"),
    anyOf: list(form, "anyOf"),
    exclude: list(form, "exclude"),
    startsAt: text(form, "startsAt"),
    endsAt: text(form, "endsAt"),
    reward: text(form, "reward"),
    discountType: text(form, "discountType"),
    discountValue: text(form, "discountValue"),
    validDays: text(form, "validDays"),
    minimumSubtotal: text(form, "minimumSubtotal"),
    referrerRewardType: text(form, "referrerRewardType"),
    referrerRewardValue: text(form, "referrerRewardValue"),
    holdoutPercent: text(form, "holdoutPercent"),
    active: form.has("active"),
  };
}

type Parsed = { kind: "empty" } | { kind: "number"; value: number } | { kind: "bad" };

/** Text typed into a number box: empty, a number, or something that is not a number. */
function numberOf(raw: string): Parsed {
  const s = raw.trim();
  if (!s) return { kind: "empty" };
  if (!/^[-+]?\d+(\.\d+)?$/.test(s)) return { kind: "bad" };
  return { kind: "number", value: Number(s) };
}

/**
 * The form's values as the validator's input. Numbers are converted here, and text that is not a
 * number is named as a problem of its own (the validator would only see it missing).
 */
export function inputOfValues(
  values: MessageFormValues,
  shop: ShopContext = DEFAULT_SHOP,
): { input: unknown; problems: MessageProblem[] } {
  const problems: MessageProblem[] = [];
  const num = (raw: string, field: string, empty: string | null): number | null | undefined => {
    const n = numberOf(raw);
    if (n.kind === "number") return n.value;
    if (n.kind === "bad") problems.push({ field, message: "must be a number" });
    else if (empty !== null) problems.push({ field, message: empty });
    return n.kind === "empty" && empty === null ? null : undefined;
  };
  let trigger: Record<string, unknown> = { on: values.trigger };
  if (values.trigger === "delay")
    trigger = { on: "delay", seconds: num(values.seconds, "trigger.seconds", "give the number of seconds") };
  if (values.trigger === "scroll")
    trigger = {
      on: "scroll",
      percent: num(values.percent, "trigger.percent", "give how far down the page, in percent"),
    };
  const priority = num(values.priority, "priority", null);
  const everyDays = num(values.everyDays, "cap.everyDays", null);
  const button =
    values.buttonLabel.trim() || values.buttonUrl.trim()
      ? { label: values.buttonLabel, url: values.buttonUrl }
      : null;
  const money = (raw: string, field: string, empty: number | null): number | undefined => {
    const s = raw.trim();
    if (!s) {
      if (empty === null) problems.push({ field, message: `give an amount in ${shop.currency}` });
      return empty ?? undefined;
    }
    try {
      return toMinorUnits(s, shop.currency);
    } catch {
      problems.push({
        field,
        message: `must be an amount in ${shop.currency}, like ${fromMinorUnits(500, shop.currency)}`,
      });
      return undefined;
    }
  };
  const time = (raw: string, field: string): string | null | undefined => {
    if (!raw.trim()) return null;
    const iso = isoOfLocal(raw, shop.timeZone);
    if (iso === null) problems.push({ field, message: "must be a date and time" });
    return iso ?? undefined;
  };
  let reward: Record<string, unknown> = { kind: values.reward || "none" };
  if (values.reward === "firstPurchase" || values.reward === "referral") {
    const amount = values.discountType === "amount";
    const value = amount
      ? money(values.discountValue, "reward.discount.value", null)
      : num(values.discountValue, "reward.discount.value", "give the discount, in percent");
    const validDays = num(values.validDays, "reward.discount.validDays", "give the number of days");
    const minimumSubtotal = money(values.minimumSubtotal, "reward.discount.minimumSubtotal", 0);
    reward = {
      kind: values.reward,
      discount: { type: values.discountType, value, validDays, minimumSubtotal },
    };
    if (values.reward === "referral") {
      const mine =
        values.referrerRewardType === "amount"
          ? money(values.referrerRewardValue, "reward.referrerReward.value", null)
          : num(
              values.referrerRewardValue,
              "reward.referrerReward.value",
              "give the referrer's reward, in percent",
            );
      reward.referrerReward = { type: values.referrerRewardType, value: mine };
    }
  }
  const holdoutPercent = num(values.holdoutPercent, "holdoutPercent", "give the share held out, in percent");
  const input = {
    name: values.name,
    segment: values.segment,
    format: values.format,
    trigger,
    ...(priority === undefined ? {} : { priority: priority ?? 0 }),
    pages: {
      types: values.pageTypes,
      pathContains: values.pathContains
        .split(/[,\n]/)
        .map((s) => s.trim())
        .filter(Boolean),
    },
    cap: {
      oncePerSession: values.oncePerSession,
      ...(everyDays === undefined ? {} : { everyDays }),
    },
    content: { headline: values.headline, body: values.body, button, imageUrl: values.imageUrl },
    audience: { alsoAll: values.alsoAll, anyOf: values.anyOf, exclude: values.exclude },
    schedule: {
      startsAt: time(values.startsAt, "schedule.startsAt"),
      endsAt: time(values.endsAt, "schedule.endsAt"),
    },
    reward,
    holdoutPercent,
    active: values.active,
  };
  return { input, problems };
}

/** Every problem with a form: ours (numbers) first, then the validator's for the other fields. */
function allProblems(input: unknown, own: MessageProblem[]): MessageProblem[] {
  try {
    parseMessage(input);
    return own;
  } catch (error) {
    if (!(error instanceof MessageError)) throw error;
    const named = new Set(own.map((p) => p.field));
    return [...own, ...error.problems.filter((p) => !named.has(p.field))];
  }
}

/** The shop's currency and time zone (a time zone the runtime does not know is read as UTC). */
export async function shopContext(db: PrismaClient, shopId: number): Promise<ShopContext> {
  const shop = await db.shop.findUnique({
    where: { id: shopId },
    select: { currency: true, ianaTimezone: true },
  });
  let timeZone = shop?.ianaTimezone || "UTC";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    timeZone = "UTC";
  }
  return { currency: shop?.currency || "USD", timeZone };
}

/** Saves the form (a new message when id is null); on a problem, the problems and the values as typed. */
export async function saveMessageForm(
  db: PrismaClient,
  shopId: number,
  id: number | null,
  form: FormData,
): Promise<{ ok: true; id: number } | { ok: false; problems: FormProblem[]; values: MessageFormValues }> {
  const values = readForm(form);
  const { input, problems } = inputOfValues(values, await shopContext(db, shopId));
  if (problems.length) return { ok: false, problems: placed(allProblems(input, problems)), values };
  try {
    if (id === null) return { ok: true, id: await createMessage(db, shopId, input) };
    await updateMessage(db, shopId, id, input);
    return { ok: true, id };
  } catch (error) {
    if (!(error instanceof MessageError)) throw error;
    return { ok: false, problems: placed(error.problems), values };
  }
}

/**
 * The message pages' one action. intent "save" (the form), "delete", or "active" with
 * active=on|off (the kill switch: the next storefront decision already uses it).
 */
export async function messageAction(
  db: PrismaClient,
  shopId: number,
  id: number | null,
  form: FormData,
): Promise<Response | MessageActionResult> {
  const intent = form.get("intent");
  const target = id ?? Number(form.get("id"));
  if (intent === "active") {
    if (!Number.isInteger(target)) throw new Response("Which message?", { status: 400 });
    const active = form.get("active") === "on";
    try {
      await setMessageActive(db, shopId, target, active);
    } catch (error) {
      if (!(error instanceof MessageError)) throw error;
      throw new Response(error.message, { status: 404 });
    }
    return { ok: true, active };
  }
  if (intent === "delete" && id !== null) {
    await deleteMessage(db, shopId, id);
    return redirect("/app/messages?deleted=1");
  }
  const saved = await saveMessageForm(db, shopId, id, form);
  // Nothing added to the list's address: the form that saved shows the toast (useToast).
  return saved.ok ? redirect("/app/messages") : saved;
}

export interface MessageListRow {
  id: number;
  name: string;
  segment: string;
  segmentName: string | null;
  format: string;
  trigger: string;
  priority: number;
  /** What it gives, in a few words ("10% first purchase"); null for nothing. */
  reward: string | null;
  holdoutPercent: number;
  active: boolean;
  shown: number;
  clicked: number;
  dismissed: number;
}

/**
 * A reward in a few words, for the list: "10% first purchase", "Referral: give 15%, get $10.00",
 * "Email sign-up".
 */
export function rewardSummary(reward: Reward, currency: string): string | null {
  if (reward.kind === "none") return null;
  if (reward.kind === "emailCapture") return "Email sign-up";
  if (reward.kind === "referral")
    return `Referral: ${referralTerms(reward, (minor) => formatMoney(minor, currency)).replace(/^G/, "g")}`;
  const d = reward.discount;
  const amount = d.type === "percentage" ? `${d.value}%` : formatMoney(d.value, currency);
  return `${amount} first purchase`;
}

/** The shop's messages, highest priority first, with what each did in the last 30 days. */
export async function messageList(db: PrismaClient, shopId: number, now: Date): Promise<MessageListRow[]> {
  const since = new Date(now.getTime() - 30 * 24 * 3600 * 1000);
  const [rows, stats, shop] = await Promise.all([
    listMessages(db, shopId),
    messageStats(db, shopId, since),
    shopContext(db, shopId),
  ]);
  return rows.map((r) => {
    const s = stats.get(r.id) ?? { shown: 0, clicked: 0, dismissed: 0 };
    return {
      id: r.id,
      name: r.input.name,
      segment: r.input.segment,
      segmentName: r.segmentName,
      format: FORMAT_LABELS[r.input.format],
      trigger: triggerLabel(r.input.trigger),
      priority: r.input.priority,
      reward: rewardSummary(r.input.reward, shop.currency),
      holdoutPercent: r.input.holdoutPercent,
      active: r.input.active,
      ...s,
    };
  });
}

export interface MessageFormPage {
  segments: { handle: string; name: string }[];
  shop: ShopContext;
  values: MessageFormValues;
  existing: { id: number; name: string; active: boolean; segmentMissing: boolean } | null;
}

/** The form's data: the shop's segments and the message's values (blank for a new one). */
export async function messageFormPage(
  db: PrismaClient,
  shopId: number,
  id: number | null,
  segment: string | null = null,
): Promise<MessageFormPage | null> {
  const [segments, shop] = await Promise.all([
    db.segment.findMany({
      where: { shopId },
      select: { handle: true, name: true },
      orderBy: { name: "asc" },
    }),
    shopContext(db, shopId),
  ]);
  if (id === null) {
    const known = segments.some((s) => s.handle === segment);
    return { segments, shop, values: blankValues(known && segment ? segment : ""), existing: null };
  }
  const row = await getMessage(db, shopId, id);
  if (!row) return null;
  return {
    segments,
    shop,
    values: valuesOf(row.input, shop),
    existing: {
      id: row.id,
      name: row.input.name,
      active: row.input.active,
      segmentMissing: row.segmentName === null,
    },
  };
}
