"""moto 5.2 stores a parameter value of any length in any tier; Parameter Store caps the value by the tier.

Real AWS (Systems Manager API, "PutParameter", Value): "Standard parameters have a value limit of 4 KB. Advanced
parameters have a value limit of 8 KB." ("Managing parameter tiers": "Maximum size of a parameter value" 4 KB
standard, 8 KB advanced.) A Standard parameter (the tier asked for, or the parameter's tier when an overwrite names
none, or the default tier) with a value over 4,096 characters is refused with `ValidationException` "Standard tier
parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the
parameter to use the advanced-parameter tier. For more information, see
https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"; an Advanced
one over 8,192 characters is refused with `ValidationException` too (that wording is the twin's own).
`Intelligent-Tiering` makes the parameter Advanced when its value needs it, else Standard (PutParameter, Tier), so it
reads back as one of those. moto takes every value and keeps `Intelligent-Tiering` as the tier.
"""

from __future__ import annotations

from typing import Any

from moto.ssm.exceptions import ValidationException
from moto.ssm.models import SimpleSystemManagerBackend

from bluegreen.twin.patching import Patches

STANDARD_LIMIT = 4096
ADVANCED_LIMIT = 8192
_original_put_parameter = SimpleSystemManagerBackend.put_parameter


def _tier(backend: SimpleSystemManagerBackend, name: str, value: str | None, tier: str | None) -> str | None:
    """The tier the parameter will have; None leaves it to moto (an overwrite keeps the parameter's tier)."""
    if tier == "Intelligent-Tiering":
        return "Advanced" if value is not None and len(value) > STANDARD_LIMIT else "Standard"
    if tier is not None:
        return tier
    exists = name in backend._parameters and len(backend._parameters[name]) > 0
    return None if exists else backend.default_parameter_tier


def _put_parameter(
    self: SimpleSystemManagerBackend, name: str, description: str, value: str, *args: Any, **kwargs: Any
) -> Any:
    tier = _tier(self, name, value, kwargs.get("tier"))
    effective = tier or self._parameters[name][-1].tier
    if value is not None and effective == "Standard" and len(value) > STANDARD_LIMIT:
        raise ValidationException(
            f"Standard tier parameters support a maximum parameter value of {STANDARD_LIMIT} characters. To create a "
            "larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, "
            "see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
        )
    if value is not None and effective == "Advanced" and len(value) > ADVANCED_LIMIT:
        raise ValidationException(
            f"Advanced tier parameters support a maximum parameter value of {ADVANCED_LIMIT} characters."
        )
    if kwargs.get("tier") is not None:
        kwargs["tier"] = tier  # Intelligent-Tiering resolved to the tier it picks
    return _original_put_parameter(self, name, description, value, *args, **kwargs)


patches = Patches(__name__, (SimpleSystemManagerBackend, "put_parameter", _put_parameter))
install, uninstall = patches.install, patches.uninstall
