"""Speed only, no AWS behaviour: every botocore session in the process shares what its loader has read.

A botocore session reads each service's model, and the endpoints and endpoint rules, from botocore's JSON files
once, and keeps them for its clients. The twin's process makes many sessions: one per test module's stack (its
`Aws`), one per deploy, and moto one per account and service when it lists regions. Each read them all again: a
twentieth of the test suite's CPU went to parsing the same JSON. Here every session's loader keeps what it reads in
one cache per search path (loaders with other data paths share nothing). What a loader returns was already shared by
all clients of a session, which only read it; botocore registers no handler that changes a loaded model.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from botocore import session as botocore_session
from botocore.loaders import Loader

from bluegreen.twin.patching import Patches

_caches: dict[tuple[str, ...], dict[Any, Any]] = {}
_lock = threading.Lock()


class SharedCacheLoader(Loader):
    """A botocore Loader whose cache (`instance_cache`'s `_cache`) is the one of every loader with its search path.

    boto3 appends its own data path to a session's loader after making it, so the cache is looked up at each read."""

    @property
    def _cache(self) -> dict[Any, Any]:
        key = tuple(self.search_paths)
        cache = _caches.get(key)
        if cache is None:
            with _lock:
                cache = _caches.setdefault(key, {})
        return cache

    @_cache.setter
    def _cache(self, value: dict[Any, Any]) -> None:
        pass  # Loader.__init__ sets an empty one; the shared one stands instead


def _create_loader(search_path_string: str | None = None) -> Loader:
    """botocore.loaders.create_loader (AWS_DATA_PATH's folders, then the default ones), making a SharedCacheLoader."""
    if search_path_string is None:
        return SharedCacheLoader()
    paths = [os.path.expanduser(os.path.expandvars(path)) for path in search_path_string.split(os.pathsep)]
    return SharedCacheLoader(extra_search_paths=paths)


patches = Patches(__name__, (botocore_session, "create_loader", _create_loader))
install, uninstall = patches.install, patches.uninstall
