// A forgotten password: ask for a reset email (RequestPasswordReset), then set a new password with the token from
// the emailed link (ResetPassword). Neither page ever says whether an address has an account.
import { Code } from "@connectrpc/connect";
import { describeError, errorCode, publicAuth, signOut } from "../api.js";
import { field, formValue, h, notice, replace } from "../dom.js";
import type { Route } from "../main.js";
import { navigate } from "../main.js";

// The same words whether or not the address has an account: the page must not tell who is a customer.
const SENT =
  "If an account exists for that address, an email with a link to choose a new password is on its way. " +
  "The link works once, for a limited time.";

export function renderForgotPassword(main: HTMLElement): void {
  const status = h("div", { class: "status-slot" });
  const form = h(
    "form",
    { novalidate: true },
    field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    h("button", { type: "submit" }, "Email me a reset link"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(status, notice("status", "Sending…"));
    try {
      await publicAuth.requestPasswordReset({ email: formValue(form, "email") });
      replace(status, notice("status", SENT));
    } catch (error) {
      const code = errorCode(error);
      const text = code === Code.InvalidArgument ? "Please enter a valid email address." : describeError(error);
      replace(status, notice("error", text));
    }
  });
  replace(
    main,
    h("h1", {}, "Forgot your password?"),
    h("p", {}, "Enter the email address of your account and we will send you a link to choose a new password."),
    form,
    status,
    h("p", {}, h("a", { href: "#/signin" }, "Back to sign in")),
  );
}

export function renderResetPassword(main: HTMLElement, route: Route): void {
  const token = route.query.get("token") ?? "";
  if (token) {
    // The token is a password for this account until it is used: out of the address bar and the tab's history
    // as soon as it is read (it stays in this page's memory only).
    window.history.replaceState(window.history.state, "", "#/reset-password");
  }
  const again = h("p", {}, h("a", { href: "#/forgot-password" }, "Ask for a new reset link"));
  if (!token) {
    replace(
      main,
      h("h1", {}, "Choose a new password"),
      notice("error", "This page needs the link from the reset email. Open the link from the email again."),
      again,
    );
    return;
  }
  const status = h("div", { class: "status-slot" });
  const form = h(
    "form",
    { novalidate: true },
    field(
      "New password",
      h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 10 }),
      "At least 10 characters.",
    ),
    field(
      "Repeat the new password",
      h("input", { name: "repeat", type: "password", autocomplete: "new-password", required: true, minlength: 10 }),
    ),
    h("button", { type: "submit" }, "Set the new password"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // Trimmed as sign-up and sign-in trim it, so the password set here is the one that signs in.
    const newPassword = formValue(form, "password");
    if (newPassword !== formValue(form, "repeat")) {
      replace(status, notice("error", "The two passwords differ. Type the same new password twice."));
      return;
    }
    if (newPassword.length < 10) {
      replace(status, notice("error", "The new password needs at least 10 characters."));
      return;
    }
    replace(status, notice("status", "Setting the new password…"));
    try {
      await publicAuth.resetPassword({ resetToken: token, newPassword });
      // The reset ended every session of the account, this tab's included.
      signOut();
      navigate("/signin?reset=done");
    } catch (error) {
      const code = errorCode(error);
      const text =
        code === Code.Unauthenticated
          ? "This reset link no longer works: it has expired or was already used. Ask for a new one."
          : describeError(error);
      replace(status, notice("error", text), code === Code.Unauthenticated ? again : null);
    }
  });
  replace(main, h("h1", {}, "Choose a new password"), form, status);
}
