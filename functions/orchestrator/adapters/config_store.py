"""SSM Parameter Store: app configurations, read through Powertools Parameters (cached briefly), and the live pointer
of an app whose router has no DNS record to hold it (`/bluegreen/live/<app>`)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from orchestrator.adapters.aws import client, error_code
from orchestrator.config import (
    PARAMETER_PREFIX,
    AppConfig,
    check_app_name,
    live_parameter_name,
    parameter_name,
    parse_config,
)
from orchestrator.errors import AmiInvalidError, AppNotFoundError, ConfigInvalidError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider


@functools.cache
def _provider(ssm: Any) -> SSMProvider:
    """Powertools' parameter cache over the adapters' own client (standard retries, the current endpoint). Imported
    here, by the few functions that read a config: Powertools Parameters imports every provider it has."""
    from aws_lambda_powertools.utilities import parameters

    return parameters.SSMProvider(boto3_client=ssm)


def load(app: str, max_age: int = 5) -> AppConfig:
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    name = parameter_name(check_app_name(app))
    try:
        raw = _provider(client("ssm")).get(name, max_age=max_age)
    except GetParameterError as err:
        cause = err.__context__  # Powertools re-raises the ClientError without `from`
        if isinstance(cause, ClientError) and error_code(cause) == "ParameterNotFound":
            raise AppNotFoundError(
                f"app: no configuration for {app!r} at {name} (create it with `bluegreen app put {app} FILE`)"
            ) from None
        raise
    return parse_config(raw, app)


def save(config: AppConfig, api: Any = None) -> None:
    (api or client("ssm")).put_parameter(
        Name=parameter_name(config.app), Value=config.model_dump_json(), Type="String", Overwrite=True
    )


def publish_live(app: str, text: str, api: Any = None) -> None:
    """What `dig TXT _bluegreen.<record>` tells for a Route 53 app: `aws ssm get-parameter --name /bluegreen/live/<app>`."""
    (api or client("ssm")).put_parameter(Name=live_parameter_name(app), Value=text, Type="String", Overwrite=True)


def load_all(api: Any = None) -> list[AppConfig]:
    """Every app's configuration under /bluegreen/apps/ (one paged GetParametersByPath): what an AMI or a golden-AMI
    parameter is matched against. A document that no longer validates is left out: its own releases report it."""
    api = api or client("ssm")
    found = []
    for page in api.get_paginator("get_parameters_by_path").paginate(Path=PARAMETER_PREFIX.rstrip("/")):
        for parameter in page["Parameters"]:
            try:
                found.append(parse_config(parameter["Value"], parameter["Name"].removeprefix(PARAMETER_PREFIX)))
            except ConfigInvalidError:
                continue
    return found


def golden_ami(name: str, api: Any = None) -> str:
    """The AMI id a golden-AMI parameter holds now (data type `aws:ec2:image`, or `text` holding an AMI id).

    "Parameter Store Change" events carry the parameter's name, not its value (Systems Manager User Guide, "Monitoring
    Systems Manager events with Amazon EventBridge"), so it is read here.
    """
    api = api or client("ssm")
    try:
        parameter = api.get_parameter(Name=name)["Parameter"]
    except ClientError as err:
        if error_code(err) == "ParameterNotFound":
            raise AmiInvalidError(
                f"ami_source.parameter: {name} does not exist (deleted since its change event)"
            ) from None
        raise
    problem = golden_type_problem(name, parameter.get("Type"))
    if problem:
        raise AmiInvalidError(problem)
    return str(parameter["Value"]).strip()


def golden_type_problem(name: str, kind: str | None) -> str | None:
    """Why a parameter of this type cannot be a golden-AMI parameter (a SecureString, a StringList), or None."""
    if kind in (None, "String"):
        return None
    return (
        f"ami_source.parameter: {name} is a {kind}: a golden-AMI parameter is a String holding an AMI id (data type"
        " aws:ec2:image or text); publish the AMI id to a String parameter"
    )
