"""The Discord channel (discord.py 2): direct messages, /rsv, buttons, role-based staff."""

from channels.discord.channel import CHANNEL, DiscordChannel
from channels.discord.outbound import DiscordSender

__all__ = ["CHANNEL", "DiscordChannel", "DiscordSender"]
