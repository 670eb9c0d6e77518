import { create } from "@bufbuild/protobuf";
import { MoneySchema, type Money } from "@gen/marketplace/common/v1/money_pb.js";

function digits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** Money is integer minor units and a currency code: 1999 USD is $19.99. */
export function formatMoney(money: Money | undefined): string {
  if (!money || !money.currencyCode) return "—";
  const scale = 10 ** digits(money.currencyCode);
  const amount = Number(money.units) / scale;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: money.currencyCode }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${money.currencyCode}`;
  }
}

/** "19.99" in USD → 1999 units; undefined when the text is not an amount. */
export function parseMoney(text: string, currency: string): Money | undefined {
  const trimmed = text.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return undefined;
  const places = digits(currency);
  const [whole, fraction = ""] = trimmed.split(".");
  if (fraction.length > places) return undefined;
  const units = BigInt(whole + fraction.padEnd(places, "0"));
  return create(MoneySchema, { currencyCode: currency, units });
}
