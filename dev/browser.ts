/**
 * Headless Chromium for tests and checks, from npm alone: @sparticuz/chromium ships the browser,
 * playwright-core drives it. Falls back to Debian's /usr/bin/chromium when it is installed.
 */
import { existsSync } from "node:fs";
import { chromium as playwright, type Browser } from "playwright-core";

export async function launchBrowser(): Promise<Browser> {
  const flags = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
  ];
  if (process.env.SLICE_CHROMIUM && existsSync(process.env.SLICE_CHROMIUM))
    return playwright.launch({ executablePath: process.env.SLICE_CHROMIUM, args: flags, headless: true });
  const { default: chromium } = await import("@sparticuz/chromium");
  const executablePath = await chromium.executablePath();
  // Not its Lambda-minded defaults (--single-process ends the browser when a page closes, and
  // --disable-web-security would hide what a real browser refuses): only what rendering needs.
  const extra = ["--no-zygote", "--use-gl=angle", "--use-angle=swiftshader", "--font-render-hinting=none"];
  return playwright.launch({ executablePath, args: [...flags, ...extra], headless: true });
}
