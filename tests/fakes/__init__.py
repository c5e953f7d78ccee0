"""Local servers that answer like the providers' documented APIs: the payment gateways (Stripe,
Mercado Pago, PayPal, on ``base.FakeProvider``) and the chat platforms (Telegram, Slack, Discord,
each standing alone). The tests and the benchmarks in bench/ use them."""
