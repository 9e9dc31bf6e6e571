/**
 * Downloads from the admin (a segment's CSV, a data request's JSON). Inside Shopify's admin the
 * app runs in an iframe without cookies: a plain link would reach the server with no session
 * token and be sent to log in. App Bridge adds `Authorization: Bearer <session token>` to the
 * app's own `fetch` calls, so the file is fetched, then saved from a Blob through a temporary
 * link with a `download` name. Under the development sign-in the same fetch carries its cookie.
 */

import { useCallback, useState } from "react";

/** The file name a response's Content-Disposition gives, or the fallback. */
export function fileNameOf(disposition: string | null, fallback: string): string {
  const match = /filename="([^"]+)"/.exec(disposition ?? "");
  return match?.[1] ?? fallback;
}

/** Fetches `url` and saves it as a file; throws an Error with the server's reason when refused. */
export async function downloadFile(url: string, fallbackName: string): Promise<void> {
  const response = await fetch(url, { headers: { Accept: "*/*" } });
  if (!response.ok) {
    const reason = (await response.text().catch(() => "")).trim().slice(0, 300);
    throw new Error(`The download failed (HTTP ${response.status})${reason ? `: ${reason}` : ""}`);
  }
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = href;
  link.download = fileNameOf(response.headers.get("Content-Disposition"), fallbackName);
  link.style.display = "none";
  document.body.appendChild(link);
  link.click();
  link.remove();
  // The browser has started saving; the URL can go once this click has been handled.
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

/** A download button's state: which file is being fetched, and the last failure's message. */
export function useDownload() {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const start = useCallback(async (url: string, fallbackName: string) => {
    setBusy(url);
    setError(null);
    try {
      await downloadFile(url, fallbackName);
    } catch (thrown) {
      setError(thrown instanceof Error ? thrown.message : String(thrown));
    } finally {
      setBusy(null);
    }
  }, []);
  return { busy, error, start, clearError: () => setError(null) };
}
