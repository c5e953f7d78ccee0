"""Payment links and their outcome through Stripe, Mercado Pago, PayPal or the built-in sandbox;
the ledger, refunds by policy and reconciliation."""
