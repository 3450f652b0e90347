"""The console adapter: the embedded default, with no tokens, no network and no LLM."""
