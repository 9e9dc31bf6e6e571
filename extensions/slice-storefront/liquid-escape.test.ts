/**
 * The question form block with hostile settings (what a merchant, or whoever edits the theme, can
 * type): rendered with Liquid, every setting comes out as escaped text in its element or
 * attribute. No tag is opened, no attribute is added, and Liquid in a setting is not run.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Liquid, Tag, type TagToken, type TopLevelToken } from "liquidjs";
import { describe, expect, it } from "vitest";
import { INJECTIONS } from "../../app/security/hostile";

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  "#39": "'",
  "#34": '"',
  "#x27": "'",
};
const unescape = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|#39|#34|#x27);/g, (_, name: string) => ENTITIES[name]);

const BLOCK = readFileSync(path.join(import.meta.dirname, "blocks", "slice-form.liquid"), "utf8");

function engine(): Liquid {
  const liquid = new Liquid({ outputEscape: undefined });
  liquid.registerTag(
    "schema",
    class extends Tag {
      constructor(token: TagToken, remain: TopLevelToken[], l: Liquid) {
        super(token, remain, l);
        while (remain.length) if ((remain.shift() as TagToken).name === "endschema") return;
      }
      render() {
        return "";
      }
    },
  );
  liquid.registerFilter("t", (key: string) => key);
  liquid.registerFilter("handleize", (s: unknown) =>
    String(s ?? "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, ""),
  );
  return liquid;
}

describe("the question form block with hostile settings", () => {
  it("renders every setting as escaped text: no tag, no attribute, no Liquid run", async () => {
    const liquid = engine();
    for (const text of INJECTIONS) {
      const html = await liquid.parseAndRender(BLOCK, {
        block: {
          id: "b1",
          shopify_attributes: "",
          settings: {
            question: text,
            key: text,
            answer_1: text,
            answer_2: "Other",
            submit: text,
            thanks: text,
          },
        },
        shop: { name: "SECRET-SHOP-NAME" },
      });
      // The same elements whatever the text: nothing opened, and the text is there, escaped.
      expect(html, text).not.toMatch(/<script|<img/i);
      expect(html.match(/<[a-z]+/g), text).toEqual([
        "<form",
        "<input",
        "<fieldset",
        "<legend",
        "<div",
        "<input",
        "<label",
        "<div",
        "<input",
        "<label",
        "<button",
        "<p",
      ]);
      const legend = /<legend>([^<]*)<\/legend>/.exec(html)?.[1] ?? "";
      expect(unescape(legend), text).toBe(text);
      // No attribute is added: every attribute inside a tag is one the block writes.
      for (const tag of html.matchAll(/<[a-z]+\s([^>]*)>/g))
        for (const attribute of tag[1].replace(/"[^"]*"/g, '""').matchAll(/([a-z-]+)=/g))
          expect(
            ["class", "method", "action", "type", "name", "value", "id", "for", "role", "tabindex"],
            text,
          ).toContain(attribute[1]);
      expect(html, text).not.toContain("SECRET-SHOP-NAME");
      expect(html).not.toContain("49");
      // Each attribute value stays one attribute: no quote gets out unescaped.
      for (const value of html.matchAll(/value="([^"]*)"/g)) expect(value[1]).not.toMatch(/[<>]/);
    }
  });
});
