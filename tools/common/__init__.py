"""What every tool shares: one-line command-line errors, one-line AWS errors, and the facts about a stack read from its synthesized JSON."""
