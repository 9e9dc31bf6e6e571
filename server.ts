/**
 * The production server: the built Remix app behind Express, plus the app's background work
 * (the webhook inbox worker and the sync scheduler) in the same process.
 */
import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import path from "node:path";
import { pathToFileURL } from "node:url";

interface SliceBuild extends ServerBuild {
  entry: ServerBuild["entry"] & {
    module: ServerBuild["entry"]["module"] & {
      startBackgroundWork: () => void;
      stopBackgroundWork: () => Promise<void>;
    };
  };
}

export async function startServer(options: { port: number; host?: string; quiet?: boolean }) {
  const buildPath = path.resolve("build/server/index.js");
  const build = (await import(pathToFileURL(buildPath).href)) as SliceBuild;
  const app = express();
  app.disable("x-powered-by");
  app.use(compression());
  app.use("/assets", express.static("build/client/assets", { immutable: true, maxAge: "1y" }));
  app.use(express.static("build/client", { maxAge: "1h" }));
  app.all("*", createRequestHandler({ build }));
  build.entry.module.startBackgroundWork();
  const server = await new Promise<import("node:http").Server>((resolve) => {
    const s = app.listen(options.port, options.host ?? "127.0.0.1", () => resolve(s));
  });
  server.keepAliveTimeout = 65_000;
  const address = server.address() as import("node:net").AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${address.port}`;
  if (!options.quiet) console.log(`Slice is listening on ${url}`);
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await build.entry.module.stopBackgroundWork();
    },
  };
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === path.resolve("server.ts");
if (invokedDirectly) {
  const running = await startServer({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? "127.0.0.1" });
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
