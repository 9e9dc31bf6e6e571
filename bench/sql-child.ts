/**
 * Runs SELECTs for bench/segments.ts in its own process, so that a query whose plan goes quadratic
 * on a big shop can be stopped (better-sqlite3 is synchronous: only killing the process ends it).
 * Messages in: { op: "run", label, sql, params } | { op: "compare", a, b } | { op: "ids", label } |
 * { op: "explain", sql, params }.
 */
import Database from "better-sqlite3";

export type ChildRequest =
  | { op: "run"; label: string; sql: string; params: unknown[] }
  | { op: "compare"; a: string; b: string }
  | { op: "ids"; label: string }
  | { op: "explain"; sql: string; params: unknown[] };

export interface RunReply {
  ms: number;
  rows: number;
  members: number;
}
export interface CompareReply {
  onlyA: string[];
  onlyB: string[];
  onlyACount: number;
  onlyBCount: number;
}

if (process.send) {
  const db = new Database(process.argv[2], { readonly: true });
  const results = new Map<string, string[]>();
  process.on("message", (message: ChildRequest) => {
    try {
      if (message.op === "run") {
        const statement = db.prepare(message.sql).pluck();
        const started = performance.now();
        const ids = statement.all(...message.params) as string[];
        const ms = performance.now() - started;
        results.set(message.label, ids);
        process.send!({ ok: { ms, rows: ids.length, members: new Set(ids).size } satisfies RunReply });
      } else if (message.op === "compare") {
        const a = new Set(results.get(message.a) ?? []);
        const b = new Set(results.get(message.b) ?? []);
        const onlyA = [...a].filter((id) => !b.has(id));
        const onlyB = [...b].filter((id) => !a.has(id));
        process.send!({
          ok: {
            onlyA: onlyA.slice(0, 3),
            onlyB: onlyB.slice(0, 3),
            onlyACount: onlyA.length,
            onlyBCount: onlyB.length,
          } satisfies CompareReply,
        });
      } else if (message.op === "ids") {
        process.send!({ ok: results.get(message.label) ?? [] });
      } else {
        const rows = db.prepare(`EXPLAIN QUERY PLAN ${message.sql}`).all(...message.params) as {
          id: number;
          parent: number;
          detail: string;
        }[];
        const depth = new Map<number, number>([[0, -1]]);
        const text = rows
          .map((r) => {
            const d = (depth.get(r.parent) ?? -1) + 1;
            depth.set(r.id, d);
            return `${"  ".repeat(d)}${r.detail}`;
          })
          .join("\n");
        process.send!({ ok: text });
      }
    } catch (error) {
      process.send!({ error: (error as Error).message });
    }
  });
}
