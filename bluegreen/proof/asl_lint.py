"""Structural lint of the state machines (SPEC section 10): `python -m bluegreen.proof.asl_lint statemachine/*.asl.json`.

Every Task has a timeout, a Retry for transient errors (Lambda's, or Step Functions' for a nested execution) and a
Catch leading to rollback (or to a Fail state before anything changed); the machine has a timeout; names follow the
convention; every state is reachable; every loop waits and passes through a Task whose errors are caught (that Task
enforces the loop's deadline).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

TRANSIENT = "Lambda.TooManyRequestsException"
# A Task that starts another state machine is throttled by Step Functions, not Lambda: its transient error differs.
TRANSIENT_BY_RESOURCE = {":states:::states:startExecution": "StepFunctions.ExecutionLimitExceededException"}
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]{1,79}$")
QUESTION = ("Is", "Has", "Should", "Are", "Can")


def _targets(state: dict) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [c["Next"] for c in state.get("Choices", [])]
    found += [state["Default"]] if "Default" in state else []
    found += [c["Next"] for c in state.get("Catch", [])]
    return found


def _transient(state: dict) -> str:
    resource = str(state.get("Resource", ""))
    return next((error for marker, error in TRANSIENT_BY_RESOURCE.items() if marker in resource), TRANSIENT)


def lint(definition: dict, label: str = "") -> list[str]:
    problems: list[str] = []
    states: dict[str, dict] = definition.get("States", {})

    def problem(name: str, text: str) -> None:
        problems.append(f"{label}{name}: {text}")

    if "TimeoutSeconds" not in definition:
        problem("(machine)", "no TimeoutSeconds on the state machine")
    for name, state in states.items():
        kind = state.get("Type")
        if not PASCAL.match(name):
            problem(name, "state names are PascalCase, at most 80 characters")
        if kind == "Choice" and not name.startswith(QUESTION):
            problem(name, "a Choice is named as a question (Is..., Has...)")
        if kind == "Wait" and not name.startswith("WaitFor"):
            problem(name, "a Wait is named WaitFor...")
        for target in _targets(state):
            if target not in states:
                problem(name, f"leads to {target!r}, which does not exist")
        if kind != "Task":
            continue
        if "TimeoutSeconds" not in state and "TimeoutSecondsPath" not in state:
            problem(name, "Task without TimeoutSeconds")
        retried = {e for r in state.get("Retry", []) for e in r.get("ErrorEquals", [])}
        transient = _transient(state)
        if not retried & {transient, "States.ALL"}:
            problem(name, f"Task without a Retry for {transient}")
        catches = state.get("Catch", [])
        if not catches:
            problem(name, "Task without a Catch")
        for catch in catches:
            target = states.get(catch["Next"], {})
            if not (catch["Next"].startswith("Rollback") or target.get("Type") == "Fail"):
                problem(name, f"Catch leads to {catch['Next']}, not to a Rollback... state or a Fail state")

    reachable, todo = set(), [definition.get("StartAt")]
    while todo:
        name = todo.pop()
        if name in reachable or name not in states:
            continue
        reachable.add(name)
        todo += _targets(states[name])
    for name in states.keys() - reachable:
        problem(name, "is never reached")

    # Every cycle, not only every strongly connected component (loops nest: a split release's halves loop around the
    # health loop): without the Wait states, and without the guarded Tasks, no cycle may be left.
    graph = {n: [t for t in _targets(s) if t in states] for n, s in states.items()}
    for without in (
        # A Task that waits for a nested execution or a callback waits too.
        lambda s: s["Type"] == "Wait" or str(s.get("Resource", "")).split(":::")[-1].split(".")[-1] in _WAITING,
        lambda s: s["Type"] == "Task" and bool(s.get("Catch")),
    ):
        kept = {n for n, s in states.items() if not without(s)}
        for loop in _cycles({n: [t for t in targets if t in kept] for n, targets in graph.items() if n in kept}):
            problem("/".join(sorted(loop)), "a loop must contain a Wait and a Task whose errors are caught")
    return problems


_WAITING = ("sync", "sync:2", "waitForTaskToken")


def _cycles(graph: dict[str, list[str]]) -> list[set[str]]:
    """Strongly connected components with a cycle (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found


def main(paths: list[str]) -> int:
    problems = []
    for path in paths:
        problems += lint(json.loads(Path(path).read_text()), f"{path}: ")
    for line in problems:
        print(line)
    print(f"asl-lint: {len(paths)} definitions, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
