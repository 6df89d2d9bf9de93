"""The Powertools layer the template names carries the Powertools the tests pin."""

from __future__ import annotations

import io
import zipfile

from samtranslator.yaml_helper import yaml_parse

from bluegreen.proof import layer_check


def layer_zip(version: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/aws_lambda_powertools/shared/version.py", f'VERSION = "{version}"\n')
    return buffer.getvalue()


class FakeLambda:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def get_layer_version_by_arn(self, Arn: str) -> dict:
        self.asked.append(Arn)
        return {"Content": {"Location": "https://layer.example/content.zip"}}


def test_the_templates_default_layer_is_the_one_pyproject_names() -> None:
    template = yaml_parse((layer_check.REPO / "template.yaml").read_text())
    assert template["Parameters"]["PowertoolsLayerVersion"]["Default"] == layer_check.configured_layer_version()
    assert layer_check.pinned_powertools().count(".") == 2


def test_a_layer_with_the_pinned_version_passes_and_another_is_refused_in_one_line() -> None:
    fake = FakeLambda()
    ok = layer_check.check("eu-west-1", 27, "3.37.0", fake, download=lambda url: layer_zip("3.37.0"))
    assert ok == ""
    assert fake.asked == ["arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"]
    problem = layer_check.check("eu-west-1", 27, "3.37.0", fake, download=lambda url: layer_zip("3.24.0"))
    assert "carries aws-lambda-powertools 3.24.0" in problem and "pins 3.37.0" in problem
    assert "\n" not in problem
