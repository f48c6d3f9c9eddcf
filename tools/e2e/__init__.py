"""``make e2e``: the whole lifecycle of a suffixed copy, twice, against a local AWS emulator.

Modules:

- :mod:`tools.e2e.discovery`: ``terraform`` and an offline ``hashicorp/aws`` provider
  (filesystem mirror or plugin cache), and the private CLI configuration that
  installs only from it;
- :mod:`tools.e2e.version_gap`: the 6.x-only attributes removed when the provider
  found is older;
- :mod:`tools.e2e.moto_patches` and :mod:`tools.e2e.moto_server`: moto in server
  mode on a loopback port, with the few patches the provider needs;
- :mod:`tools.e2e.emulator`: starts and always stops that server;
- :mod:`tools.e2e.leftovers`: what the emulator still holds of the copy after destroy;
- :mod:`tools.e2e.lifecycle`: the phases, their timings and the summary.

Run it with ``make e2e`` (or ``.venv/bin/python -m tools.e2e``).
"""
