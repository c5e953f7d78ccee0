"""Messages the bot sends by itself around a stay (before, on and after it, and after an
abandoned booking), and the guest's consent to them."""
