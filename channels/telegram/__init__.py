"""The Telegram channel (aiogram 3): webhook or polling, replies, paced proactive messages.

``channel`` and ``outbound`` load aiogram; ``registration`` does not, so the command line can
register the webhook without paying for aiogram's start-up.
"""
