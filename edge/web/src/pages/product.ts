import type { Product, ProductVariant } from "@gen/marketplace/catalog/v1/catalog_pb.js";
import { cart, catalog, describeError, session } from "../api.js";
import { field, h, notice, replace } from "../dom.js";
import type { Route } from "../main.js";
import { formatMoney } from "../money.js";

function gallery(product: Product): HTMLElement {
  if (!product.images.length) {
    return h("div", { class: "gallery" }, h("div", { class: "placeholder large", "aria-hidden": "true" }, product.title.slice(0, 1)), h("p", { class: "meta" }, "No pictures yet."));
  }
  const big = h("img", { src: product.images[0]?.url ?? "", alt: `${product.title}, picture 1 of ${product.images.length}` });
  const thumbs = h(
    "ul",
    { class: "thumbs", "aria-label": "Pictures" },
    product.images.map((image, index) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            "aria-label": `Show picture ${index + 1}`,
            onclick: () => {
              big.src = image.url;
              big.alt = `${product.title}, picture ${index + 1} of ${product.images.length}`;
            },
          },
          h("img", { src: image.thumbnailUrl || image.url, alt: "" }),
        ),
      ),
    ),
  );
  return h("div", { class: "gallery" }, big, product.images.length > 1 ? thumbs : null);
}

export async function renderProduct(main: HTMLElement, route: Route): Promise<void> {
  const id = route.parts[1] ?? "";
  let product: Product;
  try {
    const reply = await catalog.getProduct({ id }, { signal: route.signal });
    if (!reply.product) throw new Error("no product in the reply");
    product = reply.product;
  } catch (error) {
    replace(main, h("h1", {}, "Product"), notice("error", describeError(error)));
    return;
  }
  const chosen = new Map<string, string>();
  const variantOf = (): ProductVariant | undefined => {
    if (!product.options.length) return product.variants[0];
    return product.variants.find((variant) => product.options.every((option) => variant.optionValues[option.name] === chosen.get(option.name)));
  };
  const price = h("p", { class: "price", "aria-live": "polite" });
  const stock = h("p", { class: "meta", "aria-live": "polite" });
  const quantity = h("input", { name: "quantity", type: "number", min: 1, max: 999, value: 1, inputmode: "numeric" });
  const add = h("button", { type: "submit" }, "Add to cart");
  const status = h("div", { class: "status-slot" });
  const update = (): void => {
    const variant = variantOf();
    const missing = product.options.filter((option) => !chosen.has(option.name)).map((option) => option.name);
    price.textContent = formatMoney(variant?.price ?? product.price);
    if (missing.length) {
      stock.textContent = `Choose ${missing.join(" and ")}.`;
      add.disabled = true;
    } else if (product.options.length && !variant) {
      stock.textContent = "This combination is not sold.";
      add.disabled = true;
    } else {
      const units = variant ? variant.stock : product.stock;
      stock.textContent = units > 0 ? `${units} in stock` : "Out of stock";
      add.disabled = units <= 0;
    }
  };
  const choices = product.options.map((option) =>
    h(
      "fieldset",
      { class: "choice" },
      h("legend", {}, option.name),
      option.values.map((value) =>
        h(
          "label",
          {},
          h("input", {
            type: "radio",
            name: `option-${option.name}`,
            value,
            onchange: () => {
              chosen.set(option.name, value);
              update();
            },
          }),
          ` ${value}`,
        ),
      ),
    ),
  );
  const form = h("form", { class: "buy" }, choices, field("Quantity", quantity), add);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!session()) {
      replace(status, notice("error", "Sign in to use the cart."), h("a", { href: `#/signin?next=${encodeURIComponent(`/product/${id}`)}` }, "Sign in"));
      return;
    }
    const variant = variantOf();
    replace(status, notice("status", "Adding…"));
    try {
      const reply = await cart.addCartItem({ productId: product.id, variantId: variant?.id ?? "", quantity: Number(quantity.value) || 1 });
      replace(status, notice("status", `Added. Your cart has ${reply.cart?.itemCount ?? 0} items.`), h("a", { href: "#/cart" }, "Go to the cart"));
    } catch (error) {
      replace(status, notice("error", describeError(error)));
    }
  });
  update();
  // Price and stock stay current while the page is open (WatchProduct, a server stream).
  void (async () => {
    try {
      for await (const change of catalog.watchProduct({ id }, { signal: route.signal })) {
        product.stock = change.stock;
        if (change.price) product.price = change.price;
        for (const watched of change.variants) {
          const known = product.variants.find((variant) => variant.id === watched.variantId);
          if (!known) continue;
          known.stock = watched.stock;
          if (watched.price) known.price = watched.price;
        }
        update();
      }
    } catch {
      // The page keeps what GetProduct said; adding to the cart checks the stock anyway.
    }
  })();
  const attributes = Object.entries(product.attributes);
  replace(
    main,
    h(
      "article",
      { class: "product" },
      gallery(product),
      h(
        "div",
        { class: "details" },
        h("h1", {}, product.title),
        h("p", { class: "meta" }, [product.brand, product.category].filter(Boolean).join(" · ")),
        price,
        stock,
        h("p", {}, product.description),
        attributes.length ? h("dl", {}, attributes.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)])) : null,
        form,
        status,
      ),
    ),
  );
}
