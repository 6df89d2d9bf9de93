"""Parameter Store caps a parameter's value by its tier (ssm_parameter_tiers)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from bluegreen.twin import ssm_parameter_tiers

BIG = "x" * 4097


@pytest.mark.behaviour(ssm_parameter_tiers)
def test_a_standard_parameter_holds_at_most_4096_characters(aws) -> None:
    ssm = aws("ssm")
    # Given a value of 4,096 characters is fine in the default (Standard) tier
    ssm.put_parameter(Name="/bluegreen/apps/shop", Value="x" * 4096, Type="String")

    # When the value grows to 4,097 characters, in the default tier and then naming Standard
    refusals = []
    for tier in ({}, {"Tier": "Standard"}):
        with pytest.raises(ClientError) as refused:
            ssm.put_parameter(Name="/bluegreen/apps/shop", Value=BIG, Type="String", Overwrite=True, **tier)
        refusals.append(refused.value.response["Error"])

    # Then both are refused with AWS's message, and the parameter keeps its value
    assert {e["Code"] for e in refusals} == {"ValidationException"}
    assert all(
        e["Message"].startswith("Standard tier parameters support a maximum parameter value of 4096") for e in refusals
    )
    parameter = ssm.get_parameter(Name="/bluegreen/apps/shop")["Parameter"]
    assert (parameter["Version"], len(parameter["Value"])) == (1, 4096)


@pytest.mark.behaviour(ssm_parameter_tiers)
def test_intelligent_tiering_picks_advanced_for_a_large_value(aws) -> None:
    ssm = aws("ssm")
    # When a large value is put with Intelligent-Tiering, and a small one
    large = ssm.put_parameter(Name="/big", Value=BIG, Type="String", Tier="Intelligent-Tiering")
    small = ssm.put_parameter(Name="/small", Value="x", Type="String", Tier="Intelligent-Tiering")

    # Then the large one is Advanced and the small one Standard
    assert (large["Tier"], small["Tier"]) == ("Advanced", "Standard")
    described = ssm.describe_parameters()["Parameters"]
    assert {p["Name"]: p["Tier"] for p in described} == {"/big": "Advanced", "/small": "Standard"}


@pytest.mark.behaviour(ssm_parameter_tiers)
def test_an_advanced_parameter_holds_at_most_8192_characters(aws) -> None:
    ssm = aws("ssm")
    # Given an Advanced parameter with a large value
    ssm.put_parameter(Name="/big", Value=BIG, Type="String", Tier="Advanced")

    # When it is overwritten without naming a tier, it stays Advanced and takes 8,192 characters
    ssm.put_parameter(Name="/big", Value="y" * 8192, Type="String", Overwrite=True)

    # And 8,193 characters are refused
    with pytest.raises(ClientError) as refused:
        ssm.put_parameter(Name="/big", Value="z" * 8193, Type="String", Overwrite=True)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert ssm.get_parameter(Name="/big")["Parameter"]["Value"] == "y" * 8192
