"""How a twin module changes moto: it lists the attributes it replaces, so the change can be put in and taken out.

Taking one behaviour out while the others stay in is what lets each fidelity test show that plain moto gets that
behaviour wrong (tests/twin/fidelity). One attribute belongs to one behaviour: two modules replacing the same
attribute would silently undo each other, so `install` refuses it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_MISSING = object()
_lock = threading.RLock()
_owners: dict[tuple[int, str], str] = {}  # (id of the patched object, attribute) -> the behaviour that patched it


def _read(owner: Any, attribute: str) -> Any:
    if isinstance(owner, dict):
        return owner.get(attribute, _MISSING)
    # The raw class or module attribute (a classmethod stays a classmethod), not what getattr would bind.
    return vars(owner).get(attribute, _MISSING)


def _write(owner: Any, attribute: str, value: Any) -> None:
    if isinstance(owner, dict):
        if value is _MISSING:
            owner.pop(attribute, None)
        else:
            owner[attribute] = value
    elif value is _MISSING:
        delattr(owner, attribute)
    else:
        setattr(owner, attribute, value)


class Patches:
    """The replacements one behaviour makes: (object, attribute or dict key, new value), applied in order."""

    def __init__(self, name: str, *replacements: tuple[Any, str, Any]) -> None:
        self.name = name
        self._replacements = list(replacements)
        self._saved: list[tuple[Any, str, Any]] = []

    @property
    def installed(self) -> bool:
        return bool(self._saved)

    def install(self) -> None:
        with _lock:
            if self.installed or not self._replacements:
                return
            for owner, attribute, _ in self._replacements:
                holder = _owners.get((id(owner), attribute))
                if holder is not None and holder != self.name:
                    raise RuntimeError(f"{self.name} and {holder} both replace {owner!r}.{attribute}")
            for owner, attribute, value in self._replacements:
                self._saved.append((owner, attribute, _read(owner, attribute)))
                _owners[(id(owner), attribute)] = self.name
                _write(owner, attribute, value)

    def uninstall(self) -> None:
        with _lock:
            for owner, attribute, original in reversed(self._saved):
                _write(owner, attribute, original)
                _owners.pop((id(owner), attribute), None)
            self._saved.clear()

    @contextlib.contextmanager
    def removed(self) -> Iterator[None]:
        """Plain moto for this behaviour inside the block; as it was after."""
        was_installed = self.installed
        self.uninstall()
        try:
            yield
        finally:
            if was_installed:
                self.install()
