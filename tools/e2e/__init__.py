"""``make e2e``: the whole lifecycle of a suffixed copy, twice, against a local AWS emulator.

Modules:

- :mod:`tools.e2e.leftovers`: what the emulator still holds of the copy after destroy;
- :mod:`tools.e2e.lifecycle`: the phases, their timings and the summary.

The emulator itself and the offline provider are :mod:`tools.emulator`'s.  Run it with
``make e2e`` (or ``.venv/bin/python -m tools.e2e``).
"""
