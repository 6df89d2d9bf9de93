"""What a cold start costs: importing each handler module the template names, against a bare `import boto3`.

Each figure is the median of `repeats` fresh interpreters, the statement alone timed inside the process (the
interpreter's own start, the same for both, is left out), samples interleaved so a burst of load on this shared
machine weighs on all of them. Two ways of loading the code:

- **bytecode**: every module from a warm bytecode cache (`PYTHONPYCACHEPREFIX`, written by a first run). This is
  the goal's figure: what importing costs once the code is compiled, as Powertools measures its own imports.
- **from source**: the functions' modules compiled as they are imported, libraries from their installed bytecode.
  This is what Lambda pays today: `sam build` ships no `.pyc` and `/var/task` is read-only, so no cache is written.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOAL = 1.3  # a handler module's import, as a multiple of `import boto3`
BOTO3 = "import boto3"
# What any handler here imports before a line of its own: boto3, pydantic with one model, Powertools' Logger and Metrics.
FLOOR = (
    "import boto3; from pydantic import ConfigDict, Field, create_model; from aws_lambda_powertools import Logger,"
    " Metrics; Logger(service='f'); Metrics(namespace='f'); create_model('M', a=(int, Field(0, ge=0)))"
)


def handler_modules(template: Path = REPO / "template.yaml") -> list[str]:
    """Every module a function's `Handler:` names, once each."""
    found = re.findall(r"^\s*Handler:\s*([\w.]+)\.\w+\s*$", template.read_text(), flags=re.MULTILINE)
    return sorted(set(found))


@dataclass
class Imports:
    boto3_ms: float
    handlers_ms: dict[str, float]  # bytecode (the goal's figure)
    source_ms: dict[str, float]  # from source (Lambda today)
    source_boto3_ms: float
    floor_ms: float | None = None  # FLOOR, bytecode

    @property
    def worst(self) -> str:
        return max(self.handlers_ms, key=self.handlers_ms.__getitem__)

    @property
    def worst_ratio(self) -> float:
        return self.handlers_ms[self.worst] / self.boto3_ms


def _sample(statement: str, functions: Path, env: dict[str, str]) -> float:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import time; s = time.perf_counter(); {statement}; print(time.perf_counter() - s)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=functions,
        env=env,
    )
    return float(done.stdout) * 1000


def _medians(jobs: dict[str, tuple[str, dict[str, str]]], functions: Path, repeats: int) -> dict[str, float]:
    """Each job (a statement, the environment to run it in) `repeats` times, interleaved."""
    for statement, env in jobs.values():  # a first run: fills a bytecode cache, and the file system's
        _sample(statement, functions, env)
    samples: dict[str, list[float]] = {key: [] for key in jobs}
    for _ in range(repeats):
        for key, (statement, env) in jobs.items():
            samples[key].append(_sample(statement, functions, env))
    return {key: statistics.median(s) for key, s in samples.items()}


def measure(
    functions: Path = REPO / "functions", modules: list[str] | None = None, repeats: int = 9, floor: bool = True
) -> Imports:
    """Both ways of loading, for `import boto3` and each handler module, the code from a copy of `functions`; and
    FLOOR with bytecode."""
    modules = handler_modules() if modules is None else modules
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")} | {"AWS_REGION": "us-east-1"}
    with tempfile.TemporaryDirectory() as folder:
        code = Path(folder) / "functions"
        shutil.copytree(functions, code, ignore=shutil.ignore_patterns("__pycache__"))
        cached = base | {"PYTHONPYCACHEPREFIX": str(Path(folder) / "pyc")}
        fresh = base | {"PYTHONDONTWRITEBYTECODE": "1"}
        statements = {BOTO3: BOTO3, **{m: f"import {m}" for m in modules}}
        jobs = {f"{way} {k}": (v, env) for k, v in statements.items() for way, env in (("bc", cached), ("src", fresh))}
        if floor:
            jobs["floor"] = (FLOOR, cached)
        ms = _medians(jobs, code, repeats)
    return Imports(
        ms[f"bc {BOTO3}"],
        {m: ms[f"bc {m}"] for m in modules},
        {m: ms[f"src {m}"] for m in modules},
        ms[f"src {BOTO3}"],
        ms.get("floor"),
    )


def at_commit(commit: str, repeats: int = 9) -> Imports | None:
    """The same figures for a commit's handler code (from git, into a temporary folder), in this run; None without
    the history (an exported tree). Its modules are today's that it has, and its own handler modules."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "functions"], capture_output=True)
        if archive.returncode != 0:
            return None
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        functions = Path(folder) / "functions"
        shown = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:template.yaml"], capture_output=True)
        template = Path(folder) / "template.yaml"
        template.write_bytes(shown.stdout)
        return measure(functions, handler_modules(template), repeats, floor=False)


def goal_rows(now: Imports, before: Imports | None) -> list[str]:
    """The rows of the goals table: `import boto3`, and the worst handler module against the goal."""
    worst, ratio = now.worst, now.worst_ratio
    was = f"{_ratio(before.handlers_ms[before.worst], before.boto3_ms)}" if before else "-"
    return [
        f"| `import boto3` | {f'{before.boto3_ms:.0f} ms' if before else '-'} | {now.boto3_ms:.0f} ms | | |",
        f"| the slowest handler module's import (`{worst}`; every one below) | {was} "
        f"| {_ratio(now.handlers_ms[worst], now.boto3_ms)} | {GOAL}x | {'yes' if ratio <= GOAL else 'no'} |",
    ]


def module_table(now: Imports, before: Imports | None) -> list[str]:
    """Every handler module: bytecode (the goal's figure) and from source, beside the baseline's."""
    lines = [
        "Cold start of each handler module the template names (median of fresh interpreters, as a multiple of",
        f"`import boto3` in the same run: {now.boto3_ms:.0f} ms with bytecode, {now.source_boto3_ms:.0f} ms from source):",
        "",
        "| module | baseline, bytecode | bytecode | baseline, from source | from source (Lambda today) | goal | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    if now.floor_ms is not None:
        floor = _ratio(now.floor_ms, now.boto3_ms)
        lines.append(f"| (only boto3, pydantic and one model, Powertools' Logger and Metrics) | | {floor} | | | | |")
    for module, ms in now.handlers_ms.items():
        was = before.handlers_ms.get(module) if before else None
        was_source = before.source_ms.get(module) if before else None
        lines.append(
            f"| `{module}` | {_ratio(was, before.boto3_ms) if before else '-'} | {_ratio(ms, now.boto3_ms)} "
            f"| {_ratio(was_source, before.source_boto3_ms) if before else '-'} "
            f"| {_ratio(now.source_ms[module], now.source_boto3_ms)} | {GOAL}x "
            f"| {'yes' if ms / now.boto3_ms <= GOAL else 'no'} |"
        )
    return lines


def _ratio(ms: float | None, boto3_ms: float) -> str:
    return "-" if ms is None else f"{ms:.0f} ms ({ms / boto3_ms:.2f}x)"


def main() -> int:
    """`python -m bluegreen.proof.cold_start`: today's figures alone (the bench adds the baseline's)."""
    print("\n".join(module_table(measure(), None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
