"""The Slack channel (slack-bolt async): events, the /rsv command, Block Kit, paced delivery."""

from channels.slack.channel import CHANNEL, EVENTS_PATH, SlackChannel
from channels.slack.outbound import SlackSender

__all__ = ["CHANNEL", "EVENTS_PATH", "SlackChannel", "SlackSender"]
