/**
 * Rule JSON from the admin can never become SQL: random and hostile rules are either refused by
 * parseRule with the path of the wrong part, or compile to SQL whose text holds none of the
 * rule's strings (every value is a parameter), which runs on this database without error and
 * matches a customer whose fields hold the same hostile text verbatim.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import prisma, { dialectOfClient } from "../db.server";
import { compile } from "../engine/sql";
import {
  FIELDS,
  OPERATORS,
  operatorsFor,
  parseRule,
  RuleError,
  type Field,
  type FieldSpec,
  type Rule,
} from "../engine/rules";
import { deeplyNested, hostileValue, INJECTIONS, mutate, pick, seeded } from "./hostile";

const now = new Date("2026-11-01T00:00:00Z");
let shopId = 0;
const HOSTILE_CITY = `'; DROP TABLE "Customer";-- {{ shop.name }} <script>alert(1)</script> \u202e🧨`;

beforeAll(async () => {
  shopId = (await prisma.shop.create({ data: { domain: "rules-fuzz.myshopify.com" } })).id;
  await prisma.customer.createMany({
    data: [
      { shopId, shopifyId: "1", city: HOSTILE_CITY, tags: `|${INJECTIONS[3]}|`, shopifyUpdatedAt: now },
      { shopId, shopifyId: "2", city: "Lyon", shopifyUpdatedAt: now },
    ],
  });
});
afterAll(() => prisma.$disconnect());

const FIELD_NAMES = Object.keys(FIELDS) as Field[];

/** A value of roughly the right kind for a condition (sometimes hostile text where text goes). */
function valueFor(random: () => number, op: string): unknown {
  const text = () => (random() < 0.6 ? pick(random, INJECTIONS) : `v${Math.floor(random() * 100)}`);
  switch (op) {
    case "between":
      return [Math.floor(random() * 100), 100 + Math.floor(random() * 100)];
    case "in":
    case "notIn":
      return [text(), text()];
    case "before":
    case "after":
      return "2026-01-01";
    case "isSet":
    case "isNotSet":
    case "isTrue":
    case "isFalse":
    case "withinLast":
    case "notWithinLast":
      return undefined;
    default:
      return random() < 0.5 ? text() : Math.floor(random() * 10_000);
  }
}

function randomNode(random: () => number, depth: number): unknown {
  const r = random();
  if (depth < 4 && r < 0.15) return { all: [randomNode(random, depth + 1), randomNode(random, depth + 1)] };
  if (depth < 4 && r < 0.3) return { any: [randomNode(random, depth + 1), randomNode(random, depth + 1)] };
  if (depth < 4 && r < 0.4) return { not: randomNode(random, depth + 1) };
  const field = pick(random, FIELD_NAMES);
  const op = random() < 0.9 ? pick(random, operatorsFor(field)) : pick(random, OPERATORS);
  const condition: Record<string, unknown> = { field, op };
  const value = valueFor(random, op);
  if (value !== undefined) condition.value = value;
  if ((FIELDS[field] as FieldSpec).windowed || op === "withinLast" || op === "notWithinLast")
    condition.days = pick(random, [7, 30, 90]);
  return condition;
}

/** Every string anywhere in a JSON value. */
function stringsIn(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === "object") return Object.values(value).flatMap(stringsIn);
  return [];
}

describe("rule JSON from the admin", () => {
  it("is refused naming the wrong part, or compiles to SQL that holds none of its strings and runs", async () => {
    const random = seeded(20261126);
    const dialect = dialectOfClient(prisma);
    let compiled = 0;
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const valid = { version: 1, match: randomNode(random, 0) };
      const input = random() < 0.4 ? mutate(valid, random) : valid;
      let rule: Rule;
      try {
        rule = parseRule(input, () => null);
      } catch (error) {
        expect(error, JSON.stringify(input)).toBeInstanceOf(RuleError);
        for (const problem of (error as RuleError).problems) {
          expect(problem.path, JSON.stringify(input)).toMatch(/^(rule|version|match)(\.|$)/);
          expect(problem.message.length).toBeGreaterThan(3);
        }
        refused++;
        continue;
      }
      const { sql, params } = compile(rule, dialect, { now, shopId });
      // Strings the compiler itself writes (field names, operators) are not the input's text.
      const written = stringsIn(input).filter(
        (s) => s.length > 2 && !(s in FIELDS) && !OPERATORS.includes(s as never),
      );
      for (const text of written)
        expect(sql, `"${text}" is in the SQL of ${JSON.stringify(input)}`).not.toContain(text);
      await prisma.$queryRawUnsafe(sql, ...params).catch((error: Error) => {
        throw new Error(
          `${JSON.stringify(input)} → ${sql} ${JSON.stringify(params)}: ${error.message.slice(-400)}`,
        );
      });
      compiled++;
    }
    // Both kinds happened, many times each.
    expect(compiled).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(50);
    expect(await prisma.customer.count({ where: { shopId } })).toBe(2);
  });

  it("matches hostile text as a plain value: the customer whose city or tag it is, nobody else", async () => {
    const members = async (match: unknown) => {
      const { sql, params } = compile(parseRule({ version: 1, match }), dialectOfClient(prisma), {
        now,
        shopId,
      });
      expect(sql).not.toContain("DROP");
      const rows = await prisma.$queryRawUnsafe<{ id: string }[]>(sql, ...params);
      return rows.map((r) => r.id);
    };
    expect(await members({ field: "customer.city", op: "eq", value: HOSTILE_CITY })).toEqual(["1"]);
    expect(
      await members({ field: "customer.city", op: "contains", value: `'; DROP TABLE "Customer";--` }),
    ).toEqual(["1"]);
    expect(await members({ field: "customer.tags", op: "contains", value: INJECTIONS[3] })).toEqual(["1"]);
    expect(await members({ field: "customer.city", op: "in", value: ["%", "_", "' OR '1'='1"] })).toEqual([]);
    expect(await members({ field: "customer.city", op: "contains", value: "%" })).toEqual([]);
  });

  it("refuses rules nested too deep, or too big, with a RuleError rather than a crash", () => {
    for (const [key, inner] of [
      ["not", `{"field":"customer.city","op":"isSet"}`],
      ["all", null],
    ] as const) {
      const depth = 20_000;
      const json =
        key === "not"
          ? `{"version":1,"match":${'{"not":'.repeat(depth)}${inner}${"}".repeat(depth)}}`
          : `{"version":1,"match":${'{"all":['.repeat(depth)}${"]}".repeat(depth)}}`;
      expect(() => parseRule(JSON.parse(json)), key).toThrow(RuleError);
    }
    expect(() => parseRule(JSON.parse(deeplyNested(5000, "match")))).toThrow(RuleError);
    const wide = {
      version: 1,
      match: { any: Array.from({ length: 5000 }, () => ({ field: "customer.city", op: "isSet" })) },
    };
    expect(() => parseRule(wide)).toThrow(/match.any: Array must contain at most 50/);
    const random = seeded(7);
    for (let i = 0; i < 200; i++) expect(() => parseRule(hostileValue(random))).toThrow(RuleError);
  });
});
