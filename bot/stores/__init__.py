"""Where the bot keeps what outlives a turn: in Redis when configured, in this process otherwise.

``bundle.build_stores`` is the one place that chooses the backend; the composition root calls
it once and hands each member of the ``Stores`` bundle to its owner. Contracts are in ``base``,
the backends in ``memory`` and ``redis`` (one file per family), the relational database in
``database`` and ``migrations``. The package imports nothing itself, so what needs only the
database or the keys does not load the Redis client.
"""
