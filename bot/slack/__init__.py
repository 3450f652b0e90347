"""The Slack adapter: slack-bolt listeners, Block Kit rendering, the Web API sender."""
