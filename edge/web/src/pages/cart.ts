import type { Cart, CartLine } from "@gen/marketplace/cart/v1/cart_pb.js";
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

/** Why a line cannot be bought as it stands, or null when it can. */
export function unavailableReason(line: CartLine): string | null {
  if (line.available) return null;
  return line.availableQuantity > 0 ? `Only ${line.availableQuantity} available` : "No longer available";
}

/**
 * Brings every line that cannot be bought as it stands to what can: a line of a variant no longer sold leaves the
 * cart, a line wanting more units than are in stock keeps the units there are. An order takes every line or none.
 */
async function keepWhatCanBeBought(current: Cart): Promise<{ cart?: Cart; removed: number; reduced: number }> {
  let latest: Cart | undefined = current;
  let removed = 0;
  let reduced = 0;
  for (const line of current.lines) {
    if (line.available) continue;
    if (line.availableQuantity > 0) {
      latest = (await cart.updateCartItem({ variantId: line.variantId, quantity: line.availableQuantity })).cart;
      reduced += 1;
    } else {
      latest = (await cart.removeCartItem({ variantId: line.variantId })).cart;
      removed += 1;
    }
  }
  return { cart: latest, removed, reduced };
}

/** "7 items", or "2 of 7 items" when some lines are left out of the subtotal. */
function subtotalOf(current: Cart, someLeftOut: boolean): string {
  if (!someLeftOut) return plural(current.itemCount, "item");
  const counted = current.lines.filter((line) => line.available).reduce((units, line) => units + line.quantity, 0);
  return `${counted} of ${plural(current.itemCount, "item")}`;
}

function plural(count: number, one: string): string {
  return `${count} ${one}${count === 1 ? "" : "s"}`;
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
        h("td", {}, quantity, line.available ? null : h("div", { class: "meta out" }, unavailableReason(line))),
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
    const blocked = current.lines.filter((line) => !line.available);
    const repair = blocked.length
      ? h(
          "div",
          { class: "notice error", role: "alert", "data-testid": "cart-blocked" },
          h("p", {}, `${plural(blocked.length, "item")} can't be bought as ${blocked.length === 1 ? "it stands" : "they stand"}: left out of the subtotal, and an order takes every line or none.`),
          h(
            "button",
            {
              type: "button",
              onclick: async () => {
                replace(status, notice("status", "Updating…"));
                try {
                  const { cart: latest, removed, reduced } = await keepWhatCanBeBought(current);
                  show(latest);
                  const done = [removed ? `removed ${plural(removed, "item")}` : "", reduced ? `reduced ${plural(reduced, "item")} to what is in stock` : ""];
                  const said = done.filter(Boolean).join(" and ");
                  replace(status, notice("status", `Cart updated: ${said}.`));
                } catch (error) {
                  replace(status, notice("error", describeError(error)));
                }
              },
            },
            "Keep only what can be bought",
          ),
        )
      : null;
    replace(
      body,
      repair,
      h(
        "table",
        { class: "cart" },
        h("caption", { class: "visually-hidden" }, "Items in your cart"),
        h("thead", {}, h("tr", {}, ["Item", "Price", "Quantity", "Total", "Change"].map((name) => h("th", { scope: "col" }, name)))),
        h("tbody", {}, rows),
      ),
      h("p", { class: "total" }, `Subtotal (${subtotalOf(current, blocked.length > 0)}): `, h("strong", { "data-testid": "subtotal" }, formatMoney(current.subtotal))),
      current.mixedCurrencies ? notice("error", "The cart mixes currencies; one order takes one currency.") : null,
      blocked.length ? null : h("p", {}, h("a", { class: "button", href: "#/checkout" }, "Check out")),
    );
  };

  try {
    show((await cart.getCart({}, { signal: route.signal })).cart);
  } catch (error) {
    replace(status, notice("error", describeError(error)));
  }
}
