"""Speed only, no AWS behaviour: moto's CloudFormation reads a JSON template with the pure-Python YAML parser.

moto parses every template body as YAML (JSON is YAML), and as JSON only when that fails. The twin deploys the
translated template as JSON, about 190 kB of it: the YAML parse was half of each CreateStack, a thirtieth of the test
suite's CPU. Here a body that is JSON is read with the JSON parser, to the same document the YAML parser makes of it:
each number and constant is the value PyYAML gives that scalar (YAML 1.1 reads `1e5` as a string, JSON as a number),
and a body with what the two read differently in strings (an escaped `/`, an escaped surrogate) or with YAML's merge
key `<<` goes to YAML as before. Anything that is not JSON goes to moto's own parse.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import yaml
from moto.cloudformation import models
from moto.cloudformation.utils import yaml_tag_constructor

from bluegreen.twin.patching import Patches

_original = models.Stack.parse_template
_YAML_ONLY = re.compile(r'\\/|\\u[dD][89a-fA-F]|"<<"')


@functools.lru_cache(maxsize=1024)
def _as_yaml_reads(token: str) -> Any:
    """A JSON number or constant (`NaN`, `Infinity`) as PyYAML reads that plain scalar."""
    return yaml.load(token, Loader=yaml.Loader)


def parse_template(template: str) -> dict[str, Any]:
    stripped = template.lstrip()
    if stripped.startswith("{") and not _YAML_ONLY.search(template):
        yaml.add_multi_constructor("", yaml_tag_constructor)  # as moto's parse does, for the templates after this
        try:
            return json.loads(
                template, parse_float=_as_yaml_reads, parse_int=_as_yaml_reads, parse_constant=_as_yaml_reads
            )
        except ValueError:
            pass
    return _original(template)


patches = Patches(__name__, (models.Stack, "parse_template", staticmethod(parse_template)))
install, uninstall = patches.install, patches.uninstall
