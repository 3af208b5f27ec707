"""Answer writers: extractive (default, no LLM) and, optionally, an LLM."""
