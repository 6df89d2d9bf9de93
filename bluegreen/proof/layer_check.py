"""The AWS-managed Powertools layer the template names carries the Powertools version the tests pin.

The functions run on the layer in AWS and on the pinned package everywhere else, so a mismatch would test one version
and ship another. `make deploy` runs `python -m bluegreen.proof.layer_check` before `sam deploy`: it asks Lambda for
the layer version (GetLayerVersion; the layer is public), reads `aws_lambda_powertools/shared/version.py` from its
content, and refuses to deploy when it differs from the version in pyproject.toml. No account is needed to read
pyproject.toml and template.yaml, so the unit tests check that those two agree.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tomllib
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[2]
LAYER = "arn:{partition}:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:{version}"
_VERSION_FILE = "python/aws_lambda_powertools/shared/version.py"


def pinned_powertools(pyproject: Path = REPO / "pyproject.toml") -> str:
    """The aws-lambda-powertools version pyproject.toml pins."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    pin = next(d for d in dependencies if d.startswith("aws-lambda-powertools"))
    return pin.split("==", 1)[1]


def configured_layer_version(pyproject: Path = REPO / "pyproject.toml") -> int:
    """The layer version pyproject.toml says carries that Powertools (`[tool.bluegreen] powertools_layer_version`)."""
    return int(tomllib.loads(pyproject.read_text())["tool"]["bluegreen"]["powertools_layer_version"])


def powertools_in(layer_zip: bytes) -> str:
    """The Powertools version inside a layer's content."""
    with zipfile.ZipFile(io.BytesIO(layer_zip)) as archive:
        text = archive.read(_VERSION_FILE).decode()
    found = re.search(r'VERSION\s*=\s*"([^"]+)"', text)
    if not found:
        raise ValueError(f"no VERSION in {_VERSION_FILE}")
    return found.group(1)


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # a presigned S3 URL that Lambda hands out
        return response.read()


def check(
    region: str,
    version: int,
    expected: str,
    lambda_client: object | None = None,
    download: Callable[[str], bytes] = _download,
    partition: str = "aws",
) -> str:
    """'' when the layer carries `expected`, else one line saying what it carries and what to do."""
    client = lambda_client or boto3.client("lambda", region_name=region)
    arn = LAYER.format(partition=partition, region=region, version=version)
    layer = client.get_layer_version_by_arn(Arn=arn)  # type: ignore[attr-defined]
    found = powertools_in(download(layer["Content"]["Location"]))
    if found == expected:
        return ""
    return (
        f"PowertoolsLayerVersion {version} carries aws-lambda-powertools {found}, but pyproject.toml pins {expected}:"
        f" set [tool.bluegreen] powertools_layer_version (and the template's default) to the layer of {expected},"
        " or pin the package to the layer's version"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    problem = check(args.region, configured_layer_version(), pinned_powertools())
    print(
        problem or "layer-check: the Powertools layer matches the pinned package", file=sys.stderr if problem else None
    )
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main())
