"""The Discord channel (discord.py 2): direct messages, /rsv, buttons, role-based staff."""
