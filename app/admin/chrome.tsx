/**
 * The admin's shared chrome: the shop's format (currency, time zone, reader's locale), toasts, the
 * contextual save bar and the guard against leaving with unsaved changes. Inside Shopify's admin
 * these are App Bridge's (`shopify.toast`, `<ui-save-bar>`); in the demo, which runs outside
 * Shopify, they are Polaris's own (Toast and ContextualSaveBar in the Frame that stands in for it).
 * Pages use these and never ask which of the two they are in.
 */
import { Link, useBlocker, useRouteLoaderData } from "@remix-run/react";
import { SaveBar } from "@shopify/app-bridge-react";
import { ContextualSaveBar, Modal, Text, Toast } from "@shopify/polaris";
import type { LinkLikeComponentProps } from "@shopify/polaris/build/ts/src/utilities/link";
import {
  createContext,
  forwardRef,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from "react";
import { DEFAULT_FORMAT, type ShopFormat } from "../engine/format";

/** What the app layout's loader (routes/app.tsx) gives every admin page. */
export interface AdminChromeData {
  shop: string;
  /** True in the demo's development sign-in: no Shopify admin (and no App Bridge) around us. */
  devLogin: boolean;
  format: ShopFormat;
}

/** The shop's currency and time zone, in the reader's locale, for every figure a page shows. */
export function useShopFormat(): ShopFormat {
  return useRouteLoaderData<AdminChromeData>("routes/app")?.format ?? DEFAULT_FORMAT;
}

/** The shop's myshopify domain (e.g. for links into Shopify's admin). */
export function useShopDomain(): string {
  return useRouteLoaderData<AdminChromeData>("routes/app")?.shop ?? "";
}

/** https://admin.shopify.com/store/<handle>/<path>: a page of the shop's own Shopify admin. */
export function shopifyAdminUrl(shop: string, path: string): string {
  const handle = shop.replace(/\.myshopify\.com$/, "");
  return `https://admin.shopify.com/store/${handle}/${path.replace(/^\//, "")}`;
}

interface ToastState {
  message: string;
  error: boolean;
}

type ShowToast = (message: string, options?: { error?: boolean }) => void;

const ToastContext = createContext<ShowToast>(() => {});
const EmbeddedContext = createContext(false);

interface AppBridgeGlobal {
  toast?: { show(message: string, options?: { isError?: boolean; duration?: number }): void };
}

/** Wraps the admin (in routes/app.tsx) so pages can show toasts and save bars in either chrome. */
export function AdminChromeProvider({ embedded, children }: { embedded: boolean; children: ReactNode }) {
  const [toast, setToast] = useState<ToastState | null>(null);
  const show = useCallback<ShowToast>(
    (message, options) => {
      const bridge = embedded ? (globalThis as unknown as { shopify?: AppBridgeGlobal }).shopify : undefined;
      if (bridge?.toast) bridge.toast.show(message, { isError: options?.error ?? false, duration: 4000 });
      else setToast({ message, error: options?.error ?? false });
    },
    [embedded],
  );
  return (
    <EmbeddedContext.Provider value={embedded}>
      <ToastContext.Provider value={show}>
        {children}
        {toast ? (
          <Toast
            content={toast.message}
            error={toast.error}
            duration={4000}
            onDismiss={() => setToast(null)}
          />
        ) : null}
      </ToastContext.Provider>
    </EmbeddedContext.Provider>
  );
}

/** show("Segment saved") or show("Could not save", { error: true }). */
export function useToast(): ShowToast {
  return useContext(ToastContext);
}

export interface UnsavedChangesBarProps {
  /** Shown while the form differs from what is saved. */
  dirty: boolean;
  saving?: boolean;
  /** Save is disabled (with the reason in the page) while the form cannot be saved. */
  saveDisabled?: boolean;
  onSave(): void;
  onDiscard(): void;
  message?: string;
}

/**
 * Shopify's contextual save bar while a form has unsaved changes, and a guard against leaving it:
 * a link inside the app asks first (a Polaris modal), and closing or reloading the tab asks the
 * browser's own question.
 */
export function UnsavedChangesBar({
  dirty,
  saving = false,
  saveDisabled = false,
  onSave,
  onDiscard,
  message = "Unsaved changes",
}: UnsavedChangesBarProps) {
  const embedded = useContext(EmbeddedContext);
  return (
    <>
      {embedded ? (
        <SaveBar id="slice-save-bar" open={dirty}>
          <button
            // App Bridge's save-bar buttons take these as attributes.
            {...{ variant: "primary", loading: saving ? "" : undefined }}
            disabled={saveDisabled || saving}
            onClick={onSave}
          >
            Save
          </button>
          <button onClick={onDiscard} disabled={saving}>
            Discard
          </button>
        </SaveBar>
      ) : dirty ? (
        <ContextualSaveBar
          message={message}
          saveAction={{ onAction: onSave, loading: saving, disabled: saveDisabled, content: "Save" }}
          discardAction={{ onAction: onDiscard, content: "Discard" }}
        />
      ) : null}
      <LeaveGuard dirty={dirty && !saving} />
    </>
  );
}

/** Asks before a navigation (in the app, or away from it) would lose unsaved changes. */
export function LeaveGuard({ dirty }: { dirty: boolean }) {
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      dirty &&
      (currentLocation.pathname !== nextLocation.pathname || currentLocation.search !== nextLocation.search),
  );
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);
  const open = blocker.state === "blocked";
  const stay = useMemo(() => () => blocker.reset?.(), [blocker]);
  return (
    <Modal
      open={open}
      onClose={stay}
      title="Leave without saving?"
      primaryAction={{ content: "Leave page", destructive: true, onAction: () => blocker.proceed?.() }}
      secondaryActions={[{ content: "Stay", onAction: stay }]}
    >
      <Modal.Section>
        <Text as="p">Your changes on this page have not been saved. If you leave, they are lost.</Text>
      </Modal.Section>
    </Modal>
  );
}

/**
 * Polaris's links as Remix links, as Shopify's AppProvider makes them when embedded (its own is not
 * exported): for the demo's Polaris provider, so that moving between pages stays in the app as it
 * does inside Shopify's admin, and the leave guard can ask first. Links out of the app (another
 * origin, a new tab, a download) stay plain anchors.
 */
export const RemixPolarisLink = forwardRef<HTMLAnchorElement, LinkLikeComponentProps>(
  function RemixPolarisLink({ url, external, children, ...rest }, ref) {
    if (external || rest.download || (rest.target && rest.target !== "_self") || !url.startsWith("/"))
      return (
        <a
          ref={ref}
          href={url}
          {...(external ? { target: "_blank", rel: "noopener noreferrer" } : {})}
          {...rest}
        >
          {children}
        </a>
      );
    return (
      <Link ref={ref} to={url} {...(rest as Omit<typeof rest, "to">)}>
        {children}
      </Link>
    );
  },
);
