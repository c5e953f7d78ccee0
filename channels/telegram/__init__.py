"""The Telegram channel (aiogram 3): webhook or polling, replies, paced proactive messages."""

from channels.telegram.channel import CHANNEL, WEBHOOK_PATH, TelegramChannel, set_webhook
from channels.telegram.outbound import TelegramSender

__all__ = ["CHANNEL", "WEBHOOK_PATH", "TelegramChannel", "TelegramSender", "set_webhook"]
