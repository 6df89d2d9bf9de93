"""Lambda wiring shared by every handler: Powertools logger, metrics and tracer, settings, and the handler decorator."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

logger = Logger(service="bluegreen")
NAMESPACE = "Bluegreen"
metrics = Metrics(namespace=NAMESPACE, service="bluegreen")


def _tracer() -> Any:
    """Powertools' Tracer only if the stack asks for handler spans (`TracingSpans=xray-sdk`): it imports the X-Ray SDK,
    most of a cold start (its own end of support is 2027-02-25). Lambda's active tracing needs no SDK in the function.
    """
    if os.environ.get("BLUEGREEN_TRACING_SPANS") != "xray-sdk":
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service="bluegreen")


tracer = _tracer()

M = TypeVar("M", bound=BaseModel)


def now() -> datetime:
    return datetime.now(UTC)


def wait_scale() -> float:
    """Every wait of a release is multiplied by this (1 in AWS; the local twin runs with a small fraction)."""
    return float(os.environ.get("WAIT_SCALE", "1"))


def topic_arn() -> str | None:
    return os.environ.get("TOPIC_ARN")


def handler(model: type[M]) -> Callable[[Callable[[M, Any], BaseModel | dict]], Callable[[dict, Any], dict]]:
    """Parse the event into `model`, call the task, return JSON-ready output; logs, metrics and traces around it."""

    def decorate(task: Callable[[M, Any], BaseModel | dict]) -> Callable[[dict, Any], dict]:
        @metrics.log_metrics
        def entry(event: dict, context: Any) -> dict:
            # Per function, Lambda's own metrics already split this; here it counts orchestration work per service.
            metrics.add_metric(name="TaskInvocations", unit=MetricUnit.Count, value=1)
            result = task(model.model_validate(event), context)
            return result.model_dump(mode="json") if isinstance(result, BaseModel) else result

        if tracer is not None:
            entry = tracer.capture_lambda_handler(capture_response=False)(entry)
        return functools.wraps(task)(logger.inject_lambda_context(clear_state=True)(entry))

    return decorate
