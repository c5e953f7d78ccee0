"""Every Redis key the engine writes, in one place; capabilities keep theirs beside their stores,
under the same ``PREFIX``.

Per-conversation keys share a ``{hash tag}`` so that Redis Cluster keeps each conversation's keys
in one slot, where the order scripts need them.
"""

PREFIX = "rsv"


def dedupe(conversation_key: str, update_id: str) -> str:
    return f"{PREFIX}:dedupe:{{{conversation_key}}}:{update_id}"


def session(conversation_key: str) -> str:
    return f"{PREFIX}:session:{{{conversation_key}}}"


def message_window(conversation_key: str, user_id: str, amount: int, seconds: int) -> str:
    """The user's recent messages in the conversation: a moving window of at most ``amount``
    in ``seconds`` (``bot.stores.base.Counted``). A new limit counts from its first message, as
    the ``limits`` library's windows do."""
    return f"{PREFIX}:window:{{{conversation_key}}}:{user_id}:{amount}/{seconds}"


def order_queue(conversation_key: str) -> str:
    return f"{PREFIX}:order:{{{conversation_key}}}:queue"


def order_ticket(conversation_key: str, ticket: str) -> str:
    return f"{PREFIX}:order:{{{conversation_key}}}:ticket:{ticket}"


def order_wake(conversation_key: str, ticket: str) -> str:
    return f"{PREFIX}:order:{{{conversation_key}}}:wake:{ticket}"


EXPOSURES = f"{PREFIX}:experiments:exposures"
RATE_LIMIT_PREFIX = f"{PREFIX}:limits"


def exposure_counts(experiment: str) -> str:
    return f"{PREFIX}:experiments:{experiment}:counts"


def pending_replies(conversation_key: str) -> str:
    """Replies pushed to a conversation while it had no open connection."""
    return f"{PREFIX}:pending:{{{conversation_key}}}"


def media(key: str) -> str:
    """A published picture's bytes and content type."""
    return f"{PREFIX}:media:{key}"


def short_payload(key: str) -> str:
    """A button payload too long for a provider's callback field, under its short key."""
    return f"{PREFIX}:payload:{key}"


def unreachable(address_key: str) -> str:
    """A chat that refused our messages (a Telegram user who blocked the bot)."""
    return f"{PREFIX}:unreachable:{address_key}"


WEB_WAKEUPS = f"{PREFIX}:web:wakeups"
"""Pub/sub: a conversation has replies waiting; the process holding its socket sends them."""


def outbox(address_key: str) -> str:
    """Messages the bot started, waiting for a provider chat (the durable outbox)."""
    return f"{PREFIX}:outbox:{{{address_key}}}"


def outbox_lease(address_key: str) -> str:
    """Held by the one job that drains a chat's outbox."""
    return f"{PREFIX}:outbox:{{{address_key}}}:lease"


def outbox_next(address_key: str) -> str:
    """When the chat may get its next message (epoch seconds), whichever process sends it."""
    return f"{PREFIX}:outbox:{{{address_key}}}:next"


JOB_STREAM = f"{PREFIX}:jobs"
"""The job queue's Redis stream (taskiq's consumer group ``rsv360`` reads it)."""
JOB_SCHEDULE_LEASE = f"{PREFIX}:jobs:schedule"
"""Held by the one process that enqueues the periodic jobs."""
