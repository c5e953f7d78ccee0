"""Payment links and their outcome; the built-in sandbox checkout until real gateways arrive."""
