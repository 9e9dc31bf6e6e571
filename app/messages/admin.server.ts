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
  triggerLabel,
  type MessageInput,
  type MessageProblem,
} from "../engine/message";
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
  active: boolean;
}

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
    active: "active",
  };
  if (field in exact) return exact[field];
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
    active: true,
  };
}

/** A saved message as the form shows it. */
export function valuesOf(m: MessageInput): MessageFormValues {
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
    active: m.active,
  };
}

function text(form: FormData, key: string): string {
  const v = form.get(key);
  return typeof v === "string" ? v : "";
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
    pageTypes: form.getAll("pageTypes").filter((v): v is string => typeof v === "string" && v !== ""),
    pathContains: text(form, "pathContains"),
    oncePerSession: form.has("oncePerSession"),
    everyDays: text(form, "everyDays"),
    headline: text(form, "headline"),
    body: text(form, "body"),
    buttonLabel: text(form, "buttonLabel"),
    buttonUrl: text(form, "buttonUrl"),
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
export function inputOfValues(values: MessageFormValues): { input: unknown; problems: MessageProblem[] } {
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
    content: { headline: values.headline, body: values.body, button },
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

/** Saves the form (a new message when id is null); on a problem, the problems and the values as typed. */
export async function saveMessageForm(
  db: PrismaClient,
  shopId: number,
  id: number | null,
  form: FormData,
): Promise<{ ok: true; id: number } | { ok: false; problems: FormProblem[]; values: MessageFormValues }> {
  const values = readForm(form);
  const { input, problems } = inputOfValues(values);
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
  return saved.ok ? redirect(`/app/messages?saved=${saved.id}`) : saved;
}

export interface MessageListRow {
  id: number;
  name: string;
  segment: string;
  segmentName: string | null;
  format: string;
  trigger: string;
  priority: number;
  active: boolean;
  shown: number;
  clicked: number;
  dismissed: number;
}

/** The shop's messages, highest priority first, with what each did in the last 30 days. */
export async function messageList(db: PrismaClient, shopId: number, now: Date): Promise<MessageListRow[]> {
  const since = new Date(now.getTime() - 30 * 24 * 3600 * 1000);
  const [rows, stats] = await Promise.all([listMessages(db, shopId), messageStats(db, shopId, since)]);
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
      active: r.input.active,
      ...s,
    };
  });
}

export interface MessageFormPage {
  segments: { handle: string; name: string }[];
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
  const segments = await db.segment.findMany({
    where: { shopId },
    select: { handle: true, name: true },
    orderBy: { name: "asc" },
  });
  if (id === null) {
    const known = segments.some((s) => s.handle === segment);
    return { segments, values: blankValues(known && segment ? segment : ""), existing: null };
  }
  const row = await getMessage(db, shopId, id);
  if (!row) return null;
  return {
    segments,
    values: valuesOf(row.input),
    existing: {
      id: row.id,
      name: row.input.name,
      active: row.input.active,
      segmentMissing: row.segmentName === null,
    },
  };
}
