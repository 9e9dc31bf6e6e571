/**
 * A private copy of the built app for one benchmark run: the working tree's build/ may be rebuilt
 * (by ensureBuild, after someone edits app/) while servers of this run are still starting from it.
 * The copy lives under tmp/ in the project, so that the build's imports still find node_modules;
 * prisma/ is linked for the generated PostgreSQL client.
 */
import { cpSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { ensureBuild } from "../dev/demo";

export interface BuildSnapshot {
  dir: string;
  remove(): void;
}

export function snapshotBuild(): BuildSnapshot {
  ensureBuild();
  const dir = path.resolve("tmp", `bench-build-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(path.resolve("build"), path.join(dir, "build"), { recursive: true });
  symlinkSync(path.resolve("prisma"), path.join(dir, "prisma"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
