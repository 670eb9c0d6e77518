"""Payment providers behind one port (`port.Provider`): `local` (no account, ConfirmPayment decides) and `stripe`
(PaymentIntents and Refunds through Stripe's SDK)."""
