"""The Slack channel (slack-bolt async): events, the /rsv command, Block Kit, paced delivery."""
