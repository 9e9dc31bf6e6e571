/**
 * The admin's actions fuzzed through their routes, signed in as the shop: wrong types, malformed
 * JSON and hostile text in every form field. A bad form is refused naming the field (and nothing
 * is saved); hostile text that is allowed is saved verbatim, to be rendered by React (which
 * escapes it) in the admin and sent as JSON data to the storefront.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma from "../db.server";
import { ensurePresets } from "../segments/store.server";
import { blankValues } from "../messages/admin.server";
import * as home from "../routes/app.sync";
import * as segmentNew from "../routes/app.segments.new";
import * as segmentPage from "../routes/app.segments.$handle";
import * as segmentExport from "../routes/app.segments.$handle.export";
import * as segmentPreview from "../routes/app.segments.preview";
import * as segmentOptions from "../routes/app.segments.options";
import * as messageNew from "../routes/app.messages.new";
import * as messageList from "../routes/app.messages._index";
import * as dataRequest from "../routes/app.data-requests.$id";
import { adminAs, call, type Route } from "./admin-request";
import { deeplyNested, hostileValue, INJECTIONS, MALFORMED_JSON, seeded } from "./hostile";
import { isStorableText } from "../engine/rules";

const SHOP = "admin-fuzz.myshopify.com";
let shopId = 0;
let request: Awaited<ReturnType<typeof adminAs>>;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: SHOP } })).id;
  await ensurePresets(prisma, shopId);
  request = await adminAs(SHOP);
});
afterAll(async () => {
  delete process.env.SLICE_DEV_LOGIN;
  await prisma.$disconnect();
});

const RULE = JSON.stringify({ version: 1, match: { field: "customer.ordersCount", op: "gte", value: 1 } });
const segmentForm = (overrides: Record<string, string> = {}) => ({
  name: "Buyers",
  description: "",
  handle: "buyers",
  minSize: "0",
  maxSize: "5000",
  rule: RULE,
  ...overrides,
});

describe("the admin's actions with hostile input", () => {
  it("home: an unknown action or a malformed event id is refused 400 naming it", async () => {
    for (const form of [{ intent: "nuke" }, { intent: "" }, {}] as Record<string, string>[]) {
      const answer = await call(home.action as Route, request("/app/sync", { form }));
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(/Unknown action/);
    }
    for (const id of ["abc", "1e3", "-1", "1.5", INJECTIONS[0], "9".repeat(40)]) {
      const answer = await call(
        home.action as Route,
        request("/app/sync", { form: { intent: "replay", id } }),
      );
      expect(answer.status, id).toBe(400);
      expect(answer.text).toMatch(/^id: must be an event id/);
    }
  });

  it("segments: a malformed form is refused naming each field, and nothing is saved", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ handle: INJECTIONS[0] }, /"handle":"use lower-case letters/],
      [{ handle: "Buyers" }, /"handle":"use lower-case/],
      [{ name: "" }, /"name":"give the segment a name"/],
      [{ minSize: "lots" }, /"minSize":/],
      [{ maxSize: "-5" }, /"maxSize":/],
      [{ rule: "{" }, /"path":"rule","message":"is not JSON"/],
      [{ rule: deeplyNested(5000, "match") }, /nested more than 64 levels deep/],
      [
        {
          rule: JSON.stringify({
            version: 1,
            match: { field: "customer.city", op: "eq", value: "a\u0000b" },
          }),
        },
        /"path":"match.value","message":"must be text without NUL/,
      ],
      [
        {
          rule: JSON.stringify({
            version: 1,
            match: { field: `customer.city"; DROP TABLE "Customer";--`, op: "eq", value: "x" },
          }),
        },
        /"path":"match.field","message":"unknown field/,
      ],
    ];
    for (const body of MALFORMED_JSON)
      cases.push([{ rule: body }, /"rule":"the rule is missing"|"path":"(rule|version|match)[^"]*"/]);
    for (const [overrides, named] of cases) {
      const answer = await call(
        segmentNew.action as Route,
        request("/app/segments/new", { form: segmentForm(overrides) }),
      );
      expect(answer.status, JSON.stringify(overrides)).toBe(200);
      expect(answer.text, JSON.stringify(overrides)).toMatch(/"ok":false/);
      expect(answer.text, JSON.stringify(overrides)).toMatch(named);
    }
    expect(await prisma.segment.count({ where: { shopId, handle: "buyers" } })).toBe(0);
  });

  it("segments: hostile names and descriptions are saved verbatim, or refused naming the field when no database can hold them", async () => {
    for (const [i, text] of INJECTIONS.entries()) {
      const handle = `hostile-${i}`;
      const answer = await call(
        segmentNew.action as Route,
        request("/app/segments/new", { form: segmentForm({ handle, name: text, description: text }) }),
      );
      // A form carries text as UTF-8: half a surrogate pair arrives as U+FFFD, a NUL as it is.
      const arrived = new URLSearchParams({ text }).get("text")!;
      if (!isStorableText(arrived)) {
        expect(answer.text).toMatch(
          /"fields":\{"name":"must be text without NUL characters or broken Unicode"/,
        );
        expect(await prisma.segment.count({ where: { shopId, handle } })).toBe(0);
        continue;
      }
      expect(answer.status, `${text}: ${answer.text}`).toBe(302);
      expect(
        await prisma.segment.findUniqueOrThrow({ where: { shopId_handle: { shopId, handle } } }),
      ).toMatchObject({
        name: arrived,
        description: arrived,
      });
    }
  });

  it("segments: the CSV export defuses spreadsheet formulas in customers' text and quotes the rest", async () => {
    const names = [
      '=HYPERLINK("http://evil.example","x")',
      "+1+1",
      "-2",
      "@SUM(A1)",
      "\t=1+1",
      "\r=1+1",
      'Ann, "the" one',
    ];
    await prisma.customer.createMany({
      data: names.map((firstName, i) => ({
        shopId,
        shopifyId: String(800 + i),
        firstName,
        email: `csv${i}@example.com`,
        ordersCount: 1,
        shopifyUpdatedAt: new Date(),
      })),
    });
    await call(
      segmentNew.action as Route,
      request("/app/segments/new", { form: segmentForm({ handle: "csv-buyers" }) }),
    );
    const csv = await call(segmentExport.loader as Route, request("/app/segments/csv-buyers/export"), {
      handle: "csv-buyers",
    });
    expect(csv.status).toBe(200);
    const cells = csv.text.split("\n").slice(1).filter(Boolean);
    for (const line of cells) expect(line.split(",")[2] ?? "", line).not.toMatch(/^"?[=+\-@\t\r]/);
    expect(csv.text).toContain(`"Ann, ""the"" one"`);
  });

  it("segments: the live preview, the pickers and the push form refuse bad input with 4xx or a named problem", async () => {
    for (const body of [...MALFORMED_JSON, deeplyNested(3000)]) {
      const answer = await call(segmentPreview.action as Route, request("/app/segments/preview", { body }));
      expect([200, 400], body).toContain(answer.status);
      expect(answer.text).toMatch(/"ok":false/);
      expect(answer.text).toMatch(/"path":"/);
    }
    const random = seeded(11);
    for (let i = 0; i < 100; i++) {
      const rule = hostileValue(random);
      const answer = await call(
        segmentPreview.action as Route,
        request("/app/segments/preview", { json: { rule } }),
      );
      expect(answer.status, JSON.stringify(rule)).toBe(200);
      expect(answer.text).toMatch(/"ok":false,"problems":\[\{"path":"/);
    }
    for (const kind of ["", "users", INJECTIONS[0]]) {
      const answer = await call(
        segmentOptions.loader as Route,
        request(`/app/segments/options?kind=${encodeURIComponent(kind)}`),
      );
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(/kind must be one of/);
    }
    for (const q of INJECTIONS.filter(isStorableText)) {
      const answer = await call(
        segmentOptions.loader as Route,
        request(`/app/segments/options?kind=product&q=${encodeURIComponent(q)}`),
      );
      expect(answer.status, q).toBe(200);
    }
    await call(
      segmentNew.action as Route,
      request("/app/segments/new", { form: segmentForm({ handle: "pushable" }) }),
    );
    for (const form of [{ intent: "push-options", tag: "maybe" }, { intent: INJECTIONS[0] }, {}] as Record<
      string,
      string
    >[]) {
      const answer = await call(segmentPage.action as Route, request("/app/segments/pushable", { form }), {
        handle: "pushable",
      });
      expect(answer.text, JSON.stringify(form)).toMatch(
        /"ok":false,"message":"That isn't a push action this page knows."/,
      );
    }
    const segment = await prisma.segment.findUniqueOrThrow({
      where: { shopId_handle: { shopId, handle: "pushable" } },
    });
    expect(segment).toMatchObject({ pushTag: false, pushMetafield: false });
  });

  it("messages: hostile text is saved verbatim; text no database can hold, and script links, are refused naming the field", async () => {
    const form = (overrides: Record<string, string>) => {
      const values = {
        ...blankValues("first-time-visitors"),
        name: "Welcome",
        headline: "Hello",
        ...overrides,
      };
      const out: Record<string, string> = { intent: "save" };
      for (const [key, value] of Object.entries(values)) {
        if (Array.isArray(value)) continue;
        if (typeof value === "boolean") {
          if (value) out[key] = "on";
        } else out[key] = String(value);
      }
      return out;
    };
    for (const [i, text] of INJECTIONS.entries()) {
      const name = `Hostile ${i}`;
      const answer = await call(
        messageNew.action as Route,
        request("/app/messages/new", {
          form: form({ name, headline: text, body: text, buttonLabel: text, buttonUrl: "/cart" }),
        }),
      );
      const saved = await prisma.message.findFirst({ where: { shopId, name } });
      if (!isStorableText(text) || text.trim() !== text) {
        if (answer.status === 302) expect(saved).not.toBeNull();
        else {
          expect(answer.text).toMatch(/"field":"content\.(headline|body|button\.label)"/);
          expect(saved).toBeNull();
        }
        continue;
      }
      expect(answer.status, `${text}: ${answer.text}`).toBe(302);
      expect(saved).toMatchObject({ headline: text, body: text, buttonLabel: text });
    }
    for (const buttonUrl of [
      "javascript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "//evil.example",
      "http://insecure.example",
    ]) {
      const answer = await call(
        messageNew.action as Route,
        request("/app/messages/new", {
          form: form({ name: `Link ${buttonUrl}`, buttonLabel: "Go", buttonUrl }),
        }),
      );
      expect(answer.status, buttonUrl).toBe(200);
      expect(answer.text, buttonUrl).toMatch(/"field":"content\.button\.url"/);
      expect(await prisma.message.count({ where: { shopId, name: `Link ${buttonUrl}` } })).toBe(0);
    }
    for (const id of ["abc", "", INJECTIONS[0], "999999"]) {
      const answer = await call(
        messageList.action as Route,
        request("/app/messages", { form: { intent: "active", id, active: "on" } }),
      );
      expect([400, 404], id).toContain(answer.status);
    }
    for (const id of ["abc", "-1", "0", "1e3", INJECTIONS[0], "9".repeat(30)]) {
      const answer = await call(
        dataRequest.loader as Route,
        request(`/app/data-requests/${encodeURIComponent(id)}`),
        { id },
      );
      expect(answer.status, id).toBe(404);
    }
  });
});
