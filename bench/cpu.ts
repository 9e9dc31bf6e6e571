/**
 * CPU time of processes on this machine, from /proc (Linux; 100 ticks a second), in ms: what a
 * bench quotes per unit of work when the machine is shared and wall-clock latency is disturbed.
 */
import { readFileSync, readdirSync } from "node:fs";
import pg from "pg";

/** The fields after a /proc/<pid>/stat line's command name (field 3 onward: [0] is the state). */
function stat(pid: number | string): string[] {
  return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
}

/** One process's own CPU so far (user + system), in ms; 0 when it has ended. */
export function processCpuMs(pid: number): number {
  try {
    const f = stat(pid);
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/**
 * A process's CPU and its descendants' alive now, in ms (tsx runs a .ts file in a child process:
 * spawnTs's child is tsx's launcher, the server its child).
 */
export function processTreeCpuMs(root: number): number {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc"))
    if (/^\d+$/.test(entry))
      try {
        parent.set(Number(entry), Number(stat(entry)[1]));
      } catch {
        // ended meanwhile
      }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p && hops < 20; p = parent.get(p), hops++)
      if (p === root) return true;
    return false;
  };
  let ms = 0;
  for (const pid of parent.keys()) if (inTree(pid)) ms += processCpuMs(pid);
  return ms;
}

/**
 * A PostgreSQL server's CPU so far, in ms: the postmaster's own and its ended children's
 * (cutime, cstime), plus every backend alive now.
 */
export function postgresCpuMs(postmaster: number): number {
  const own = stat(postmaster);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync("/proc"))
    if (/^\d+$/.test(entry))
      try {
        const f = stat(entry);
        if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
      } catch {
        // ended meanwhile (its time is in the postmaster's cutime now)
      }
  return ticks * 10;
}

/** The postmaster's pid of the server at `url` (the parent of its checkpointer). */
export async function postmasterOf(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const [{ pid }] = (
      await client.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
      )
    ).rows;
    return Number(stat(pid)[1]);
  } finally {
    await client.end();
  }
}
