"""Speed only, no AWS behaviour: moto lists its own package directory on every request to route it, and every method
of the service's response class (`inspect.getmembers`) to find out whether the request's action is one of them.

The directory listing took a tenth of the twin's time in a release; the list never changes in a running process, so
it is computed once. The method listing took a fiftieth of the test suite's CPU: moto only asks whether the action's
name is among them, which one lookup of that name answers the same way (a twin behaviour that patches a method in is
seen, as before).
"""

from __future__ import annotations

import inspect

from moto import backends
from moto.core import responses

from bluegreen.twin.patching import Patches

_services = tuple(backends.list_of_moto_modules())


class _MethodNames:
    """The names `inspect.getmembers(cls, inspect.isfunction)` would list, for `name in ...` only."""

    def __init__(self, cls: type) -> None:
        self._cls = cls

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self._cls, name, None))


patches = Patches(
    __name__,
    (backends, "list_of_moto_modules", lambda: _services),
    (responses, "method_names_from_class", _MethodNames),
)
install, uninstall = patches.install, patches.uninstall
