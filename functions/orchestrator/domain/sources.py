"""Which app an AMI is for: its `bluegreen:app` tag, or an app's `ami_source` (owner accounts and a name pattern, or a
golden-AMI SSM parameter). One app, the rule that matched, or a refusal naming every app it matches.

The tag alone is not enough: "User-defined tags that you attach to a shared AMI are available only in your AWS account
and not in the other accounts that the AMI is shared with" (EC2 User Guide, "Tag your Amazon EC2 resources"), and
Packer's amazon-ebs builder tags an AMI only once it is available.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from orchestrator.config import AmiSource, AppConfig
from orchestrator.errors import AmiSourceConflictError

# The tag that selects an AMI for an app. Not `bluegreen:app`: every fleet instance carries that one (propagated at
# launch), so backups and scripted images of those instances would carry it too. `bluegreen:app` on an AMI still
# selects it while the app allows it (ami_source.legacy_app_tag, default true: the migration path), never for an
# image that release_eligibility finds is not a build.
TAG_RELEASE = "bluegreen:release-to"
TAG_APP = "bluegreen:app"


@dataclass(frozen=True)
class Match:
    app: str
    rule: str  # what matched, as the plan and `app put` print it


def glob_regex(pattern: str) -> re.Pattern[str]:
    """EC2's `name` filter: * is any run of characters (none too), ? is exactly one, everything else is literal."""
    parts = ("." * (c == "?") + ".*" * (c == "*") or re.escape(c) for c in pattern)
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def name_matches(pattern: str, name: str | None) -> bool:
    return name is not None and glob_regex(pattern).match(name) is not None


def globs_overlap(a: str, b: str) -> bool:
    """Whether some name matches both patterns (so two apps would both claim that AMI)."""

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i < len(a) and a[i] == "*":
            return meet(i + 1, j) or (j < len(b) and meet(i, j + 1))
        if j < len(b) and b[j] == "*":
            return meet(i, j + 1) or (i < len(a) and meet(i + 1, j))
        if i == len(a) or j == len(b):
            return i == len(a) and j == len(b)
        return (a[i] == "?" or b[j] == "?" or a[i] == b[j]) and meet(i + 1, j + 1)

    return meet(0, 0)


def describe(source: AmiSource | None) -> list[str]:
    """The rules of one app, as `app put` prints them (the tag rule always holds)."""
    rules = []
    if source and source.owners:
        rules.append(f"owner {' or '.join(source.owners)} and name {source.name_pattern}")
    if source and source.parameter:
        rules.append(f"golden-AMI parameter {source.parameter}")
    return rules


def _tag(image: dict, key: str) -> str | None:
    return next((t["Value"] for t in image.get("Tags", []) if t["Key"] == key), None)


def legacy_tag_allowed(app: str, configs: list[AppConfig]) -> bool:
    """Whether `bluegreen:app` on an AMI still selects it for this app (an app with no config: as before)."""
    config = next((c for c in configs if c.app == app), None)
    return config is None or config.ami_source is None or config.ami_source.legacy_app_tag


def image_rule(config: AppConfig, image: dict) -> str | None:
    """The app's owner-and-name rule that this AMI matches, if any."""
    source = config.ami_source
    if not (source and source.owners and image.get("OwnerId") in source.owners):
        return None
    if not name_matches(source.name_pattern or "", image.get("Name")):
        return None
    return f"ami_source: owner {image['OwnerId']}, name {image.get('Name')!r} matches {source.name_pattern!r}"


def match_image(image: dict, configs: list[AppConfig]) -> Match | None:
    """The one app this AMI is for; None when no rule matches; AmiSourceConflictError when two apps claim it."""
    found: dict[str, str] = {}
    tagged, legacy = _tag(image, TAG_RELEASE), _tag(image, TAG_APP)
    if tagged:
        found[tagged] = f"tag {TAG_RELEASE}={tagged}"
    if legacy and legacy not in found and legacy_tag_allowed(legacy, configs):
        found[legacy] = f"tag {TAG_APP}={legacy}"
    for config in configs:
        rule = image_rule(config, image)
        if rule and config.app not in found:
            found[config.app] = rule
    return _one(found, f"AMI {image.get('ImageId')} ({image.get('Name')!r}, owner {image.get('OwnerId')})")


def match_parameter(name: str, configs: list[AppConfig]) -> Match | None:
    found = {c.app: f"ami_source.parameter {name}" for c in configs if c.ami_source and c.ami_source.parameter == name}
    return _one(found, f"parameter {name}")


def _one(found: dict[str, str], what: str) -> Match | None:
    if len(found) > 1:
        apps = sorted(found)
        listed = ", ".join(f"{app} ({found[app]})" for app in apps)
        raise AmiSourceConflictError(
            f"ami_source: {what} matches apps {' and '.join(apps)}: {listed}; make their ami_source rules distinct"
            " (name patterns that no one name fits both, or remove the tag), then release it by name"
        )
    return Match(*next(iter(found.items()))) if found else None


def overlaps(config: AppConfig, others: list[AppConfig]) -> list[str]:
    """One line per other app whose ami_source could claim the same AMI or parameter as this config's."""
    mine = config.ami_source
    if mine is None:
        return []
    problems = []
    for other in others:
        theirs = other.ami_source
        if other.app == config.app or theirs is None:
            continue
        shared = sorted(set(mine.owners) & set(theirs.owners))
        if shared and globs_overlap(mine.name_pattern or "", theirs.name_pattern or ""):
            problems.append(
                f"ami_source.name_pattern: {mine.name_pattern!r} overlaps app {other.app}'s {theirs.name_pattern!r}"
                f" for owner {shared[0]}: an AMI could match both apps; make the patterns distinct"
            )
        if mine.parameter and mine.parameter == theirs.parameter:
            problems.append(
                f"ami_source.parameter: {mine.parameter} is app {other.app}'s golden-AMI parameter already: one"
                " parameter releases one app"
            )
    return problems
