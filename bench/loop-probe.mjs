/**
 * A stall probe for a server the bench starts in its own process: loaded with
 * `NODE_OPTIONS=--import <path>/bench/loop-probe.mjs` and `SLICE_PROBE_FILE=<file>`, it appends one JSON
 * line a second per thread (the main thread and each worker thread, which preload it too): the
 * event loop's delay over that second (max and p99, ms), the garbage collections in it (count,
 * total and longest pause, ms, by kind), and the process's CPU time (Node 20 has no figure per
 * thread). The bench reads the file for the seconds of its measured load. With
 * `SLICE_PROBE_PROFILE=<file>` too, SIGUSR2 starts V8's CPU profiler on the main thread and the
 * next SIGUSR2 writes its profile there (a .cpuprofile: the measured load alone, not the start-up).
 * Nothing of the app changes; without the variables it does nothing.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import process from "node:process";
import { setInterval } from "node:timers";
import { isMainThread, threadId } from "node:worker_threads";

const file = process.env.SLICE_PROBE_FILE;
if (file) {
  const thread = isMainThread ? "main" : `worker${threadId}`;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const kinds = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
    [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
  };
  let gc = { count: 0, ms: 0, maxMs: 0, major: 0, minor: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.ms += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
      const kind = kinds[entry.detail?.kind ?? entry.kind];
      if (kind === "major") gc.major += entry.duration;
      if (kind === "minor") gc.minor += entry.duration;
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  let cpu = process.threadCpuUsage ? process.threadCpuUsage() : process.cpuUsage();
  const timer = setInterval(() => {
    const now = process.threadCpuUsage ? process.threadCpuUsage() : process.cpuUsage();
    const line = {
      t: Date.now(),
      pid: process.pid,
      thread,
      delayMaxMs: delay.max / 1e6,
      delayP99Ms: delay.percentile(99) / 1e6,
      gcCount: gc.count,
      gcMs: gc.ms,
      gcMaxMs: gc.maxMs,
      gcMajorMs: gc.major,
      gcMinorMs: gc.minor,
      cpuMs: (now.user - cpu.user + now.system - cpu.system) / 1000,
      heapMb: process.memoryUsage().heapUsed / 1e6,
    };
    cpu = now;
    delay.reset();
    gc = { count: 0, ms: 0, maxMs: 0, major: 0, minor: 0 };
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // The bench removed its directory: the server is stopping.
    }
  }, 1000);
  timer.unref();
}

const profileFile = process.env.SLICE_PROBE_PROFILE;
if (profileFile && isMainThread) {
  let session = null;
  process.on("SIGUSR2", () => {
    if (!session) {
      session = new Session();
      session.connect();
      session.post("Profiler.enable", () =>
        session.post("Profiler.setSamplingInterval", { interval: 200 }, () => session.post("Profiler.start")),
      );
      return;
    }
    const running = session;
    session = null;
    running.post("Profiler.stop", (error, result) => {
      if (!error) writeFileSync(profileFile, JSON.stringify(result.profile));
      running.disconnect();
    });
  });
}
