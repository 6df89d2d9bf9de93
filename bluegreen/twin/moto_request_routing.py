"""Speed only, no AWS behaviour: moto lists its own package directory on every request to route it.

That listing took a tenth of the twin's time in a release; the list never changes in a running process, so it is
computed once.
"""

from __future__ import annotations

from moto import backends

from bluegreen.twin.patching import Patches

_services = tuple(backends.list_of_moto_modules())
patches = Patches(__name__, (backends, "list_of_moto_modules", lambda: _services))
install, uninstall = patches.install, patches.uninstall
