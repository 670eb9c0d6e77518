import { auth, describeError, signIn } from "../api.js";
import { field, formValue, h, notice, replace } from "../dom.js";
import { Role } from "@gen/marketplace/common/v1/roles_pb.js";
import type { Route } from "../main.js";
import { navigate } from "../main.js";

function after(route: Route): string {
  const next = route.query.get("next") ?? "/";
  return next.startsWith("/") ? next : "/";
}

export function renderSignIn(main: HTMLElement, route: Route): void {
  const status = h("div", { class: "status-slot" });
  const form = h(
    "form",
    { novalidate: true },
    field("Email or username", h("input", { name: "login", autocomplete: "username", required: true })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(status, notice("status", "Signing in…"));
    try {
      const reply = await auth.login({ login: formValue(form, "login"), password: formValue(form, "password") });
      signIn(reply.user, reply.tokens?.accessToken ?? "", reply.tokens?.refreshToken ?? "");
      navigate(after(route));
    } catch (error) {
      replace(status, notice("error", describeError(error)));
    }
  });
  // After a password reset the new password is what signs in: say so where the user lands.
  const reset = route.query.get("reset") === "done";
  replace(
    main,
    h("h1", {}, "Sign in"),
    reset ? notice("status", "Your password was changed and every session signed out. Sign in with the new password.") : null,
    form,
    status,
    h("p", {}, h("a", { href: "#/forgot-password" }, "Forgot your password?")),
    h("p", {}, "No account yet? ", h("a", { href: `#/signup?next=${encodeURIComponent(after(route))}` }, "Sign up")),
  );
}

export function renderSignUp(main: HTMLElement, route: Route): void {
  const status = h("div", { class: "status-slot" });
  const store = field("Store name", h("input", { name: "store_name", autocomplete: "organization" }), "Required for sellers.");
  store.hidden = true;
  const roles = h(
    "fieldset",
    {},
    h("legend", {}, "I want to"),
    h("label", {}, h("input", { type: "radio", name: "role", value: "buyer", checked: true }), " buy"),
    h("label", {}, h("input", { type: "radio", name: "role", value: "seller" }), " sell (and buy)"),
  );
  roles.addEventListener("change", () => {
    store.hidden = formValue(form, "role") !== "seller";
  });
  const form = h(
    "form",
    { novalidate: true },
    field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    field(
      "Username",
      h("input", { name: "username", autocomplete: "username", required: true, pattern: "[a-z0-9_.]{3,32}" }),
      "3 to 32 lower-case letters, digits, _ or .",
    ),
    field(
      "Password",
      h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 10 }),
      "At least 10 characters.",
    ),
    field("Display name", h("input", { name: "display_name", autocomplete: "name" }), "Optional."),
    roles,
    store,
    h("button", { type: "submit" }, "Create account"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const seller = formValue(form, "role") === "seller";
    replace(status, notice("status", "Creating the account…"));
    try {
      const reply = await auth.register({
        email: formValue(form, "email"),
        username: formValue(form, "username"),
        password: formValue(form, "password"),
        displayName: formValue(form, "display_name"),
        role: seller ? Role.SELLER : Role.BUYER,
        storeName: seller ? formValue(form, "store_name") : "",
      });
      signIn(reply.user, reply.tokens?.accessToken ?? "", reply.tokens?.refreshToken ?? "");
      navigate(seller ? "/seller" : after(route));
    } catch (error) {
      replace(status, notice("error", describeError(error)));
    }
  });
  replace(
    main,
    h("h1", {}, "Sign up"),
    form,
    status,
    h("p", {}, "Already have an account? ", h("a", { href: `#/signin?next=${encodeURIComponent(after(route))}` }, "Sign in")),
  );
}
