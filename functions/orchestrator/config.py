"""The app configuration (`/bluegreen/apps/<app>` in SSM): one pydantic model, validated on every read."""

# No `from __future__ import annotations`: pydantic would evaluate each field's annotation from a string on
# every cold start (a tenth of a handler's import, measured by bluegreen.proof.cold_start).
import itertools
import json
import re
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from orchestrator import budget
from orchestrator.errors import ConfigInvalidError

APP_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
SLOTS = ("blue", "green")
PARAMETER_PREFIX = "/bluegreen/apps/"
LIVE_PARAMETER_PREFIX = "/bluegreen/live/"  # the live release of an app routed by an ALB (no TXT record to hold it)

Seconds = Annotated[int, Field(ge=0, le=86_400)]
# A DNS name as Route 53 takes it: labels of letters, digits, hyphens (and _ and * where records allow them).
DNS_NAME = r"^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)+[A-Za-z]{2,63}\.?$"
HOSTED_ZONE_ID = r"^[A-Z0-9]{1,32}$"  # the bare id: not /hostedzone/...
TARGET_GROUP_ARN = (
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{1,32}$"
)
# A standard SSM parameter holds at most 4 KB, which the stored document (defaults included) must fit.
SSM_STANDARD_LIMIT = 4_096


class _Model(BaseModel):
    # Strict: "no" is not false and "5" is not 5; a config says what it means or is refused.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Alias(_Model):
    dns_name: str = Field(pattern=DNS_NAME, max_length=254)
    hosted_zone_id: str = Field(pattern=HOSTED_ZONE_ID)


class Slot(_Model):
    target_group_arns: list[Annotated[str, Field(pattern=TARGET_GROUP_ARN)]] = Field(min_length=1, max_length=5)
    # The Route 53 router weights a record per slot whose alias is this load balancer; the ALB router needs none.
    alias: Alias | None = None
    # Required unless the ALB router's test route reaches the idle slot through the app's own load balancer.
    test_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+")


class Dns(_Model):
    hosted_zone_id: str = Field(pattern=HOSTED_ZONE_ID)
    record_name: str = Field(pattern=DNS_NAME, max_length=254)
    record_type: Literal["A", "AAAA"] = "A"
    # Route 53 answers alias records with a fixed TTL of 60 s; it bounds bake and drain times.
    ttl_seconds: Seconds = 60
    # A simple (non-weighted) alias record at the name is replaced by the weighted pair in one atomic change batch.
    convert_simple_record: StrictBool = False


class Health(_Model):
    timeout_seconds: int = Field(default=900, ge=30, le=7_200)
    poll_seconds: int = Field(default=15, ge=1, le=300)


class SmokeTest(_Model):
    path: str = Field(default="/", pattern=r"^/")
    method: Literal["GET", "HEAD"] = "GET"
    expect_status: int = Field(default=200, ge=100, le=599)
    expect_body_contains: str | None = None
    max_latency_ms: int | None = Field(default=None, ge=1)
    attempts: int = Field(default=3, ge=1, le=10)
    timeout_seconds: int = Field(default=5, ge=1, le=60)


Fraction = Annotated[float, Field(gt=0, lt=1)]


class Analysis(_Model):
    """The canary judge: green's target groups against blue's, on their CloudWatch metrics, during and after each bake.

    Every field has a default; `"analysis": {}` turns the judge on as documented in the README.
    """

    # Below these green figures a step is Nodata, which never promotes.
    min_requests: int = Field(default=2_000, ge=100, le=100_000_000)
    min_minutes: int = Field(default=5, ge=3, le=120)
    # The judge looks every check_seconds as the bake goes (a clear failure does not wait for the bake's end).
    check_seconds: int = Field(default=60, ge=60, le=3_600)
    # Marginal and Nodata bake again, each at most this many times per step; then Marginal fails, Nodata does `nodata`.
    max_rebakes: int = Field(default=2, ge=0, le=5)
    nodata: Literal["fail", "approve"] = "fail"
    # Errors (target 5XX and connection errors; 4XX too with client_errors): significant AND practically large.
    error_alpha: Fraction = 0.005
    error_ratio: float = Field(default=1.25, ge=1.0, le=100.0)
    error_difference: float = Field(default=0.001, ge=0.0, lt=1.0)  # green's rate minus blue's, a fraction
    client_errors: StrictBool = False  # 4XX are the clients' as often as the app's: judged only when asked
    # Latency: the per-minute TargetResponseTime statistic of each slot, the ratio of their means; tested on the counts
    # of requests slower than blue's statistic in the step's first minute (TC).
    latency_statistic: Literal["p50", "p90", "p95", "p99", "Average"] = "p99"
    latency_alpha: Fraction = 0.01
    latency_ratio: float = Field(default=1.15, ge=1.0, le=100.0)
    # An effect as large as the thresholds whose p-value is under this (but not under alpha) is Marginal.
    marginal_alpha: Fraction = 0.05
    # Each alpha is what a step's looks and bakes may spend together (canary_alpha), so a healthy green fails a step
    # in at most error_alpha + latency_alpha of steps, by the tests alone; the practical gates make it rarer. The
    # defaults catch doubled errors and +30 % p99 at the minimum sample: docs/benchmarks.md.
    # Hard gates: green with unhealthy or anomalous hosts this many minutes in a row fails at once.
    unhealthy_minutes: int = Field(default=2, ge=1, le=60)

    @model_validator(mode="after")
    def _alphas(self) -> Self:
        if self.marginal_alpha <= max(self.error_alpha, self.latency_alpha):
            raise ValueError("marginal_alpha must be larger than error_alpha and latency_alpha")
        return self


class Traffic(_Model):
    steps: list[int] = Field(default=[10, 50, 100], min_length=1, max_length=20)
    bake_seconds: Seconds = 300
    alarm_names: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(default=[], max_length=100)
    insufficient_data: Literal["ignore", "wait", "fail"] = "wait"
    analysis: Analysis | None = None

    @model_validator(mode="after")
    def _bake_holds_the_minutes(self) -> Self:
        if self.analysis and self.bake_seconds < 60 * self.analysis.min_minutes:
            raise ValueError(
                f"bake_seconds {self.bake_seconds} is shorter than analysis.min_minutes ({self.analysis.min_minutes}"
                f" minutes of one-minute data, which the judge needs to promote): raise bake_seconds to"
                f" {60 * self.analysis.min_minutes} or lower analysis.min_minutes"
            )
        return self

    @field_validator("steps")
    @classmethod
    def _steps_rise_to_100(cls, steps: list[int]) -> list[int]:
        if any(not 1 <= s <= 100 for s in steps):
            raise ValueError("every step must be a percentage from 1 to 100")
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError("steps must strictly increase")
        if steps[-1] != 100:
            raise ValueError("the last step must be 100")
        return steps


class Approval(_Model):
    before_traffic: bool = False
    timeout_seconds: int = Field(default=86_400, ge=60, le=604_800)


class Quarantine(_Model):
    # The two groups each interface gets in turn: the untracking one (all traffic, so tracked flows become untracked),
    # then the isolation one (no rule, so those flows are dropped at once). None: bluegreen's own, per VPC.
    security_group_id: str | None = Field(default=None, pattern=r"^sg-[0-9a-f]{1,17}$")
    untracking_group_id: str | None = Field(default=None, pattern=r"^sg-[0-9a-f]{1,17}$")
    snapshot_volumes: bool = True
    revoke_credentials: StrictBool = True
    # Network ACL entries denying the instance's own addresses: they cut what AWS always tracks (NAT gateway, NLB...).
    network_acl: StrictBool = True
    # The account's VPC quota 'Rules per network ACL' (per direction and address family; 20 unless raised, up to 40).
    network_acl_rule_quota: StrictInt = Field(default=20, ge=20, le=40)
    # Cases an alarm on a whole Auto Scaling group may open (or join) per window; past it the alarm is refused,
    # recorded and notified. Single-instance findings and alarms are never limited. 0: group alarms never quarantine.
    group_alarm_cases: StrictInt = Field(default=1, ge=0, le=20)
    group_alarm_window_seconds: StrictInt = Field(default=86_400, ge=60, le=30 * 86_400)

    @field_validator("untracking_group_id")
    @classmethod
    def _two_groups(cls, group: str | None, info: ValidationInfo) -> str | None:
        if group and group == info.data.get("security_group_id"):
            raise ValueError(
                "must differ from security_group_id (the untracking group allows all traffic, the isolation group none)"
            )
        return group


# An Application Load Balancer's listener (`app/<name>/<id>/<id>`) and listener rule (one more `/<id>`).
LISTENER_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener/app/[^/\s]+/[0-9a-f]+/[0-9a-f]+$"
)
RULE_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener-rule/app/[^/\s]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+$"
)
LISTENER_FORM = "arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>"
RULE_FORM = "arn:aws:elasticloadbalancing:<region>:<account>:listener-rule/app/<name>/<id>/<id>/<id>"


def load_balancer_of(arn: str) -> str:
    """`app/<name>/<id>` of the load balancer a listener or rule ARN belongs to (what ALB metrics name)."""
    return "/".join(arn.split(":", 5)[5].split("/")[1:4])


class Header(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9-]{1,40}$")
    value: str = Field(min_length=1, max_length=128)


class TestRoute(_Model):
    """A listener on another port, or a rule matching a header, that forwards only to the idle slot: smoke tests reach
    green through the app's own load balancer before any user does."""

    __test__ = False  # not a pytest class, whatever its name says

    listener_arn: str | None = None
    rule_arn: str | None = None
    url: str = Field(pattern=r"^https?://[^\s/]+")
    header: Header | None = None  # sent with every smoke-test request (what a header rule matches)

    @model_validator(mode="after")
    def _one_route(self) -> Self:
        if (self.listener_arn is None) == (self.rule_arn is None):
            raise ValueError("name either listener_arn (a test listener on another port) or rule_arn (a header rule)")
        if self.listener_arn is not None and not LISTENER_ARN.match(self.listener_arn):
            raise ValueError(f"listener_arn: expected an Application Load Balancer listener ARN ({LISTENER_FORM})")
        if self.rule_arn is not None and not RULE_ARN.match(self.rule_arn):
            raise ValueError(f"rule_arn: expected an Application Load Balancer listener rule ARN ({RULE_FORM})")
        if self.rule_arn is not None and self.header is None:
            raise ValueError(
                'rule_arn needs header, the one the rule matches, which every smoke request sends (e.g. {"name":'
                ' "X-Bluegreen-Test", "value": "idle"}): without it the requests fall through to the live fleet'
            )
        return self


class Alb(_Model):
    """The ALB router: the listeners and rules whose forward action carries the app's traffic, on one load balancer.

    Weights are changed in this order (listeners, then rules, as listed); if one change fails, those already made are
    put back.
    """

    listener_arns: list[str] = Field(default=[], max_length=10)
    rule_arns: list[str] = Field(default=[], max_length=10)
    test_route: TestRoute | None = None
    # Target group stickiness pins each client to the slot it first reached, so a shift moves new clients only.
    sticky_sessions: Literal["refuse", "accept"] = "refuse"

    @field_validator("listener_arns")
    @classmethod
    def _listeners(cls, arns: list[str]) -> list[str]:
        for arn in arns:
            if not LISTENER_ARN.match(arn):
                raise ValueError(f"{arn!r} is not an Application Load Balancer listener ARN ({LISTENER_FORM})")
        if len(set(arns)) != len(arns):
            raise ValueError("a listener is named twice")
        return arns

    @field_validator("rule_arns")
    @classmethod
    def _rules(cls, arns: list[str]) -> list[str]:
        for arn in arns:
            if not RULE_ARN.match(arn):
                raise ValueError(f"{arn!r} is not an Application Load Balancer listener rule ARN ({RULE_FORM})")
        if len(set(arns)) != len(arns):
            raise ValueError("a rule is named twice")
        return arns

    @property
    def routes(self) -> list[str]:
        """The listeners and rules whose weights bluegreen sets, in the order it sets them."""
        return [*self.listener_arns, *self.rule_arns]


ACCOUNT_ID = r"^\d{12}$"
# EC2's `name` filter: * matches any run of characters, ? exactly one; AMI names take letters, digits, ( ) [ ] space
# . / - ' @ _ ("RegisterImage", Name: "3-128 alphanumeric characters, parentheses (()), square brackets ([]), spaces ( ),
# periods (.), slashes (/), dashes (-), single quotes ('), at-signs (@), or underscores(_)").
AMI_NAME_PATTERN = r"^[A-Za-z0-9()\[\] ./\-'@_*?]{1,128}$"
# An SSM parameter name ("PutParameter", Name): a-zA-Z0-9_.- and / for hierarchies, not prefixed aws or ssm.
SSM_PARAMETER_NAME = r"^(/[A-Za-z0-9_.-]+)+$|^[A-Za-z0-9_.-]+$"


class AmiSource(_Model):
    """Where the app's AMIs come from, for AMIs whose `bluegreen:app` tag this account cannot see: a build account
    shares them (its tags stay in its own account), Packer tags them only after `available`, or a pipeline publishes
    the new AMI's id to a golden-AMI parameter. The tag still works where it is present."""

    owners: list[Annotated[str, Field(pattern=ACCOUNT_ID)]] = Field(default=[], max_length=10)
    name_pattern: str | None = Field(default=None, pattern=AMI_NAME_PATTERN)
    parameter: str | None = Field(default=None, pattern=SSM_PARAMETER_NAME, max_length=1011)
    copy_shared: StrictBool = False
    # `bluegreen:app` on an AMI selects it too (the tag before `bluegreen:release-to`). Every fleet instance carries
    # it, so set false once your builds are tagged bluegreen:release-to: then only that tag (and the rules above) do.
    legacy_app_tag: StrictBool = True
    # A release of an AMI a build account made (one of `owners`, or this account's copy of one), started by its event,
    # waits for a human's approval before any traffic, whatever approval.before_traffic says: anyone there who can
    # build and share an AMI whose name matches name_pattern could otherwise release it.
    build_account_approval: StrictBool = False

    @field_validator("owners")
    @classmethod
    def _distinct(cls, owners: list[str]) -> list[str]:
        if len(set(owners)) != len(owners):
            raise ValueError("an account id is named twice")
        return owners

    @field_validator("name_pattern")
    @classmethod
    def _not_everything(cls, pattern: str | None) -> str | None:
        if pattern is not None and len(pattern.replace("*", "").replace("?", "")) < 3:
            raise ValueError(
                f"{pattern!r} names too little: give at least 3 characters besides * and ? (e.g. shop-*), so another"
                " app's AMIs from the same account do not match"
            )
        return pattern

    @field_validator("parameter")
    @classmethod
    def _not_reserved(cls, name: str | None) -> str | None:
        if name is None:
            return name
        head = name.lstrip("/").split("/", 1)[0].lower()
        if head.startswith(("aws", "ssm")):
            raise ValueError(f"{name!r}: SSM reserves names that start with aws or ssm: use your pipeline's own name")
        if name.startswith("/bluegreen/"):
            raise ValueError(f"{name!r}: /bluegreen/ holds bluegreen's own parameters: use your pipeline's own name")
        return name

    @model_validator(mode="after")
    def _a_rule(self) -> Self:
        if bool(self.owners) != (self.name_pattern is not None):
            missing = "name_pattern" if self.owners else "owners"
            raise ValueError(
                f"{missing}: is required: owners and name_pattern go together (the accounts that build the AMIs and the"
                " name their AMIs get): give both"
            )
        if not self.owners and self.parameter is None and self.legacy_app_tag:
            raise ValueError(
                "name owners and name_pattern, or parameter (a golden-AMI SSM parameter), or legacy_app_tag false (only"
                " the bluegreen:release-to tag), or remove ami_source to keep the tag rules"
            )
        if self.copy_shared and not self.owners:
            raise ValueError("copy_shared: copies AMIs shared by the owners: name owners and name_pattern")
        if self.build_account_approval and not self.owners:
            raise ValueError(
                "build_account_approval: applies to AMIs of the build accounts in owners: name owners and name_pattern,"
                " or use approval.before_traffic for every release"
            )
        return self


class Split(_Model):
    """How a split app divides its traffic and fleet between the slots at rest (README "Split-fleet releases")."""

    # Relative weights, as Route 53 and ALB forward actions take them: two positive integers (50/50 by default).
    weights: dict[Literal["blue", "green"], StrictInt] = {"blue": 50, "green": 50}
    first_slot: Literal["blue", "green"] = "blue"  # the half a release replaces first

    @field_validator("weights")
    @classmethod
    def _two_positive_weights(cls, weights: dict[str, int]) -> dict[str, int]:
        if sorted(weights) != list(SLOTS) or any(not 1 <= w <= 255 for w in weights.values()):
            raise ValueError(
                f'{weights}: give both slots a weight from 1 to 255, e.g. {{"blue": 50, "green": 50}}'
                " (in split mode both slots take traffic)"
            )
        blue = 100 * weights["blue"] / (weights["blue"] + weights["green"])
        if not 1 <= round(blue) <= 99:
            raise ValueError(f"{weights}: each slot needs at least 1 % of the traffic (blue has {blue:.2f} %)")
        return weights

    @property
    def blue_percent(self) -> int:
        """Percent of the traffic on blue at rest."""
        return round(100 * self.weights["blue"] / (self.weights["blue"] + self.weights["green"]))


class AppConfig(_Model):
    app: str
    launch_template_id: str = Field(pattern=r"^lt-[0-9a-f]{1,17}$")
    # `route53` (the default): a weighted record pair; `alb`: weighted target groups on one Application Load Balancer.
    router: Literal["route53", "alb"] = "route53"
    dns: Dns | None = None
    alb: Alb | None = None
    slots: dict[Literal["blue", "green"], Slot]
    health: Health = Health()
    smoke_tests: list[SmokeTest] = []
    traffic: Traffic = Traffic()
    drain_seconds: Seconds | None = None
    keep_previous_seconds: Seconds = 0
    approval: Approval = Approval()
    quarantine: Quarantine = Quarantine()
    notify_topic_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:sns:")
    ami_source: AmiSource | None = None
    # `blue_green` (the default): a release builds a whole second fleet and moves all traffic to it. `split`: both
    # slots take traffic, each holding its share of the fleet, and a release replaces one half at a time.
    release_mode: Literal["blue_green", "split"] = "blue_green"
    split: Split = Split()

    @field_validator("app")
    @classmethod
    def _app_name(cls, app: str) -> str:
        if not APP_NAME.match(app):
            raise ValueError("must match [a-z][a-z0-9-]{1,30}")
        return app

    @field_validator("slots")
    @classmethod
    def _both_slots(cls, slots: dict[str, Slot]) -> dict[str, Slot]:
        missing = [s for s in SLOTS if s not in slots]
        if missing:
            raise ValueError(f"{missing[0]} is missing: an app needs both a blue and a green slot")
        return slots

    @model_validator(mode="after")
    def _router_fields(self) -> Self:
        # Each message starts with the field to change (see describe_validation_error).
        if self.router == "route53":
            _route53_fields(self)
        else:
            _alb_fields(self)
        return self

    @model_validator(mode="after")
    def _fits_the_budget_and_ssm(self) -> Self:
        # Their messages start with the field to change (see describe_validation_error).
        stored = len(self.model_dump_json())
        if stored > SSM_STANDARD_LIMIT:
            raise ValueError(
                f"config: {stored:,} characters once stored, over the {SSM_STANDARD_LIMIT:,} of a standard SSM"
                " parameter: shorten it (fewer smoke tests, alarms or target groups)"
            )
        budget.check(self)
        return self


def _route53_fields(config: AppConfig) -> None:
    if config.dns is None:
        raise ValueError(
            "dns: is required by the route53 router (the default): name the weighted record, or set router"
        )
    if config.alb is not None:
        raise ValueError('alb: is for the alb router only: set router to "alb", or remove alb')
    for slot in SLOTS:
        if config.slots[slot].alias is None:
            raise ValueError(
                f"slots.{slot}.alias: is required by the route53 router: the load balancer its record names"
            )
        if config.slots[slot].test_base_url is None:
            raise ValueError(f"slots.{slot}.test_base_url: is required: the URL the smoke tests call")


def _alb_fields(config: AppConfig) -> None:
    alb = config.alb
    if alb is None:
        raise ValueError("alb: is required by the alb router: name the listeners or rules that carry the app's traffic")
    if config.dns is not None:
        raise ValueError(
            "dns: the alb router weights target groups, not records: remove dns (the live release is published in SSM"
            " at /bluegreen/live/<app>)"
        )
    if not alb.routes:
        raise ValueError("alb: name at least one listener (alb.listener_arns) or rule (alb.rule_arns)")
    balancers = {load_balancer_of(arn) for arn in alb.routes}
    if alb.test_route is not None:
        balancers.add(load_balancer_of(alb.test_route.listener_arn or alb.test_route.rule_arn or ""))
    if len(balancers) > 1:
        raise ValueError(
            f"alb: the listeners and rules are on {len(balancers)} load balancers ({', '.join(sorted(balancers))}): a"
            " target group serves one load balancer, so name those of one"
        )
    if alb.test_route is not None and alb.test_route.rule_arn in alb.rule_arns:
        raise ValueError("alb.test_route.rule_arn: is also in alb.rule_arns: the test route must carry no user traffic")
    if alb.test_route is not None and alb.test_route.listener_arn in alb.listener_arns:
        raise ValueError(
            "alb.test_route.listener_arn: is also in alb.listener_arns: the test route must carry no user traffic"
        )
    blue, green = (config.slots[slot].target_group_arns for slot in SLOTS)
    if len(blue) != len(green):
        raise ValueError(
            f"slots.green.target_group_arns: blue has {len(blue)} target groups and green {len(green)}: the alb router"
            " pairs them by position (a forward action weights blue's n-th against green's n-th)"
        )
    if set(blue) & set(green):
        raise ValueError("slots.green.target_group_arns: a target group is in both slots: each slot needs its own")
    for slot in SLOTS:
        if config.slots[slot].alias is not None:
            raise ValueError(f"slots.{slot}.alias: the alb router weights target groups, not records: remove alias")
        if config.slots[slot].test_base_url is None and alb.test_route is None:
            raise ValueError(
                f"slots.{slot}.test_base_url: is required unless alb.test_route reaches the idle slot through the load"
                " balancer: the URL the smoke tests call"
            )


_PATTERN_HINTS = {
    DNS_NAME: "a DNS name (e.g. www.shop.example.com)",
    HOSTED_ZONE_ID: "a Route 53 hosted zone id (e.g. Z0123456789ABCDEFGHIJ)",
    TARGET_GROUP_ARN: "a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>)",
    r"^https?://[^\s/]+": "an http:// or https:// URL (e.g. https://shop-green.internal.example.com)",
    r"^/": "a path that starts with / (e.g. /health)",
    r"^sg-[0-9a-f]{1,17}$": "a security group id (sg- and hex digits)",
    r"^lt-[0-9a-f]{1,17}$": "a launch template id (lt- and hex digits)",
    r"^arn:aws[a-z-]*:sns:": "an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)",
    r"^[A-Za-z0-9-]{1,40}$": "an HTTP header name (letters, digits and -, at most 40)",
    ACCOUNT_ID: "an AWS account id (12 digits, e.g. 111122223333)",
    AMI_NAME_PATTERN: "an AMI name pattern (at most 128 of letters, digits, ( ) [ ] space . / - ' @ _, with * and ?)",
    SSM_PARAMETER_NAME: "an SSM parameter name (a-zA-Z0-9_.- and / between levels, e.g. /golden-ami/shop)",
}


def describe_validation_error(err: ValidationError) -> str:
    """One line naming the first bad field and what is wrong with it."""
    first = err.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    if not first["loc"]:  # a check of the whole document names its field itself
        return message
    field = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        message = "is not a known field (check its spelling against the README's schema)"
    elif first["type"] == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(first["ctx"]["pattern"], f"of the form {first['ctx']['pattern']}")
        message = f"{first['input']!r} is not {hint}"
    elif first["type"] == "missing":
        message = "is required"
    return f"{field}: {message}"


def parse_config(raw: str | dict, app: str | None = None) -> AppConfig:
    """Validate a configuration document; raise ConfigInvalidError with one clear line."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as err:
        raise ConfigInvalidError(f"config is not valid JSON: {err.msg} at line {err.lineno}") from None
    if not isinstance(data, dict):
        raise ConfigInvalidError("config must be a JSON object")
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as err:
        label = app or data.get("app") or "app"
        raise ConfigInvalidError(f"config of {label!r} is invalid: {describe_validation_error(err)}") from None
    if app is not None and config.app != app:
        raise ConfigInvalidError(f"app: the document names {config.app!r} but is stored for {app!r}")
    return config


def parameter_name(app: str) -> str:
    return f"{PARAMETER_PREFIX}{app}"


def live_parameter_name(app: str) -> str:
    return f"{LIVE_PARAMETER_PREFIX}{app}"


def check_app_name(app: str) -> str:
    if not isinstance(app, str) or not APP_NAME.match(app):
        raise ConfigInvalidError(f"app: {app!r} is not a valid app name (use [a-z][a-z0-9-]{{1,30}})")
    return app
