"""A person instead of the bot: the guest's request, and staff taking the conversation over."""
