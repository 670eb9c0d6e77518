import { FulfilmentStatus, OrderStatus, type Order } from "@gen/marketplace/order/v1/order_pb.js";
import { LocalOutcome } from "@gen/marketplace/payment/v1/payment_pb.js";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { describeError, isCanceled, newRequestId, orders, payments, session } from "../api.js";
import { field, h, notice, replace } from "../dom.js";
import type { Route } from "../main.js";
import { navigate } from "../main.js";
import { formatMoney } from "../money.js";
import { options, signInFirst } from "./cart.js";

function words(name: string): string {
  const text = name.toLowerCase().replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function statusLabel(status: OrderStatus): string {
  return words(OrderStatus[status] ?? "UNSPECIFIED");
}

function when(order: Order): string {
  return order.createTime ? timestampDate(order.createTime).toLocaleString() : "";
}

/**
 * The order's status, live: WatchOrder (a gRPC-Web server stream) sends the order now and at every change.
 * Returns the element; the stream ends when `signal` fires.
 */
export function liveStatus(id: string, signal: AbortSignal, onOrder?: (order: Order) => void): HTMLElement {
  const current = h("strong", { "data-testid": "order-status" }, "…");
  const history = h("ol", { class: "history", "data-testid": "status-history" });
  const problem = h("div", {});
  const box = h(
    "section",
    { class: "live", "aria-labelledby": `live-${id}` },
    h("h2", { id: `live-${id}` }, "Status"),
    h("p", { role: "status", "aria-live": "polite" }, "Order status: ", current),
    h("p", { class: "meta" }, "Updates appear here as they happen."),
    history,
    problem,
  );
  void (async () => {
    try {
      for await (const reply of orders.watchOrder({ id }, { signal })) {
        if (!reply.order) continue;
        const label = statusLabel(reply.order.status);
        if (current.textContent !== label) {
          current.textContent = label;
          history.append(h("li", {}, `${new Date().toLocaleTimeString()}: ${label}`));
        }
        onOrder?.(reply.order);
      }
    } catch (error) {
      if (!signal.aborted && !isCanceled(error)) {
        replace(problem, notice("error", `Live updates stopped: ${describeError(error)}`));
      }
    }
  })();
  return box;
}

export async function renderOrders(main: HTMLElement, route: Route): Promise<void> {
  if (!session()) return signInFirst(main, "My orders", "/orders");
  const page = route.query.get("page") ?? "";
  const status = Number(route.query.get("status") ?? "0") as OrderStatus;
  const filter = h(
    "select",
    { name: "status" },
    Object.values(OrderStatus)
      .filter((value): value is OrderStatus => typeof value === "number")
      .map((value) => h("option", { value, selected: value === status }, value === OrderStatus.UNSPECIFIED ? "Any status" : statusLabel(value))),
  );
  const form = h("form", { class: "filters" }, field("Status", filter), h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(filter.value === "0" ? "/orders" : `/orders?status=${filter.value}`);
  });
  const body = h("div", {});
  replace(main, h("h1", {}, "My orders"), form, body);
  try {
    const reply = await orders.listOrders({ status, pageSize: 20, pageToken: page }, { signal: route.signal });
    if (!reply.orders.length) {
      replace(body, h("p", {}, "No orders yet."));
      return;
    }
    const next = new URLSearchParams(route.query);
    next.set("page", reply.nextPageToken);
    replace(
      body,
      h(
        "table",
        { class: "orders", "data-testid": "orders" },
        h("caption", { class: "visually-hidden" }, "Your orders, newest first"),
        h("thead", {}, h("tr", {}, ["Order", "Placed", "Items", "Total", "Status"].map((name) => h("th", { scope: "col" }, name)))),
        h(
          "tbody",
          {},
          reply.orders.map((order) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, h("a", { href: `#/orders/${encodeURIComponent(order.id)}` }, `Order ${order.id.slice(0, 8)}`)),
              h("td", {}, when(order)),
              h("td", {}, order.lines.reduce((sum, line) => sum + line.quantity, 0)),
              h("td", {}, formatMoney(order.total)),
              h("td", {}, statusLabel(order.status)),
            ),
          ),
        ),
      ),
      page ? h("p", {}, h("a", { href: "#/orders" }, "First page")) : null,
      reply.nextPageToken ? h("p", {}, h("a", { href: `#/orders?${next}` }, "Older orders")) : null,
    );
  } catch (error) {
    replace(body, notice("error", describeError(error)));
  }
}

export async function renderOrder(main: HTMLElement, route: Route): Promise<void> {
  if (!session()) return signInFirst(main, "Order", `/orders/${route.parts[1] ?? ""}`);
  const id = route.parts[1] ?? "";
  let order: Order;
  try {
    const reply = await orders.getOrder({ id }, { signal: route.signal });
    if (!reply.order) throw new Error("the order service sent no order");
    order = reply.order;
  } catch (error) {
    replace(main, h("h1", {}, "Order"), notice("error", describeError(error)));
    return;
  }
  const status = h("div", { class: "status-slot" });
  const actions = h("div", { class: "actions" });
  const showActions = (now: Order): void => {
    const buttons: HTMLElement[] = [];
    if (now.status === OrderStatus.PENDING_PAYMENT) {
      buttons.push(
        h("button", {
          type: "button",
          onclick: async () => {
            replace(status, notice("status", "Paying with the local provider…"));
            try {
              const payment = (await payments.createPayment({ orderId: id, requestId: newRequestId() })).payment;
              await payments.confirmPayment({ id: payment?.id ?? "", outcome: LocalOutcome.APPROVE });
              replace(status, notice("status", "Payment sent; the status changes when the order service records it."));
            } catch (error) {
              replace(status, notice("error", describeError(error)));
            }
          },
        }, "Pay now (local provider)"),
      );
    }
    if (now.status === OrderStatus.PENDING_PAYMENT || now.status === OrderStatus.PAID) {
      buttons.push(
        h("button", {
          type: "button",
          onclick: async () => {
            if (!window.confirm("Cancel this order? A paid order is refunded.")) return;
            try {
              await orders.cancelOrder({ id, note: "" });
              replace(status, notice("status", "Cancelled."));
            } catch (error) {
              replace(status, notice("error", describeError(error)));
            }
          },
        }, "Cancel the order"),
      );
    }
    replace(actions, buttons);
  };
  const address = order.shippingAddress;
  replace(
    main,
    h("h1", {}, `Order ${order.id.slice(0, 8)}`),
    h("p", { class: "meta" }, `Placed ${when(order)} · total ${formatMoney(order.total)}`),
    liveStatus(id, route.signal, showActions),
    actions,
    status,
    h("h2", {}, "Items"),
    h(
      "ul",
      { class: "lines" },
      order.lines.map((line) =>
        h("li", {}, `${line.quantity} × ${line.title}`, Object.keys(line.optionValues).length ? ` (${options(line.optionValues)})` : "", ` — ${formatMoney(line.lineTotal)}`),
      ),
    ),
    order.fulfilments.length
      ? h(
          "section",
          {},
          h("h2", {}, "Shipments"),
          h(
            "ul",
            {},
            order.fulfilments.map((part) =>
              h("li", {}, `${words(FulfilmentStatus[part.status] ?? "")}${part.shipment?.carrier ? ` — ${part.shipment.carrier} ${part.shipment.trackingNumber}` : ""}`),
            ),
          ),
        )
      : null,
    address
      ? h("section", {}, h("h2", {}, "Shipping to"), h("address", {}, [address.recipientName, address.line1, address.line2, `${address.postalCode} ${address.city}`, address.region, address.countryCode].filter((part) => part.trim()).map((part) => h("div", {}, part))))
      : null,
  );
  showActions(order);
}
