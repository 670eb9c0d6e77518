import { create } from "@bufbuild/protobuf";
import {
  ProductFilterSchema,
  ProductOrder,
  SearchMode,
  type Product,
} from "@gen/marketplace/catalog/v1/catalog_pb.js";
import { catalog, describeError } from "../api.js";
import { field, h, notice, replace } from "../dom.js";
import type { Route } from "../main.js";
import { navigate } from "../main.js";
import { formatMoney, parseMoney } from "../money.js";

const PAGE_SIZE = 12;
const CURRENCY = "USD";
// The page tokens of the pages before this one, per filter, for "Previous".
const earlier = new Map<string, string[]>();

const SORTS: [ProductOrder, string][] = [
  [ProductOrder.UNSPECIFIED, "Best match / newest"],
  [ProductOrder.NEWEST, "Newest"],
  [ProductOrder.PRICE_ASCENDING, "Price: low to high"],
  [ProductOrder.PRICE_DESCENDING, "Price: high to low"],
  [ProductOrder.TITLE, "Title"],
];

export function productCard(product: Product): HTMLElement {
  const image = product.images[0];
  const stock = product.variants.length
    ? product.variants.reduce((sum, variant) => sum + variant.stock, 0)
    : product.stock;
  return h(
    "li",
    { class: "card" },
    image
      ? h("img", { src: image.thumbnailUrl || image.url, alt: "", loading: "lazy" })
      : h("div", { class: "placeholder", "aria-hidden": "true" }, product.title.slice(0, 1)),
    h("h3", {}, h("a", { href: `#/product/${encodeURIComponent(product.id)}` }, product.title)),
    h("p", { class: "price" }, formatMoney(product.price)),
    h("p", { class: "meta" }, [product.brand, product.category].filter(Boolean).join(" · ")),
    h("p", { class: stock > 0 ? "meta" : "meta out" }, stock > 0 ? `${stock} in stock` : "Out of stock"),
  );
}

export async function renderBrowse(main: HTMLElement, route: Route): Promise<void> {
  const q = route.query;
  const query = q.get("q") ?? "";
  const category = q.get("category") ?? "";
  const min = q.get("min") ?? "";
  const max = q.get("max") ?? "";
  const inStock = q.get("stock") === "1";
  const sort = Number(q.get("sort") ?? "0") as ProductOrder;
  const page = q.get("page") ?? "";
  const key = JSON.stringify([query, category, min, max, inStock, sort]);

  const categories = h("select", { name: "category" }, h("option", { value: "" }, "All categories"));
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Products" },
    field("Search", h("input", { name: "q", type: "search", value: query, placeholder: "shoes, mug…" })),
    field("Category", categories),
    field("Min price ($)", h("input", { name: "min", inputmode: "decimal", value: min, size: 6 })),
    field("Max price ($)", h("input", { name: "max", inputmode: "decimal", value: max, size: 6 })),
    h("div", { class: "field checkbox" }, h("label", {}, h("input", { type: "checkbox", name: "stock", value: "1", checked: inStock }), " In stock only")),
    field(
      "Sort by",
      h("select", { name: "sort" }, SORTS.map(([value, label]) => h("option", { value, selected: value === sort }, label))),
    ),
    h("button", { type: "submit" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (typeof value === "string" && value.trim() && !(name === "sort" && value === "0")) params.set(name, value.trim());
    }
    navigate(`/?${params}`);
  });
  const results = h("section", { "aria-labelledby": "results-title" });
  replace(main, h("h1", {}, query ? `Results for “${query}”` : "Shop"), form, results);

  catalog
    .listCategories({}, { signal: route.signal })
    .then((reply) => {
      for (const item of reply.categories) {
        categories.append(h("option", { value: item.name, selected: item.name === category }, `${item.name} (${item.productCount})`));
      }
    })
    .catch(() => undefined);

  const minPrice = min ? parseMoney(min, CURRENCY) : undefined;
  const maxPrice = max ? parseMoney(max, CURRENCY) : undefined;
  if ((min && !minPrice) || (max && !maxPrice)) {
    replace(results, h("h2", { id: "results-title" }, "Products"), notice("error", "Prices are amounts like 19.99."));
    return;
  }
  const filter = create(ProductFilterSchema, { category, inStock, minPrice, maxPrice });
  let products: Product[];
  let next: string;
  try {
    if (query) {
      const reply = await catalog.searchProducts(
        { query, mode: SearchMode.LEXICAL, filter, orderBy: sort, pageSize: PAGE_SIZE, pageToken: page },
        { signal: route.signal },
      );
      products = reply.hits.flatMap((hit) => (hit.product ? [hit.product] : []));
      next = reply.nextPageToken;
    } else {
      const reply = await catalog.listProducts({ filter, orderBy: sort, pageSize: PAGE_SIZE, pageToken: page }, { signal: route.signal });
      products = reply.products;
      next = reply.nextPageToken;
    }
  } catch (error) {
    replace(results, h("h2", { id: "results-title" }, "Products"), notice("error", describeError(error)));
    return;
  }
  const before = earlier.get(key) ?? [];
  const go = (token: string): void => {
    const params = new URLSearchParams(q);
    if (token) params.set("page", token);
    else params.delete("page");
    navigate(`/?${params}`);
  };
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  if (page) {
    pager.append(
      h("button", {
        type: "button",
        onclick: () => {
          earlier.set(key, before.slice(0, -1));
          go(before.at(-1) ?? "");
        },
      }, "Previous page"),
    );
  }
  if (next) {
    pager.append(
      h("button", {
        type: "button",
        onclick: () => {
          earlier.set(key, [...before, page]);
          go(next);
        },
      }, "Next page"),
    );
  }
  replace(
    results,
    h("h2", { id: "results-title" }, "Products"),
    h("p", { role: "status" }, products.length ? `${products.length} products on this page` : "No products match."),
    h("ul", { class: "grid", "data-testid": "products" }, products.map(productCard)),
    pager,
  );
}
