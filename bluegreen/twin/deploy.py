"""Deploy the project's SAM template into the local twin, the way `sam deploy` would into AWS.

The template is transformed with samtranslator here because moto's CloudFormation knows no SAM.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import json
import logging
import os
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# samtranslator records metrics nobody publishes here and warns about them when it is garbage-collected.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)
# moto's CloudFormation skips AWS::SQS::QueuePolicy (the DLQ policy SAM adds) with a warning: the twin enforces no
# resource policies (docs/twin-fidelity.md), so the skip changes nothing it can observe.
warnings.filterwarnings("ignore", message="Tried to parse AWS::SQS::QueuePolicy")
logging.getLogger("moto.cloudformation.parsing").setLevel(logging.ERROR)

_FUNCTION = "AWS::Serverless::Function"
_STATE_MACHINE = "AWS::Serverless::StateMachine"


class _NoManagedPolicies:
    """samtranslator's managed-policy loader; IAM is not enforced in the twin, so none are looked up."""

    def load(self) -> dict[str, str]:
        return {}


def deploy_stack(
    endpoint_url: str,
    template_path: str | Path,
    stack_name: str = "bluegreen",
    parameters: dict[str, str] | None = None,
    region: str = "us-east-1",
) -> dict[str, str]:
    """Create the stack from `template_path` and return its outputs by OutputKey.

    An existing stack of that name is deleted first, so the twin always runs the current template.
    """
    host = urlparse(endpoint_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"deploy_stack only targets the local twin, not {endpoint_url}")
    # samtranslator resolves pseudo parameters (partition, region) from the default boto3 session.
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    s3 = session.client("s3", endpoint_url=endpoint_url)
    cfn = session.client("cloudformation", endpoint_url=endpoint_url)

    bucket = f"{stack_name.lower()}-twin-artifacts"
    s3.create_bucket(Bucket=bucket)
    template = translate(template_path, lambda body: _upload(s3, bucket, body), parameters)

    _delete_if_exists(cfn, stack_name)
    cfn.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = _wait(cfn, stack_name)
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {stack_name} is {stack['StackStatus']}: {stack.get('StackStatusReason')}")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def translate(template_path: str | Path, upload: Any, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The SAM template as CloudFormation: code zipped and handed to `upload` (which returns its s3:// URI).

    Each test module's twin deploys the same template: its YAML is parsed once per process, and the transform of the
    same localised template, parameters and region (samtranslator's pseudo parameters) is done once; each call gets
    its own copy, and still zips and uploads the code."""
    template_path = Path(template_path).resolve()
    sam = copy.deepcopy(_parsed(template_path.read_text()))
    _localise(sam, template_path.parent, upload)
    given = dict(parameters or {})
    region = boto3.session.Session().region_name
    return copy.deepcopy(
        _transformed(repr(sam), repr(given), region, lambda: transform(sam, given, _NoManagedPolicies()))
    )


@functools.lru_cache(maxsize=4)
def _parsed(text: str) -> dict[str, Any]:
    return yaml_parse(text)


_transforms: dict[tuple[str, str, str | None], dict[str, Any]] = {}


def _transformed(sam: str, parameters: str, region: str | None, make: Any) -> dict[str, Any]:
    """The transform of a template and parameters (by their repr) in a region, made once (a few kept)."""
    key = (sam, parameters, region)
    if key not in _transforms:
        if len(_transforms) >= 4:
            _transforms.clear()
        _transforms[key] = make()
    return _transforms[key]


def _localise(sam: dict[str, Any], base: Path, upload: Any) -> None:
    """Point CodeUri at uploaded zips and inline each DefinitionUri, as `sam package` would."""
    functions = [r["Properties"] for r in sam["Resources"].values() if r["Type"] == _FUNCTION]
    globals_function = sam.get("Globals", {}).get("Function")
    for props in [*functions, *([globals_function] if globals_function else [])]:
        # The AWS-managed Powertools layer does not exist in moto (which rejects unknown layers);
        # handlers run in the twin's own process, where Powertools is installed.
        props.pop("Layers", None)
        if isinstance(props.get("CodeUri"), str) and not props["CodeUri"].startswith("s3://"):
            props["CodeUri"] = upload(_zip(base / props["CodeUri"]))
    for resource in sam["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == _STATE_MACHINE and isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = json.loads((base / props.pop("DefinitionUri")).read_text())


def _zip(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _upload(s3: Any, bucket: str, body: bytes) -> str:
    key = f"code/{hashlib.sha256(body).hexdigest()}.zip"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def _delete_if_exists(cfn: Any, stack_name: str) -> None:
    try:
        status = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
    except ClientError:
        return  # no such stack
    if status == "DELETE_COMPLETE":
        return
    cfn.delete_stack(StackName=stack_name)
    _wait(cfn, stack_name)


def _wait(cfn: Any, stack_name: str, timeout: float = 60.0) -> dict[str, Any]:
    # Moto finishes stack operations within the call; the loop keeps this correct if that changes.
    deadline = time.monotonic() + timeout
    while True:
        try:
            stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        except ClientError:
            return {"StackStatus": "DELETE_COMPLETE"}
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.2)
