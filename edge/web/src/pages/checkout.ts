import { create } from "@bufbuild/protobuf";
import type { Address } from "@gen/marketplace/auth/v1/auth_pb.js";
import { ShippingAddressSchema } from "@gen/marketplace/order/v1/order_pb.js";
import { LocalOutcome, PaymentStatus } from "@gen/marketplace/payment/v1/payment_pb.js";
import { auth, cart, describeError, newRequestId, orders, payments, session } from "../api.js";
import { field, formValue, h, notice, replace } from "../dom.js";
import type { Route } from "../main.js";
import { formatMoney } from "../money.js";
import { signInFirst } from "./cart.js";
import { liveStatus } from "./orders.js";

// One id per attempt at placing the order: a retry after a lost reply gets the same order back, not a second one.
let orderRequestId = newRequestId();

export async function renderCheckout(main: HTMLElement, route: Route): Promise<void> {
  if (!session()) return signInFirst(main, "Checkout", "/checkout");
  const status = h("div", { class: "status-slot", "data-testid": "checkout-status" });
  let summary: HTMLElement;
  try {
    const current = (await cart.getCart({}, { signal: route.signal })).cart;
    if (!current?.lines.length) {
      replace(main, h("h1", {}, "Checkout"), h("p", {}, "Your cart is empty. ", h("a", { href: "#/" }, "Back to the shop")));
      return;
    }
    if (current.lines.some((line) => !line.available)) {
      replace(
        main,
        h("h1", {}, "Checkout"),
        notice("error", "Some items in your cart can't be bought as they stand, and an order takes every line or none."),
        h("p", {}, h("a", { href: "#/cart" }, "Review your cart")),
      );
      return;
    }
    summary = h("p", {}, `${current.itemCount} items, subtotal `, h("strong", {}, formatMoney(current.subtotal)), " ", h("a", { href: "#/cart" }, "Change the cart"));
  } catch (error) {
    replace(main, h("h1", {}, "Checkout"), notice("error", describeError(error)));
    return;
  }
  let saved: Address | undefined;
  try {
    const addresses = (await auth.listAddresses({}, { signal: route.signal })).addresses;
    saved = addresses.find((address) => address.isDefault) ?? addresses[0];
  } catch {
    saved = undefined;
  }
  const input = (name: string, value: string | undefined, attrs: Record<string, string | boolean> = {}): HTMLInputElement =>
    h("input", { name, value: value ?? "", ...attrs });
  const form = h(
    "form",
    { class: "checkout", novalidate: true },
    h(
      "fieldset",
      {},
      h("legend", {}, "Shipping address"),
      field("Recipient name", input("recipient_name", saved?.recipientName, { autocomplete: "name", required: true })),
      field("Address line 1", input("line1", saved?.line1, { autocomplete: "address-line1", required: true })),
      field("Address line 2", input("line2", saved?.line2, { autocomplete: "address-line2" }), "Optional."),
      field("City", input("city", saved?.city, { autocomplete: "address-level2", required: true })),
      field("Region", input("region", saved?.region, { autocomplete: "address-level1" }), "Optional."),
      field("Postal code", input("postal_code", saved?.postalCode, { autocomplete: "postal-code" })),
      field("Country code", input("country_code", saved?.countryCode ?? "US", { autocomplete: "country", required: true, maxlength: "2" }), "Two letters, such as US or DE."),
      field("Phone", input("phone", saved?.phone, { autocomplete: "tel", type: "tel" }), "Optional."),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Payment: local test provider"),
      h("p", { class: "meta" }, "No card is charged: the local provider approves or declines as chosen here."),
      h("label", {}, h("input", { type: "radio", name: "outcome", value: "approve", checked: true }), " Approve the payment"),
      h("label", {}, h("input", { type: "radio", name: "outcome", value: "decline" }), " Decline the payment"),
    ),
    h("button", { type: "submit" }, "Place order and pay"),
  );
  const live = h("div", {});
  const steps = h("ol", { class: "steps", "aria-live": "polite" });
  const step = (text: string): void => {
    steps.append(h("li", {}, text));
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]") as HTMLButtonElement;
    button.disabled = true;
    steps.replaceChildren();
    replace(status, notice("status", "Placing the order…"));
    try {
      const shippingAddress = create(ShippingAddressSchema, {
        recipientName: formValue(form, "recipient_name"),
        line1: formValue(form, "line1"),
        line2: formValue(form, "line2"),
        city: formValue(form, "city"),
        region: formValue(form, "region"),
        postalCode: formValue(form, "postal_code"),
        countryCode: formValue(form, "country_code").toUpperCase(),
        phone: formValue(form, "phone"),
      });
      const order = (await orders.createOrder({ requestId: orderRequestId, shippingAddress })).order;
      if (!order) throw new Error("the order service sent no order");
      orderRequestId = newRequestId();
      step(`Order placed: ${formatMoney(order.total)}.`);
      form.hidden = true;
      live.replaceWith(liveStatus(order.id, route.signal));
      const payment = (await payments.createPayment({ orderId: order.id, requestId: newRequestId() })).payment;
      if (!payment) throw new Error("the payment service sent no payment");
      step("Payment started with the local provider.");
      const outcome = formValue(form, "outcome") === "decline" ? LocalOutcome.DECLINE : LocalOutcome.APPROVE;
      const confirmed = (await payments.confirmPayment({ id: payment.id, outcome })).payment;
      if (confirmed?.status === PaymentStatus.SUCCEEDED) {
        step("Payment approved.");
      } else {
        step(`Payment ${PaymentStatus[confirmed?.status ?? PaymentStatus.UNSPECIFIED].toLowerCase()}${confirmed?.failureReason ? `: ${confirmed.failureReason}` : ""}. The order waits for payment.`);
      }
      replace(status, h("p", {}, h("a", { href: `#/orders/${encodeURIComponent(order.id)}` }, "View the order"), " · ", h("a", { href: "#/orders" }, "My orders")));
    } catch (error) {
      replace(status, notice("error", describeError(error)));
      button.disabled = false;
    }
  });
  replace(main, h("h1", {}, "Checkout"), summary, form, steps, live, status);
}
