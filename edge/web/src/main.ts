// The storefront: a hash router, the header and the pages. Each page renders into <main> and gets an
// AbortSignal that fires when the visitor leaves it (which ends its streams).
import "./style.css";
import { isSeller, onSessionChange, session, signOut } from "./api.js";
import { h, replace } from "./dom.js";
import { assistantPanel } from "./pages/assistant.js";
import { renderSignIn, renderSignUp } from "./pages/account.js";
import { renderBrowse } from "./pages/browse.js";
import { renderCart } from "./pages/cart.js";
import { renderCheckout } from "./pages/checkout.js";
import { renderNotifications } from "./pages/notifications.js";
import { renderOrder, renderOrders } from "./pages/orders.js";
import { renderForgotPassword, renderResetPassword } from "./pages/password.js";
import { renderProduct } from "./pages/product.js";
import { renderSeller, renderSellerNew } from "./pages/seller.js";

export interface Route {
  parts: string[];
  query: URLSearchParams;
  signal: AbortSignal;
}

type Page = (main: HTMLElement, route: Route) => void | Promise<void>;

const pages: Record<string, Page> = {
  "": renderBrowse,
  product: renderProduct,
  cart: renderCart,
  checkout: renderCheckout,
  orders: (main, route) => (route.parts[1] ? renderOrder(main, route) : renderOrders(main, route)),
  seller: (main, route) => (route.parts[1] === "new" ? renderSellerNew(main, route) : renderSeller(main, route)),
  signin: renderSignIn,
  signup: renderSignUp,
  "forgot-password": renderForgotPassword,
  "reset-password": renderResetPassword,
  notifications: renderNotifications,
};

/** Goes to a page: `navigate("/orders/" + id)`. */
export function navigate(path: string): void {
  const hash = `#${path}`;
  if (window.location.hash === hash) void show();
  else window.location.hash = hash;
}

const main = h("main", { id: "main", tabindex: -1 });
const nav = h("nav", { "aria-label": "Main" });
const assistant = assistantPanel();
let leaving: AbortController | null = null;

function link(path: string, text: string, current: string): HTMLAnchorElement {
  const active = current === path || (path !== "/" && current.startsWith(path));
  return h("a", { href: `#${path}`, "aria-current": active ? "page" : null }, text);
}

function renderNav(): void {
  const current = (window.location.hash.slice(1) || "/").split("?")[0] ?? "/";
  const who = session();
  const items: (HTMLElement | null)[] = [
    link("/", "Shop", current),
    link("/cart", "Cart", current),
    who ? link("/orders", "My orders", current) : null,
    who ? link("/notifications", "My notifications", current) : null,
    who && isSeller() ? link("/seller", "Seller", current) : null,
  ];
  const account = who
    ? h(
        "span",
        { class: "account" },
        h("span", { "data-testid": "signed-in-as" }, `Signed in as ${who.displayName || who.username}`),
        h(
          "button",
          {
            type: "button",
            onclick: () => {
              signOut();
              navigate("/");
            },
          },
          "Sign out",
        ),
      )
    : h("span", { class: "account" }, link("/signin", "Sign in", current), link("/signup", "Sign up", current));
  replace(nav, h("ul", {}, items.filter(Boolean).map((item) => h("li", {}, item))), account, assistant.toggle);
}

async function show(): Promise<void> {
  leaving?.abort();
  leaving = new AbortController();
  const [path = "/", search = ""] = window.location.hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const page = pages[parts[0] ?? ""] ?? renderNotFound;
  const signal = leaving.signal;
  renderNav();
  // Each visit renders into its own element: a page still loading when the visitor moves on fills an element
  // that is no longer shown.
  const view = h("div", { class: "view" });
  main.replaceChildren(view);
  main.setAttribute("aria-busy", "true");
  try {
    await page(view, { parts, query: new URLSearchParams(search), signal });
  } finally {
    if (!signal.aborted) main.removeAttribute("aria-busy");
  }
  if (signal.aborted) return;
  // Keyboard and screen reader users land on the new page's heading.
  const heading = view.querySelector<HTMLElement>("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
    document.title = `${heading.textContent ?? ""} · marketplace-mesh`;
  }
}

function renderNotFound(target: HTMLElement): void {
  replace(target, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the shop")));
}

function start(): void {
  const skip = h(
    "a",
    {
      class: "skip",
      href: "#main",
      onclick: (event: Event) => {
        event.preventDefault();
        main.focus();
      },
    },
    "Skip to content",
  );
  const header = h("header", {}, h("a", { class: "brand", href: "#/" }, "marketplace-mesh"), nav);
  document.body.replaceChildren(skip, header, h("div", { class: "layout" }, main, assistant.panel));
  onSessionChange(renderNav);
  window.addEventListener("hashchange", () => void show());
  void show();
}

start();
