// My notifications: the emails sent (or attempted) to the signed-in user, newest first and paged
// (ListNotifications), and which kinds they want (GetPreferences, UpdatePreferences with a field mask).
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { NotificationStatus, type Notification, type NotificationPreferences } from "@gen/marketplace/notify/v1/notify_pb.js";
import { describeError, notifications, session } from "../api.js";
import { h, notice, replace } from "../dom.js";
import type { Route } from "../main.js";
import { signInFirst } from "./cart.js";

type Choice = "orderUpdatesEmail" | "marketingEmail" | "securityEmail";

// Each preference with the field mask path UpdatePreferences names it by.
const CHOICES: { key: Choice; path: string; label: string; hint: string }[] = [
  { key: "orderUpdatesEmail", path: "order_updates_email", label: "Order updates", hint: "Paid, shipped, delivered, cancelled, refunds; a seller's first sale of each product." },
  { key: "marketingEmail", path: "marketing_email", label: "New products and offers", hint: "None are sent yet." },
  { key: "securityEmail", path: "security_email", label: "Account emails", hint: "Such as the welcome on sign-up." },
];

const TEMPLATES: Record<string, string> = {
  welcome: "Welcome",
  password_reset: "Password reset",
  order_paid: "Order paid",
  order_shipped: "Order shipped",
  order_delivered: "Order delivered",
  order_cancelled: "Order cancelled",
  payment_failed: "Payment failed",
  payment_refunded: "Refund",
  first_sale: "First sale",
};

function statusLabel(item: Notification): string {
  const name = (NotificationStatus[item.status] ?? "UNSPECIFIED").toLowerCase();
  const label = name.charAt(0).toUpperCase() + name.slice(1);
  return item.statusReason ? `${label} (${item.statusReason})` : label;
}

function preferencesForm(signal: AbortSignal): HTMLElement {
  const status = h("div", { class: "status-slot" });
  const boxes = new Map<Choice, HTMLInputElement>();
  let saved: NotificationPreferences | undefined;
  const save = h("button", { type: "submit", disabled: true }, "Save preferences");
  const form = h(
    "form",
    { "aria-labelledby": "preferences-heading" },
    h("h2", { id: "preferences-heading" }, "Which emails you get"),
    h(
      "fieldset",
      {},
      h("legend", {}, "Email me about"),
      CHOICES.map(({ key, label, hint }) => {
        const box = h("input", { type: "checkbox", name: key, disabled: true, "aria-describedby": `${key}-hint` });
        boxes.set(key, box);
        return h("div", { class: "field checkbox" }, h("label", {}, box, ` ${label}`), h("small", { id: `${key}-hint`, class: "hint" }, hint));
      }),
      h("p", { class: "meta" }, "Password reset emails are always sent: you asked for them."),
    ),
    save,
    status,
  );
  const show = (preferences: NotificationPreferences | undefined): void => {
    saved = preferences;
    for (const { key } of CHOICES) {
      const box = boxes.get(key);
      if (box) {
        box.checked = preferences?.[key] ?? true;
        box.disabled = false;
      }
    }
    save.disabled = false;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // Only what the user changed is sent (the mask): a change made meanwhile in another tab is kept.
    const changed = CHOICES.filter(({ key }) => boxes.get(key)?.checked !== (saved?.[key] ?? true));
    if (!changed.length) {
      replace(status, notice("status", "Nothing changed."));
      return;
    }
    const preferences: Partial<Record<Choice, boolean>> = {};
    for (const { key } of changed) preferences[key] = boxes.get(key)?.checked ?? true;
    replace(status, notice("status", "Saving…"));
    try {
      const reply = await notifications.updatePreferences({
        preferences,
        updateMask: { paths: changed.map(({ path }) => path) },
      });
      show(reply.preferences);
      replace(status, notice("status", "Saved."));
    } catch (error) {
      replace(status, notice("error", describeError(error)));
    }
  });
  void (async () => {
    try {
      show((await notifications.getPreferences({}, { signal })).preferences);
    } catch (error) {
      if (!signal.aborted) replace(status, notice("error", describeError(error)));
    }
  })();
  return form;
}

export async function renderNotifications(main: HTMLElement, route: Route): Promise<void> {
  if (!session()) return signInFirst(main, "My notifications", "/notifications");
  const page = route.query.get("page") ?? "";
  const list = h("section", { "aria-labelledby": "sent-heading" }, h("h2", { id: "sent-heading" }, "Emails sent to you"));
  const body = h("div", {});
  list.append(body);
  replace(main, h("h1", {}, "My notifications"), list, preferencesForm(route.signal));
  try {
    const reply = await notifications.listNotifications({ pageSize: 20, pageToken: page }, { signal: route.signal });
    if (!reply.notifications.length) {
      replace(body, h("p", {}, page ? "No older emails." : "No emails yet."), page ? h("p", {}, h("a", { href: "#/notifications" }, "Newest")) : null);
      return;
    }
    replace(
      body,
      h(
        "table",
        { "data-testid": "notifications" },
        h("caption", { class: "visually-hidden" }, "Emails sent to you, newest first"),
        h("thead", {}, h("tr", {}, ["Sent", "Subject", "Kind", "Status"].map((name) => h("th", { scope: "col" }, name)))),
        h(
          "tbody",
          {},
          reply.notifications.map((item) =>
            h(
              "tr",
              {},
              h("td", {}, item.createdAt ? timestampDate(item.createdAt).toLocaleString() : ""),
              h("th", { scope: "row" }, item.subject),
              h("td", {}, TEMPLATES[item.template] ?? item.template),
              h("td", {}, statusLabel(item)),
            ),
          ),
        ),
      ),
      h(
        "p",
        { class: "pager" },
        page ? h("a", { href: "#/notifications" }, "Newest") : null,
        reply.nextPageToken ? h("a", { href: `#/notifications?page=${encodeURIComponent(reply.nextPageToken)}` }, "Older emails") : null,
      ),
    );
  } catch (error) {
    replace(body, notice("error", describeError(error)));
  }
}
