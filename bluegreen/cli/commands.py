"""The `bluegreen` command: start, watch, approve, abort and roll back releases; manage apps; run the local twin.

Exit codes: 0 success; 1 the release failed (and was rolled back); 2 bad input; 3 not found; 4 AWS unreachable or
refused the call.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from orchestrator.errors import BluegreenError
from rich.console import Console

from bluegreen.aws import DEFAULT_STACK, Aws
from bluegreen.cli import ops, split_view, views

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__, pretty_exceptions_enable=False)
apps = typer.Typer(no_args_is_help=True, help="App configurations in SSM (/bluegreen/apps/<app>).")
local = typer.Typer(no_args_is_help=True, help="The local twin: the whole stack on this machine, no AWS account.")
app.add_typer(apps, name="app")
app.add_typer(local, name="local")
# soft_wrap: a line is never cut at the terminal's width, so errors stay one line and scripts can parse output.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


class State:
    aws: Aws = Aws()
    output: str = "table"


state = State()


@app.callback()
def main_options(
    profile: Annotated[str | None, typer.Option(help="AWS profile.", envvar="AWS_PROFILE")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region.", envvar="AWS_REGION")] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(help="Endpoint, e.g. the twin's http://127.0.0.1:5000.", envvar="BLUEGREEN_ENDPOINT_URL"),
    ] = None,
    stack: Annotated[str, typer.Option(help="Stack name.", envvar="BLUEGREEN_STACK")] = DEFAULT_STACK,
    output: Annotated[str, typer.Option(help="json or table.")] = "table",
) -> None:
    if output not in ("json", "table"):
        raise ops.CliError(f"--output: {output!r} is not json or table")
    state.aws = Aws(region=region, profile=profile, endpoint_url=endpoint_url, stack=stack)
    state.output = output


def emit(data: Any, table: Any = None) -> None:
    if state.output == "json" or table is None:
        console.print_json(json.dumps(data, default=str))
    else:
        console.print(table)


@app.command()
def deploy(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    ami: Annotated[str, typer.Option(help="The AMI to release.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Watch until the release ends.")] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Allow an AMI whose release failed.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Release an AMI that is a backup or an image of a fleet's own host.")
    ] = False,
) -> None:
    """Release an AMI to an app (also what an AMI event does)."""
    arn = ops.start_release(state.aws, app_name, ami, dry_run=dry_run, retry_failed=retry_failed, force=force)
    if dry_run:
        execution = ops.wait_for(state.aws, arn, timeout=120)
        _finish(execution, show_plan=True)
        return
    if not wait:
        emit({"executionArn": arn}, f"started {arn}\nwatch it: bluegreen watch {app_name}")
        return
    _finish(views.watch(state.aws, app_name, arn, console))


def _finish(execution: ops.Execution, show_plan: bool = False) -> None:
    release = (execution.output or {}).get("release", {})
    if state.output == "json":
        emit({"status": execution.status, "error": execution.error, "cause": execution.cause, "release": release})
    elif show_plan and release.get("outcome") == "DryRun":
        _print_plan(release)
    elif execution.status == "SUCCEEDED":
        console.print(f"[green]{release.get('outcome', 'done')}[/green] {release.get('reason', '')}".rstrip())
    if execution.status != "SUCCEEDED":
        # Bad input and not-found exit as they would have before the release started (2, 3); a failed release 1.
        code = ops.EXIT_CODE_OF_ERROR.get(execution.error or "", 1)
        if state.output != "json":
            _fail(f"{execution.error}: {execution.cause}")
        raise typer.Exit(code)


def _fail(message: str) -> int:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    return 1


def _print_plan(release: dict) -> None:
    waits = release["waits"]
    console.print(f"[bold]Plan[/bold] for {release['app']}: {release['ami_id']} into the {release['idle_slot']} slot")
    console.print(f"  live: {release['live']['asg_name']} ({release['live']['slot']}), green: {release['green_asg']}")
    console.print(f"  router: {release['config']['router']}", highlight=False)
    if release.get("split"):
        console.print(f"  split: {split_view.plan_text(release['split'])}", highlight=False)
    if release.get("matched_by"):
        console.print(f"  AMI matched by: {release['matched_by']}", highlight=False)
    for note in release.get("ami_notes") or []:
        console.print(f"  AMI: {note}", highlight=False)
    console.print(
        f"  steps: {release['steps']} with {waits['bake_seconds']}s bake each; drain {waits['drain_seconds']}s"
    )
    console.print(
        f"  approval: {release['approval_required']}; expected at least {release['expected_duration_seconds']}s"
    )
    plan = release.get("clone_plan") or {}
    for part in ("copied", "adjusted", "not_copied", "refused"):
        for item in plan.get(part, []):
            line = f"  {part:>10}: {item['what']} {item.get('detail', '')}".rstrip()
            console.print(f"[red]{line}[/red]" if part == "refused" else line, highlight=False)
    console.print("[dim]dry run: nothing was changed[/dim]")
    if plan.get("refused"):
        # A script that checks a release first learns it would be refused, as if it had been (bad input).
        raise typer.Exit(_fail("the release would be refused: " + "; ".join(i["what"] for i in plan["refused"])) + 1)


@app.command()
def status(app_name: Annotated[str | None, typer.Argument(metavar="[APP]")] = None) -> None:
    """The live release, the release in flight and the weights, of one app or every app."""
    names = [app_name] if app_name else ops.list_apps(state.aws)
    rows = [ops.status(state.aws, n) for n in names]
    emit(rows, views.status_view(rows))


@app.command()
def watch(target: Annotated[str, typer.Argument(metavar="APP|EXECUTION_ARN")]) -> None:
    """Live view of a release (phase, weights per slot, health, elapsed) or of a quarantine case (each instance's
    containment, then the swap)."""
    if target.startswith("arn:"):
        arn = target
        described = state.aws.client("stepfunctions").describe_execution(executionArn=arn)
        if described["stateMachineArn"] == state.aws.outputs.get("QuarantineStateMachineArn"):
            _finish_case(views.watch_case(state.aws, arn, console, draw=state.output != "json"))
            return
        app_name = json.loads(described["input"]).get("app", "")
    else:
        app_name = target
        opened = ops.open_case(state.aws, target)
        if opened and opened.get("owner_execution"):
            arn = opened["owner_execution"]
            _finish_case(views.watch_case(state.aws, arn, console, app_name, draw=state.output != "json"))
            return
        lock = ops.status(state.aws, target)["in_flight"]
        if not lock:
            raise ops.NotFound(f"app {target!r} has no release in flight and no open quarantine case")
        arn = lock["execution_arn"]
    _finish(views.watch(state.aws, app_name, arn, console, draw=state.output != "json"))


def _finish_case(execution: ops.Execution) -> None:
    case = (execution.output or {}).get("case", {})
    if state.output == "json":
        emit({"status": execution.status, "error": execution.error, "cause": execution.cause, "case": case})
    if execution.status != "SUCCEEDED":
        raise typer.Exit(1 if state.output == "json" else _fail(f"{execution.error}: {execution.cause}"))


@app.command()
def approve(app_name: Annotated[str, typer.Argument(metavar="APP")]) -> None:
    """Approve the release waiting at the approval gate."""
    console.print(f"approved release {ops.answer_approval(state.aws, app_name, True)}")


@app.command()
def reject(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    reason: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Reject the release waiting at the approval gate; it rolls back."""
    console.print(f"rejected release {ops.answer_approval(state.aws, app_name, False, reason)}")


@app.command()
def abort(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    reason: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Stop the release in flight at its next gate and roll it back."""
    console.print(
        f"abort requested for release {ops.abort(state.aws, app_name, reason)}: it rolls back at its next gate"
    )


@app.command()
def rollback(app_name: Annotated[str, typer.Argument(metavar="APP")]) -> None:
    """Within the keep window: traffic back on the previous fleet at once (a split app: once its old halves are
    relaunched)."""
    release_id, split = ops.request_rollback(state.aws, app_name)
    if split:
        console.print(f"release {release_id} rolls back: the old halves are relaunched, then take the traffic back")
        return
    console.print(f"traffic is back on the previous fleet; release {release_id} rolls back")


@app.command()
def history(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    limit: Annotated[int, typer.Option(help="How many.")] = 20,
    release: Annotated[
        str | None, typer.Option("--release", help="One release: every canary verdict, with its evidence.")
    ] = None,
) -> None:
    """Releases and quarantine cases of an app, newest first; with --release, one release's canary verdicts."""
    if release is not None:
        verdicts = ops.canary_verdicts(state.aws, app_name, release)
        emit(verdicts, views.verdicts_table(verdicts, f"canary verdicts of {app_name} release {release}"))
        return
    rows = ops.history(state.aws, app_name, limit)
    flat = [
        {
            "id": r.get("release_id") or r.get("case_id"),
            "kind": r.get("kind", "release"),
            "ami": r.get("ami_id", ""),
            "status": r.get("status")
            or {"superseded": "superseded", "copy_failed": "failed"}.get(r.get("kind", ""), ""),
            "started": r.get("started_at") or r.get("opened_at") or r.get("at", ""),
            "error": r.get("error", ""),
            "detail": ops.history_detail(r),
        }
        for r in rows
    ]
    columns = ["id", "kind", "ami", "status", "started", "error", "detail"]
    emit(rows, views.table_of(flat, columns, f"history of {app_name}"))


@app.command()
def quarantine(
    targets: Annotated[
        list[str],
        typer.Argument(metavar="APP|INSTANCE_ID...", help="An app (its whole live fleet), instance ids, or both."),
    ],
    reason: Annotated[str, typer.Option(help="Why: recorded in the case and its notifications (required).")],
    ami: Annotated[str | None, typer.Option(help="Known-good AMI to swap onto (default: the live one).")] = None,
    swap_only: Annotated[
        bool, typer.Option("--swap-only", help="Swap again the fleet of the app's case whose swap failed.")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the case is closed.")] = False,
) -> None:
    """Isolate instances for forensics (never terminated) and swap the app onto fresh instances."""
    arn = ops.start_quarantine(state.aws, targets, reason, ami, swap_only)
    if not wait:
        emit({"executionArn": arn}, f"started {arn}\nfollow it: bluegreen watch {arn}")
        return
    execution = ops.wait_for(state.aws, arn, timeout=7_200)
    case = (execution.output or {}).get("case", {})
    emit(
        {"status": execution.status, "error": execution.error, "cause": execution.cause, "case": case},
        f"{execution.status}: {ops.case_summary(case)}",
    )
    if execution.status != "SUCCEEDED":
        # Bad input and not-found exit as they would have before the release started (2, 3); a failed release 1.
        code = ops.EXIT_CODE_OF_ERROR.get(execution.error or "", 1)
        if state.output != "json":
            _fail(f"{execution.error}: {execution.cause}")
        raise typer.Exit(code)


@app.command("case")
def case_command(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    case_id: Annotated[str | None, typer.Argument(metavar="[CASE_ID]", help="Default: the latest case.")] = None,
) -> None:
    """A quarantine case's timeline: the event, each instance's steps with their time and result, the swap."""
    item = ops.case(state.aws, app_name, case_id)
    rows = ops.case_timeline(item)
    budgets = ops.role_budgets(state.aws, item)
    title = f"case {item.get('case_id')} of {app_name}: {item.get('status')} ({item.get('reason', '')})"
    emit(
        {"case": item, "timeline": rows, "role_budget": budgets}, views.table_of(rows, ["at", "what", "detail"], title)
    )
    if state.output != "json":
        for budget in budgets:
            console.print(
                f"role {budget['role']}: deleted since"
                if budget.get("gone")
                else f"role {budget['role']}: {budget['left']} of {budget['quota']} inline-policy characters left"
                f" ({budget['quarantine_denies']} quarantine deny(ies), {budget['quarantine_characters']} characters)",
                highlight=False,
            )


@app.command("release-instance")
def release_instance(
    instance_id: Annotated[str, typer.Argument(metavar="INSTANCE_ID")],
    reason: Annotated[str, typer.Option(help="Why the investigation is over (required).")],
) -> None:
    """Undo a quarantine's isolation after the investigation: own security groups, instance profile, role sessions and
    Elastic IPs back. Termination protection, kept volumes and snapshots stay; the instance stays out of its group."""
    released = ops.release_instance(state.aws, instance_id, reason)
    table = views.table_of(
        [{"step": k, "done": v} for k, v in released["done"].items()],
        ["step", "done"],
        f"released {instance_id} (case {released['case_id']} of {released['app']})",
    )
    emit(released, table)


@apps.command("put")
def app_put(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="JSON document (- for stdin).")],
) -> None:
    """Validate and store an app's configuration."""
    text = sys.stdin.read() if str(file) == "-" else _read(file)
    config, report = ops.check_config(state.aws, app_name, text)
    ops.store_config(state.aws, config)
    console.print(f"stored /bluegreen/apps/{config.app}")
    for line in report:
        console.print(f"  {line}", highlight=False)


def _read(file: Path) -> str:
    try:
        return file.read_text()
    except OSError as err:
        raise ops.CliError(f"FILE: cannot read {file}: {err.strerror}") from None


@apps.command("get")
def app_get(app_name: Annotated[str, typer.Argument(metavar="APP")]) -> None:
    """Print an app's configuration."""
    console.print_json(ops.load_config(state.aws, app_name).model_dump_json())


@apps.command("list")
def app_list() -> None:
    """Every configured app."""
    names = ops.list_apps(state.aws)
    emit(names, views.table_of([{"app": n} for n in names], ["app"], "apps"))


@local.command("up")
def local_up(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000,
    wait_scale: Annotated[float, typer.Option(help="Multiplier of every wait.")] = 0.02,
    parameter: Annotated[
        list[str] | None,
        typer.Option(help="A template parameter, Key=Value (repeatable), e.g. BuildAccountIds=111122223333."),
    ] = None,
) -> None:
    """Start the twin, deploy template.yaml into it, print the endpoint and outputs; runs until Ctrl-C."""
    from bluegreen.cli import template_parameters
    from bluegreen.twin import local

    parameters = template_parameters.parse(parameter or [], local.TEMPLATE)  # refused before anything starts
    local.up(port=port, wait_scale=wait_scale, console=console, parameters=parameters)


@local.command("demo")
def local_demo(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000) -> None:
    """Seed the demo apps on the twin and run their scenes live: a release, a broken AMI rolled back, a quarantine, a
    regression only the canary judge sees, a split fleet's halves replaced in turn."""
    from bluegreen.demo import scenes as demo

    raise typer.Exit(demo.run(port=port, console=console))


GLOBAL_OPTIONS = ("--profile", "--region", "--endpoint-url", "--stack", "--output")


def hoist_global_options(argv: list[str]) -> list[str]:
    """Like the AWS CLI, accept --region, --output... anywhere on the line: move them before the command."""
    front: list[str] = []
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            front.append(arg)
            if "=" not in arg:
                front.append(next(args, ""))
        else:
            rest.append(arg)
    return front + rest


def main() -> None:
    try:
        # Without standalone mode, click returns the exit code of typer.Exit instead of raising it.
        code = app(args=hoist_global_options(sys.argv[1:]), standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except ops.CliError as err:
        _exit(err.exit_code, str(err))
    except BluegreenError as err:
        _exit(2, str(err))
    except ClientError as err:
        error = err.response.get("Error", {})
        code = 3 if "NotFound" in error.get("Code", "") or "does not exist" in error.get("Message", "") else 4
        _exit(code, f"{err.operation_name}: {error.get('Code')}: {error.get('Message')}")
    except BotoCoreError as err:
        _exit(4, str(err))
    except typer.TyperException as err:  # usage errors: unknown option, missing argument...
        _exit(2, err.format_message() if hasattr(err, "format_message") else str(err))


def _exit(code: int, message: str) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    sys.exit(code)


if __name__ == "__main__":
    main()
