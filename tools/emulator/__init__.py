"""The local AWS emulator and the offline provider: what ``make e2e`` and ``make emulator`` share.

- :mod:`tools.emulator.discovery`: ``terraform`` and an offline ``hashicorp/aws`` provider
  (filesystem mirror or plugin cache), and the private CLI configuration that installs
  only from it;
- :mod:`tools.emulator.version_gap`: the 6.x-only attributes removed when the provider
  found is older;
- :mod:`tools.emulator.patches` and :mod:`tools.emulator.server`: moto in server mode on
  a loopback port, with the few patches the provider needs;
- :mod:`tools.emulator.control`: starts and always stops that server.
"""
