// The services, called with gRPC-Web through the edge (same origin: the page and the API share Envoy's port).
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuthService, type User } from "@gen/marketplace/auth/v1/auth_pb.js";
import { CartService } from "@gen/marketplace/cart/v1/cart_pb.js";
import { CatalogService } from "@gen/marketplace/catalog/v1/catalog_pb.js";
import { Role } from "@gen/marketplace/common/v1/roles_pb.js";
import { NotifyService } from "@gen/marketplace/notify/v1/notify_pb.js";
import { OrderService } from "@gen/marketplace/order/v1/order_pb.js";
import { PaymentService } from "@gen/marketplace/payment/v1/payment_pb.js";
import { SellerService } from "@gen/marketplace/seller/v1/seller_pb.js";

const SESSION_KEY = "marketplace-mesh.session";

export interface Session {
  accessToken: string;
  refreshToken: string;
  userId: string;
  email: string;
  username: string;
  displayName: string;
  role: Role;
  storeName: string;
}

// Kept for the tab only (sessionStorage): closing the tab signs out.
let current: Session | null = load();
const listeners = new Set<() => void>();

function load(): Session | null {
  try {
    const text = sessionStorage.getItem(SESSION_KEY);
    return text ? (JSON.parse(text) as Session) : null;
  } catch {
    return null;
  }
}

export function session(): Session | null {
  return current;
}

export function onSessionChange(listener: () => void): void {
  listeners.add(listener);
}

export function signIn(user: User | undefined, accessToken: string, refreshToken: string): void {
  current = {
    accessToken,
    refreshToken,
    userId: user?.id ?? "",
    email: user?.email ?? "",
    username: user?.username ?? "",
    displayName: user?.displayName ?? "",
    role: user?.role ?? Role.BUYER,
    storeName: user?.storeName ?? "",
  };
  save();
}

export function signOut(): void {
  current = null;
  save();
}

function save(): void {
  if (current) sessionStorage.setItem(SESSION_KEY, JSON.stringify(current));
  else sessionStorage.removeItem(SESSION_KEY);
  for (const listener of listeners) listener();
}

export function isSeller(): boolean {
  return current?.role === Role.SELLER || current?.role === Role.ADMIN;
}

let refreshing: Promise<boolean> | null = null;

/** Trades the refresh token for new tokens once; false (and signed out) when that fails. */
async function refresh(): Promise<boolean> {
  const held = current;
  if (!held?.refreshToken) return false;
  refreshing ??= (async () => {
    try {
      const reply = await authClient.refreshToken({ refreshToken: held.refreshToken });
      if (!reply.tokens || !current) return false;
      current = { ...current, accessToken: reply.tokens.accessToken, refreshToken: reply.tokens.refreshToken };
      save();
      return true;
    } catch {
      signOut();
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

// Every call carries the access token; an expired one is refreshed once and the (unary) call retried.
const bearer: Interceptor = (next) => async (request) => {
  const token = current?.accessToken;
  if (token) request.header.set("authorization", `Bearer ${token}`);
  try {
    return await next(request);
  } catch (error) {
    const retry =
      token &&
      !request.stream &&
      request.method.name !== "RefreshToken" &&
      ConnectError.from(error).code === Code.Unauthenticated &&
      (await refresh());
    if (!retry || !current) throw error;
    request.header.set("authorization", `Bearer ${current.accessToken}`);
    return next(request);
  }
};

const transport = createGrpcWebTransport({
  baseUrl: window.location.origin,
  useBinaryFormat: true,
  interceptors: [bearer],
});

const authClient = createClient(AuthService, transport);
export const auth = authClient;
export const catalog = createClient(CatalogService, transport);
export const cart = createClient(CartService, transport);
export const orders = createClient(OrderService, transport);
export const payments = createClient(PaymentService, transport);
export const sellers = createClient(SellerService, transport);
export const notifications = createClient(NotifyService, transport);

// The password reset calls are public and carry no token: a stale one kept in this tab would be refused by the
// edge (a sent token must be valid), and the reset signs every session out anyway.
const anonymous = createGrpcWebTransport({ baseUrl: window.location.origin, useBinaryFormat: true });
export const publicAuth = createClient(AuthService, anonymous);

/** A sentence for a failed call: the service's own message, and what to do for the common codes. */
export function describeError(error: unknown): string {
  const failure = ConnectError.from(error);
  const message = failure.rawMessage || Code[failure.code];
  if (isRateLimited(failure)) return tooMany(failure);
  switch (failure.code) {
    case Code.Unauthenticated:
      return `Please sign in again (${message}).`;
    case Code.PermissionDenied:
      return `Not allowed: ${message}`;
    case Code.Unavailable:
      return `The service cannot be reached right now; try again (${message}).`;
    case Code.Unimplemented:
      return `This is not offered by the service yet (${message}).`;
    default:
      return message;
  }
}

/**
 * The edge's rate limits (sign-in, sign-up, password reset) answer gRPC-Web as they answer gRPC: a
 * RESOURCE_EXHAUSTED reply with `retry-after` (seconds); a service's own limit is RESOURCE_EXHAUSTED too.
 */
function isRateLimited(failure: ConnectError): boolean {
  return failure.code === Code.ResourceExhausted;
}

function tooMany(failure: ConnectError): string {
  const seconds = Number(failure.metadata.get("retry-after") ?? "");
  const wait = Number.isFinite(seconds) && seconds > 0 ? `about ${seconds} seconds` : "a minute";
  return `Too many attempts from here. Please wait ${wait} and try again.`;
}

export function errorCode(error: unknown): Code {
  return ConnectError.from(error).code;
}

export function isCanceled(error: unknown): boolean {
  return ConnectError.from(error).code === Code.Canceled;
}

export function newRequestId(): string {
  return crypto.randomUUID();
}
