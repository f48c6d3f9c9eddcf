"""Review: what a change does, seen from its synthesized JSON."""
