"""Every word the bot says, as data: message catalogs per language and session formats."""
