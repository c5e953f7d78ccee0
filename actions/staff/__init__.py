"""Staff accounts: who may open the console, their chat identities, their sessions, and the
audit log of every sign-in, failure and change."""
