"""Speed only, no AWS behaviour: moto's response serializer works out once where each field of a response is kept.

For every field of every object it puts in a response, moto's serializer asks six alias providers (an explicit alias
in the object's `Meta`, the shape's name, the key itself, the key less its shape's or class's prefix, the model's
serialization name) which attribute names to try, building each provider anew: a tenth of the twin's CPU in the test
suite went there. The answer depends only on the picker's kind and providers, the object's class and `Meta`, the key
and the shape (and the structure it sits in), which are all the same from one response to the next; it is kept per
those. The value is still read from the object at each response, and the response transformers still apply.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.core import serialize
from moto.core.utils import get_value

from bluegreen.twin.patching import Patches

_keys: dict[tuple[Any, ...], tuple[str, ...]] = {}
_lock = threading.Lock()
LIMIT = 100_000  # (kind of object, field) pairs kept; the twin's responses use a few thousand


def _possible_keys(picker: serialize.AttributePicker, context: serialize.AttributePickerContext) -> tuple[str, ...]:
    obj, shape = context.obj, context.shape
    cache_key = (
        type(picker),
        tuple(picker.alias_providers),
        type(obj),
        getattr(obj, "Meta", None),
        context.key,
        shape,
        getattr(shape, "parent", None),
    )
    found = _keys.get(cache_key)
    if found is None:
        found = tuple(picker.get_possible_keys(context))
        with _lock:
            if len(_keys) >= LIMIT:
                _keys.clear()
            _keys[cache_key] = found
    return found


def _pick(self: serialize.AttributePicker, context: serialize.AttributePickerContext) -> Any:
    """moto's AttributePicker.__call__, with the attribute names to try worked out once (`_possible_keys`)."""
    obj = context.obj
    for possible_key in _possible_keys(self, context):
        value = get_value(obj, possible_key, serialize.MISSING)
        if value is not serialize.MISSING:
            break
    else:
        value = None
    key_path = f"{context.key_path}.{context.key}"
    for transform_path, transform in self.response_transformers.items():
        if key_path.endswith(transform_path):
            value = transform(value)
            break
    return value


patches = Patches(__name__, (serialize.AttributePicker, "__call__", _pick))
install, uninstall = patches.install, patches.uninstall
