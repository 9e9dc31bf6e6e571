/**
 * `npm run slice -- segments create|update|delete`: segments as files, for a merchant's developer.
 * A segment file is JSON:
 *
 *   { "name": "VIP in Canada", "handle": "vip-canada", "description": "…",
 *     "minSize": 200, "maxSize": 5000,
 *     "rule": { "version": 1, "match": { "all": [ … ] } } }
 *
 * It is checked by the same validator and saved by the same code as the admin's builder
 * (saveSegment: parseRule, handle and size checks, recompute), so a file the CLI accepts is a
 * segment the admin shows, and the other way round. Every problem names the file and the JSON path
 * in it ("vip.json: rule.match.all[1].value: must be …"). `update` takes only the keys it changes
 * (or a bare rule, `{ "version": 1, "match": … }`); the others keep their saved values.
 */
import type { PrismaClient } from "@prisma/client";
import { z } from "zod";
import { handleFrom } from "./draft";
import { deleteSegment, saveSegment } from "./builder.server";
import { shopSegments } from "./store.server";
import { CliError } from "./cli.server";

const segmentFile = z
  .object({
    name: z.string(),
    description: z.string(),
    handle: z.string(),
    minSize: z.number().int("must be a whole number"),
    maxSize: z.number().int("must be a whole number"),
    rule: z.unknown(),
  })
  .partial()
  .strict();
type SegmentFile = z.infer<typeof segmentFile>;

/** A path as a reader of the JSON file writes it: ["rule","match","all",1,"value"] → rule.match.all[1].value. */
export function jsonPath(parts: (string | number)[]): string {
  let out = "";
  for (const part of parts)
    out += typeof part === "number" || /^\d+$/.test(String(part)) ? `[${part}]` : out ? `.${part}` : part;
  return out || "(the whole file)";
}

function refuse(file: string, problems: { path: string; message: string }[]): never {
  throw new CliError(problems.map((p) => `${file}: ${p.path}: ${p.message}`).join("\n"));
}

/** Reads a segment file: JSON, an object, only known keys of the right types. */
function parseFile(file: string, text: string): { content: SegmentFile; bareRule: boolean } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file}: is not JSON (${(error as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new CliError(`${file}: must be a JSON object with "name" and "rule" (see segments help)`);
  // A bare rule ({ version, match }) is the rule alone.
  if ("match" in json) return { content: { rule: json }, bareRule: true };
  const parsed = segmentFile.safeParse(json);
  if (!parsed.success)
    refuse(
      file,
      parsed.error.issues.map((i) => ({
        path: jsonPath(i.path),
        message:
          i.code === "unrecognized_keys"
            ? `unknown key${i.keys.length > 1 ? "s" : ""} ${i.keys.map((k) => `"${k}"`).join(", ")} (a segment file has name, handle, description, minSize, maxSize and rule)`
            : i.message,
      })),
    );
  return { content: parsed.data, bareRule: false };
}

/** saveSegment's refusals, as lines naming the file and the path in it. */
function pathsOf(
  fields: Record<string, string>,
  problems: { path: string; message: string }[],
  bareRule: boolean,
) {
  return [
    ...Object.entries(fields).map(([key, message]) => ({ path: key, message })),
    ...problems.map((p) => ({
      path: jsonPath([...(bareRule ? [] : ["rule"]), ...p.path.split(".").filter(Boolean)]),
      message: p.message,
    })),
  ];
}

export async function createOrUpdateSegment(
  db: PrismaClient,
  shopId: number,
  handle: string | null,
  file: string,
  text: string,
  now: Date,
  out: (line: string) => unknown,
): Promise<number> {
  const { content, bareRule } = parseFile(file, text);
  let current:
    | { name: string; description: string; handle: string; minSize: number; maxSize: number; rule: string }
    | undefined;
  if (handle !== null) {
    const { segments } = await shopSegments(db, shopId);
    current = segments.find((s) => s.handle === handle);
    if (!current) throw new CliError(`no segment "${handle}" to update; see: segments list`);
  } else {
    if (bareRule)
      throw new CliError(`${file}: a new segment needs "name" and "rule"; this file is a rule alone`);
    const missing = (["name", "rule"] as const).filter((k) => content[k] === undefined);
    if (missing.length)
      refuse(
        file,
        missing.map((k) => ({ path: k, message: "is missing" })),
      );
  }
  const name = content.name ?? current?.name ?? "";
  const form = {
    name,
    description: content.description ?? current?.description ?? "",
    handle: content.handle ?? current?.handle ?? handleFrom(name),
    minSize: String(content.minSize ?? current?.minSize ?? 200),
    maxSize: String(content.maxSize ?? current?.maxSize ?? 5000),
    rule: content.rule === undefined ? current!.rule : JSON.stringify(content.rule),
  };
  const saved = await saveSegment(db, shopId, handle, form, now);
  if (!saved.ok) refuse(file, pathsOf(saved.fields, saved.problems, bareRule));
  out(
    `${handle === null ? "created" : "updated"} ${saved.handle}: ${saved.size} ${saved.size === 1 ? "member" : "members"} at ${now.toISOString()}`,
  );
  return 0;
}

/** `segments delete <handle>`: the builder's own delete (same refusals), with the CLI's hints. */
export async function deleteSegmentCommand(
  db: PrismaClient,
  shopId: number,
  handle: string,
  out: (line: string) => unknown,
): Promise<number> {
  const deleted = await deleteSegment(db, shopId, handle);
  if (!deleted.ok) {
    if (deleted.message.startsWith("there is no segment"))
      throw new CliError(`no segment "${handle}" to delete; see: segments list`);
    const hint = deleted.message.includes("built-in segment")
      ? " with segments update"
      : deleted.message.includes("active message")
        ? " (messages pause <id>)"
        : "";
    throw new CliError(deleted.message + hint);
  }
  out(`deleted ${handle}`);
  return 0;
}
