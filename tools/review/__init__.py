"""Review: what a change does, seen from its synthesized JSON (synth diff, pull-request comment, policy scan, golden files)."""
