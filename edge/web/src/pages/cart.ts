import type { Cart } from "@gen/marketplace/cart/v1/cart_pb.js";
import { cart, describeError, session } from "../api.js";
import { h, notice, replace } from "../dom.js";
import type { Route } from "../main.js";
import { formatMoney } from "../money.js";

export function signInFirst(main: HTMLElement, title: string, next: string): void {
  replace(
    main,
    h("h1", {}, title),
    h("p", {}, "Please ", h("a", { href: `#/signin?next=${encodeURIComponent(next)}` }, "sign in"), " or ", h("a", { href: `#/signup?next=${encodeURIComponent(next)}` }, "create an account"), " first."),
  );
}

export function options(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}: ${value}`)
    .join(", ");
}

export async function renderCart(main: HTMLElement, route: Route): Promise<void> {
  if (!session()) return signInFirst(main, "Your cart", "/cart");
  const status = h("div", { class: "status-slot" });
  const body = h("div", {});
  replace(main, h("h1", {}, "Your cart"), status, body);

  const show = (current: Cart | undefined): void => {
    if (!current || !current.lines.length) {
      replace(body, h("p", {}, "Your cart is empty. ", h("a", { href: "#/" }, "Find something in the shop")));
      return;
    }
    const rows = current.lines.map((line) => {
      const quantity = h("input", { type: "number", min: 1, max: 999, value: line.quantity, "aria-label": `Quantity of ${line.title}` });
      const change = async (action: () => Promise<{ cart?: Cart }>): Promise<void> => {
        replace(status, notice("status", "Updating…"));
        try {
          show((await action()).cart);
          replace(status, notice("status", "Cart updated."));
        } catch (error) {
          replace(status, notice("error", describeError(error)));
        }
      };
      return h(
        "tr",
        {},
        h("th", { scope: "row" }, h("a", { href: `#/product/${encodeURIComponent(line.productId)}` }, line.title), line.sku ? h("div", { class: "meta" }, options(line.optionValues)) : null),
        h("td", {}, formatMoney(line.unitPrice), line.priceChanged ? h("div", { class: "meta" }, `Price changed (was ${formatMoney(line.addedUnitPrice)})`) : null),
        h("td", {}, quantity, line.available ? null : h("div", { class: "meta out" }, `Only ${line.availableQuantity} available`)),
        h("td", {}, formatMoney(line.lineTotal)),
        h(
          "td",
          {},
          h("button", { type: "button", onclick: () => change(() => cart.updateCartItem({ variantId: line.variantId, quantity: Number(quantity.value) || 1 })) }, "Update"),
          " ",
          h("button", { type: "button", onclick: () => change(() => cart.removeCartItem({ variantId: line.variantId })) }, "Remove"),
        ),
      );
    });
    replace(
      body,
      h(
        "table",
        { class: "cart" },
        h("caption", { class: "visually-hidden" }, "Items in your cart"),
        h("thead", {}, h("tr", {}, ["Item", "Price", "Quantity", "Total", "Change"].map((name) => h("th", { scope: "col" }, name)))),
        h("tbody", {}, rows),
      ),
      h("p", { class: "total" }, `Subtotal (${current.itemCount} items): `, h("strong", { "data-testid": "subtotal" }, formatMoney(current.subtotal))),
      current.mixedCurrencies ? notice("error", "The cart mixes currencies; one order takes one currency.") : null,
      h("p", {}, h("a", { class: "button", href: "#/checkout" }, "Check out")),
    );
  };

  try {
    show((await cart.getCart({}, { signal: route.signal })).cart);
  } catch (error) {
    replace(status, notice("error", describeError(error)));
  }
}
