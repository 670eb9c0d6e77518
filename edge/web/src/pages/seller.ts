import { create } from "@bufbuild/protobuf";
import {
  ProductOptionSchema,
  ProductSchema,
  ProductStatus,
  type Product,
  type ProductVariant,
} from "@gen/marketplace/catalog/v1/catalog_pb.js";
import { SellerOrderStatus, type SellerOrder } from "@gen/marketplace/seller/v1/seller_pb.js";
import { catalog, describeError, isSeller, newRequestId, orders, sellers, session } from "../api.js";
import { field, formValue, h, notice, notOffered, replace } from "../dom.js";
import type { Route } from "../main.js";
import { navigate } from "../main.js";
import { formatMoney, parseMoney } from "../money.js";
import { options as optionText, signInFirst } from "./cart.js";

function sellersOnly(main: HTMLElement): boolean {
  if (!session()) {
    signInFirst(main, "Seller", "/seller");
    return true;
  }
  if (!isSeller()) {
    replace(main, h("h1", {}, "Seller"), h("p", {}, "This page is for sellers. Create a seller account to list products: ", h("a", { href: "#/signup" }, "sign up as a seller"), "."));
    return true;
  }
  return false;
}

function statusName(status: ProductStatus): string {
  const name = (ProductStatus[status] ?? "").toLowerCase();
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function stockForm(product: Product, variant: ProductVariant | undefined, onDone: (product: Product) => void): HTMLFormElement {
  const label = variant && Object.keys(variant.optionValues).length ? optionText(variant.optionValues) : product.title;
  const delta = h("input", { name: "delta", type: "number", value: 1, step: 1, "aria-label": `Stock change for ${label}` });
  const status = h("span", { class: "status-slot" });
  const form = h("form", { class: "inline" }, delta, h("button", { type: "submit" }, "Adjust stock"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const reply = await catalog.adjustStock({ id: product.id, variantId: variant?.id ?? "", delta: Number(delta.value) || 0, reason: "adjusted by the seller" });
      if (reply.product) onDone(reply.product);
    } catch (error) {
      replace(status, notice("error", describeError(error)));
    }
  });
  return form;
}

function imageForm(product: Product, onDone: (product: Product) => void): HTMLFormElement {
  const file = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp", "aria-label": `Picture for ${product.title}` });
  const status = h("span", { class: "status-slot" });
  const form = h("form", { class: "inline" }, file, h("button", { type: "submit" }, "Add picture"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) return replace(status, notice("error", "Choose a picture first."));
    try {
      const content = new Uint8Array(await chosen.arrayBuffer());
      const reply = await catalog.addProductImage({ productId: product.id, content, fileName: chosen.name, contentType: chosen.type });
      if (reply.product) onDone(reply.product);
    } catch (error) {
      replace(status, notice("error", describeError(error)));
    }
  });
  return form;
}

function productRow(product: Product): HTMLElement {
  const row = h("li", { class: "seller-product" });
  const draw = (now: Product): void => {
    const variants = now.variants.length ? now.variants : [undefined];
    replace(
      row,
      h("h3", {}, h("a", { href: `#/product/${encodeURIComponent(now.id)}` }, now.title)),
      h("p", { class: "meta" }, `SKU ${now.sku} · ${formatMoney(now.price)} · ${statusName(now.status)} · ${now.images.length} pictures`),
      h(
        "ul",
        { class: "variants" },
        variants.map((variant) =>
          h(
            "li",
            { "data-testid": "variant" },
            `${variant && Object.keys(variant.optionValues).length ? optionText(variant.optionValues) : "Stock"}: `,
            h("strong", {}, String(variant ? variant.stock : now.stock)),
            " ",
            stockForm(now, variant, draw),
          ),
        ),
      ),
      imageForm(now, draw),
    );
  };
  draw(product);
  return row;
}

function toShipRow(order: SellerOrder, form: HTMLFormElement): HTMLElement {
  const lines = order.lines.map((line) => `${line.title} × ${line.quantity}`).join(", ");
  const total = order.sellerTotal ? formatMoney(order.sellerTotal) : "";
  const choose = h("button", { type: "button" }, "Ship this order");
  choose.addEventListener("click", () => {
    const input = form.querySelector<HTMLInputElement>("input[name=id]");
    if (input) {
      input.value = order.orderId;
      form.querySelector<HTMLInputElement>("input[name=carrier]")?.focus();
    }
  });
  return h("li", {}, h("span", {}, `Order ${order.orderId.slice(0, 8)}: ${lines} (${total}) `), choose);
}

async function listToShip(slot: HTMLElement, form: HTMLFormElement): Promise<void> {
  try {
    const reply = await sellers.listSellerOrders({
      status: SellerOrderStatus.PAID,
      pageSize: 20,
      pageToken: "",
      sellerId: "",
    });
    replace(
      slot,
      reply.orders.length
        ? h("ul", { class: "to-ship" }, ...reply.orders.map((order) => toShipRow(order, form)))
        : notice("info", "No paid order is waiting for your shipment."),
    );
  } catch (error) {
    // The seller dashboard may not run in this deployment: say so, and keep shipping by order id.
    replace(slot, notOffered(`Your list of orders to ship is not offered yet here: ${describeError(error)}`));
  }
}

function shipping(): HTMLElement {
  const status = h("div", { class: "status-slot" });
  const waiting = h("div", { class: "status-slot" }, notice("status", "Loading your orders to ship…"));
  const form = h(
    "form",
    { class: "filters" },
    field("Order id", h("input", { name: "id", required: true })),
    field("Carrier", h("input", { name: "carrier" }), "To mark shipped."),
    field("Tracking number", h("input", { name: "tracking" }), "To mark shipped."),
    h("button", { type: "submit", name: "action", value: "ship" }, "Mark shipped"),
    h("button", { type: "submit", name: "action", value: "deliver" }, "Mark delivered"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const action = ((event as SubmitEvent).submitter as HTMLButtonElement | null)?.value;
    const id = formValue(form, "id");
    try {
      const reply =
        action === "deliver"
          ? await orders.markDelivered({ id, sellerId: "" })
          : await orders.shipOrder({ id, carrier: formValue(form, "carrier"), trackingNumber: formValue(form, "tracking"), sellerId: "" });
      replace(status, notice("status", `Order ${reply.order?.id.slice(0, 8) ?? id}: done.`));
      void listToShip(waiting, form);
    } catch (error) {
      replace(status, notice("error", describeError(error)));
    }
  });
  void listToShip(waiting, form);
  return h(
    "section",
    { "aria-labelledby": "to-ship" },
    h("h2", { id: "to-ship" }, "Orders to ship"),
    waiting,
    h("p", {}, "Ship or deliver your part of an order:"),
    form,
    status,
  );
}

export async function renderSeller(main: HTMLElement, route: Route): Promise<void> {
  if (sellersOnly(main)) return;
  const page = route.query.get("page") ?? "";
  const list = h("div", {});
  replace(
    main,
    h("h1", {}, `Seller: ${session()?.storeName || session()?.username || ""}`),
    h("p", {}, h("a", { class: "button", href: "#/seller/new" }, "Add a product")),
    h("section", { "aria-labelledby": "mine" }, h("h2", { id: "mine" }, "My products"), list),
    shipping(),
  );
  try {
    const reply = await catalog.listMyProducts({ status: ProductStatus.UNSPECIFIED, pageSize: 20, pageToken: page }, { signal: route.signal });
    replace(
      list,
      reply.products.length ? h("ul", { class: "seller-products", "data-testid": "my-products" }, reply.products.map(productRow)) : h("p", {}, "No products yet."),
      page ? h("p", {}, h("a", { href: "#/seller" }, "First page")) : null,
      reply.nextPageToken ? h("p", {}, h("a", { href: `#/seller?page=${encodeURIComponent(reply.nextPageToken)}` }, "More products")) : null,
    );
  } catch (error) {
    replace(list, notice("error", describeError(error)));
  }
}

// "size: 41, 42, 43" a line → options; the catalog makes a variant for each combination.
function parseOptions(text: string): { name: string; values: string[] }[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name = "", values = ""] = line.split(":");
      return { name: name.trim().toLowerCase(), values: values.split(",").map((value) => value.trim()).filter(Boolean) };
    });
}

let productRequestId = newRequestId();

export function renderSellerNew(main: HTMLElement, _route: Route): void {
  if (sellersOnly(main)) return;
  const status = h("div", { class: "status-slot" });
  const form = h(
    "form",
    { novalidate: true },
    field("Title", h("input", { name: "title", required: true })),
    field("SKU", h("input", { name: "sku", required: true }), "Your own stock-keeping code."),
    field("Description", h("textarea", { name: "description", rows: 4 })),
    field("Price ($)", h("input", { name: "price", inputmode: "decimal", required: true }), "For example 19.99."),
    field("Category", h("input", { name: "category", required: true }), "Lower-case, such as kitchen or shoes."),
    field("Brand", h("input", { name: "brand" })),
    field("Stock", h("input", { name: "stock", type: "number", min: 0, value: 0 }), "Units on hand (each variant starts with it)."),
    field("Options", h("textarea", { name: "options", rows: 2, placeholder: "size: 41, 42, 43" }), "Optional, one a line: name: value, value."),
    h("button", { type: "submit" }, "Add the product"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const price = parseMoney(formValue(form, "price"), "USD");
    if (!price) return replace(status, notice("error", "The price is an amount like 19.99."));
    try {
      const product = create(ProductSchema, {
        title: formValue(form, "title"),
        sku: formValue(form, "sku"),
        description: formValue(form, "description"),
        price,
        category: formValue(form, "category"),
        brand: formValue(form, "brand"),
        stock: Number(formValue(form, "stock")) || 0,
        status: ProductStatus.ACTIVE,
        options: parseOptions(formValue(form, "options")).map((option) => create(ProductOptionSchema, option)),
      });
      await catalog.createProduct({ product, requestId: productRequestId });
      productRequestId = newRequestId();
      navigate("/seller");
    } catch (error) {
      replace(status, notice("error", describeError(error)));
    }
  });
  replace(main, h("h1", {}, "Add a product"), form, status);
}
