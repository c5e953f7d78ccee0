"""Work outside a guest's turn: one job queue for every process (see ``bot.jobs.queue``)."""
