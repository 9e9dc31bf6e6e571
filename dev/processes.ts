/** Starting servers in their own processes, so the load generator does not share their core. */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

export interface Spawned {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const tsx = path.resolve("node_modules/tsx/dist/cli.mjs");

/**
 * Node's options for the app server as package.json's `start` script gives them (none today: see
 * the README's "The app's GC" for why V8's default young generation), so that the demo, the tests
 * and the benches run the server as production does, whatever options that script comes to hold.
 */
export function serverNodeOptions(): string[] {
  const scripts = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> })
    .scripts;
  const words = scripts.start.split(/\s+/);
  return words.slice(1, words.indexOf("build/server.mjs")).filter((w) => w.startsWith("--"));
}

/**
 * Runs a TypeScript file with tsx, or a .mjs/.js file with plain node; the app server
 * (build/server.mjs) with `serverNodeOptions()` unless the caller sets NODE_OPTIONS itself.
 */
export async function spawnTs(
  file: string,
  env: Record<string, string>,
  ready: RegExp,
  extraArgs: string[] = [],
  /** Where to run it (a snapshot of the build, say); default: this process's directory. */
  cwd?: string,
): Promise<Spawned> {
  const server = file.endsWith("build/server.mjs") && env.NODE_OPTIONS === undefined;
  const args = [
    ...(server ? serverNodeOptions() : []),
    ...(/\.(mjs|js)$/.test(file) ? [file] : [tsx, file]),
    ...extraArgs,
  ];
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`${file} exited with ${code}:\n${output}`)));
    setTimeout(() => reject(new Error(`${file} did not start in 60 s:\n${output}`)), 60_000).unref();
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
