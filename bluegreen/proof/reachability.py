"""Least privilege by reachability: the AWS actions each function's code can reach, against the policy it is given.

`python -m bluegreen.proof.reachability` (part of `make test`). The orchestrator package is read with `ast` (never
imported): a call graph from each function's handler, whatever the app's router or the quarantine's trigger, and the
operations its adapters call on boto3 clients. It fails when a reachable action is not allowed by the function's own
policy, or when the policy grants an action nothing reaches (SAM policy templates and `EXCEPTIONS` aside, each saying
why). The recordings of the twin (`least_privilege.calls_not_allowed`) prove the calls tests made; this proves the rest.
"""

from __future__ import annotations

import ast
import functools
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import botocore.session
from botocore import xform_name
from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor
from samtranslator.yaml_helper import yaml_parse

from bluegreen.proof.least_privilege import (
    TEMPLATE,
    Statement,
    _translated,
    action_matches,
    allowed,
    expand,
    function_policies,
)
from bluegreen.twin.api_calls import TRANSACTION_ITEMS, iam_action

CODE_ROOT = TEMPLATE.parent / "functions"
PACKAGE = "orchestrator"


@dataclass(frozen=True)
class Needs:
    """Actions IAM also checks when an operation is called with one of `when`'s parameters (any call, if empty)."""

    actions: frozenset[str]
    when: tuple[str, ...] = ()


# Actions an operation needs besides its own. Sources: the Service Authorization Reference ("dependent actions" column)
# and the service guides named per entry. A call whose parameters are not known (`**params`) counts as using them all.
DEPENDENT_ACTIONS: dict[str, Needs] = {
    # Auto Scaling User Guide, "Control Amazon EC2 launch template usage in Auto Scaling groups": creating or updating
    # a group with a launch template checks ec2:RunInstances, iam:PassRole (its instance profile's role, and a
    # lifecycle hook's RoleARN) and ec2:CreateTags (tags on launch).
    "autoscaling:CreateAutoScalingGroup": Needs(
        frozenset({"ec2:RunInstances", "iam:PassRole", "ec2:CreateTags"}), ("LaunchTemplate", "MixedInstancesPolicy")
    ),
    "autoscaling:UpdateAutoScalingGroup": Needs(
        frozenset({"ec2:RunInstances", "iam:PassRole", "ec2:CreateTags"}), ("LaunchTemplate", "MixedInstancesPolicy")
    ),
    # Auto Scaling User Guide, "Configure a notification target for lifecycle notifications": the hook's role is passed.
    "autoscaling:PutLifecycleHook": Needs(frozenset({"iam:PassRole"}), ("RoleARN",)),
    # EC2 User Guide, "Grant permission to tag Amazon EC2 resources during creation": TagSpecifications need CreateTags.
    "ec2:CopyImage": Needs(frozenset({"ec2:CreateTags"}), ("TagSpecifications",)),
    # KMS Developer Guide, "How Amazon EBS uses AWS KMS": a copy of an encrypted AMI uses the source key as the caller
    # (through EC2: kms:ViaService), and EC2 creates a grant on it for the copy's snapshots.
    "ec2:CopyImage#kms": Needs(
        frozenset(
            {
                "kms:Decrypt",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:DescribeKey",
                "kms:CreateGrant",
            }
        )
    ),
    "ec2:CreateSnapshots": Needs(frozenset({"ec2:CreateTags"}), ("TagSpecifications",)),
    "ec2:CreateSecurityGroup": Needs(frozenset({"ec2:CreateTags"}), ("TagSpecifications",)),
    # Service Authorization Reference, Amazon EC2: ReplaceIamInstanceProfileAssociation's dependent action iam:PassRole.
    "ec2:ReplaceIamInstanceProfileAssociation": Needs(frozenset({"iam:PassRole"})),
}

# Grants no reachable call explains, kept on purpose: (function logical id, action) -> why. As small as honest.
EXCEPTIONS: dict[tuple[str, str], str] = {
    # Green's tags and lifecycle hooks go in with CreateAutoScalingGroup (Tags, LifecycleHookSpecificationList). Whether
    # Auto Scaling also authorizes those parts as CreateOrUpdateTags and PutLifecycleHook is not said by the Service
    # Authorization Reference nor the API reference; taking them away could fail every release in a real account,
    # which no test here can show. Kept until an account proves them unneeded.
    (
        "CreateGreenGroupFunction",
        "autoscaling:CreateOrUpdateTags",
    ): "tags given to CreateAutoScalingGroup (unconfirmed)",
    ("CreateGreenGroupFunction", "autoscaling:PutLifecycleHook"): "hooks given to CreateAutoScalingGroup (unconfirmed)",
}

# Calls that reach AWS through a library rather than a boto3 client: (class the receiver is, method) -> action.
# Powertools Parameters' SSMProvider.get is GetParameter, get_multiple GetParametersByPath (Powertools docs,
# "Parameters": "IAM Permissions").
LIBRARY_CALLS: dict[tuple[str, str], str] = {
    ("SSMProvider", "get"): "ssm:GetParameter",
    ("SSMProvider", "get_multiple"): "ssm:GetParametersByPath",
}

# boto3 resource methods whose names are not an operation's (boto3's DynamoDB Table resource).
RESOURCE_METHODS: dict[str, dict[str, str]] = {"dynamodb": {"batch_writer": "BatchWriteItem"}}

# A method call on an object whose class is unknown resolves to every package method of that name, except these
# names: methods of builtin types (`x.get`, `x.update` on dicts and the like would otherwise reach any `get` or
# `update` method) and pydantic's. boto3 operation names are left out too (see `Package.unknown_call`).
COMMON_METHODS = frozenset(
    name
    for kind in (dict, list, str, set, tuple, bytes, int, float, object)
    for name in dir(kind)
    if not name.startswith("__")
) | frozenset({"model_dump", "model_dump_json", "model_copy", "model_validate", "model_validate_json", "isoformat"})
# Methods a class's instantiation runs.
CONSTRUCTORS = ("__init__", "__post_init__", "__new__", "model_post_init")


@dataclass
class Function:
    """A function or method of the package."""

    qualname: str
    module: str
    cls: str | None
    node: ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Call:
    """One AWS operation called in a function: its IAM action, and its keyword names (None: `**kwargs`, unknown)."""

    action: str
    keywords: frozenset[str] | None


@dataclass
class Package:
    """The orchestrator package as `ast` reads it: its functions, classes and imports."""

    root: Path
    name: str
    modules: dict[str, ast.Module] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    classes: dict[str, dict[str, str]] = field(default_factory=dict)  # class qualname -> method name -> qualname
    symbols: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    by_method_name: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path = CODE_ROOT, name: str = PACKAGE) -> Package:
        package = cls(root, name)
        for path in sorted((root / name).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            package.modules[module] = ast.parse(path.read_text(), str(path))
        for module, tree in package.modules.items():
            package._index(module, tree, path_is_package=(root / module.replace(".", "/") / "__init__.py").exists())
        return package

    def _index(self, module: str, tree: ast.Module, path_is_package: bool) -> None:
        symbols: dict[str, tuple[str, str]] = {}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                qual = f"{module}.{node.name}"
                self.functions[qual] = Function(qual, module, None, node)
                symbols[node.name] = ("function", qual)
            elif isinstance(node, ast.ClassDef):
                qual = f"{module}.{node.name}"
                symbols[node.name] = ("class", qual)
                methods = self.classes.setdefault(qual, {})
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        method = f"{qual}.{item.name}"
                        self.functions[method] = Function(method, module, qual, item)
                        methods[item.name] = method
                        self.by_method_name.setdefault(item.name, set()).add(method)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        symbols[alias.asname] = self._imported(alias.name)
                    else:  # `import a.b` binds `a`
                        top = alias.name.split(".")[0]
                        symbols[top] = self._imported(top)
            elif isinstance(node, ast.ImportFrom):
                base = self._absolute(module, node, path_is_package)
                for alias in node.names:
                    symbols[alias.asname or alias.name] = self._imported(f"{base}.{alias.name}", via=(base, alias.name))
            elif _is_alias(node):  # `load = _load`
                assert isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                symbols[node.targets[0].id] = ("alias", ast.unparse(node.value))
        self.symbols[module] = symbols

    def _absolute(self, module: str, node: ast.ImportFrom, path_is_package: bool) -> str:
        if not node.level:
            return node.module or ""
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if path_is_package else 0)
        return ".".join([*parts[:keep], *([node.module] if node.module else [])])

    def _imported(self, dotted: str, via: tuple[str, str] | None = None) -> tuple[str, str]:
        if dotted in self.modules or (dotted.split(".")[0] == self.name and via is None):
            return ("module", dotted)
        if via and via[0] in self.modules:
            return ("from", f"{via[0]}:{via[1]}")
        return ("external", dotted)

    # --- resolution ---

    def resolve(self, module: str, name: str, seen: frozenset[str] = frozenset()) -> tuple[str, str] | None:
        """What `name` means at the top of `module`: ("module"|"function"|"class"|"external", qualified name)."""
        key = f"{module}:{name}"
        if key in seen:
            return None
        found = self.symbols.get(module, {}).get(name)
        if found is None:
            return None
        kind, target = found
        if kind == "from":
            source, attr = target.split(":")
            return self.resolve(source, attr, seen | {key})
        if kind == "alias":
            return self.resolve_dotted(module, target, seen | {key})
        return found

    def resolve_dotted(self, module: str, dotted: str, seen: frozenset[str] = frozenset()) -> tuple[str, str] | None:
        head, *rest = dotted.split(".")
        found = self.resolve(module, head, seen)
        for attr in rest:
            if found is None:
                return None
            kind, target = found
            if kind == "module":
                found = (
                    ("module", f"{target}.{attr}")
                    if f"{target}.{attr}" in self.modules
                    else self.resolve(target, attr, seen)
                )
            elif kind == "class":
                method = self.classes.get(target, {}).get(attr)
                found = ("function", method) if method else None
            elif kind == "external":
                found = ("external", f"{target}.{attr}")
            else:
                return None
        return found

    def expression(self, module: str, node: ast.expr) -> tuple[str, str] | None:
        """What a Name or a chain of attributes on a name means, if the package's imports tell."""
        dotted = _dotted(node)
        return self.resolve_dotted(module, dotted) if dotted else None

    def constructed(self, cls: str) -> set[str]:
        methods = self.classes.get(cls, {})
        run = {methods[name] for name in CONSTRUCTORS if name in methods}
        # pydantic validators run as the model is built
        run |= {
            q
            for q in methods.values()
            if any("validator" in ast.unparse(d) for d in self.functions[q].node.decorator_list)
        }
        return run

    def unknown_call(self, name: str, operations: set[str]) -> set[str]:
        """Every package method of this name: the call's receiver could be an instance of any class that has one."""
        if name in COMMON_METHODS or name in operations:
            return set()
        return set(self.by_method_name.get(name, ()))


def _is_alias(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Name | ast.Attribute)
    )


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


# --- AWS operations -------------------------------------------------------------------------------------------------


@functools.cache
def service_operations(service: str) -> dict[str, str]:
    """snake_case method name -> API operation name, for one botocore service (and its boto3 resource's extras)."""
    model = botocore.session.get_session().get_service_model(service)
    found = {xform_name(op): op for op in model.operation_names}
    return found | RESOURCE_METHODS.get(service, {})


@functools.cache
def known_services() -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_available_services())


def _services_named(tree: ast.AST) -> set[str]:
    """Services whose clients (or resources) a body builds: `client("ec2")`, `boto3.resource("dynamodb")`,
    `self._clients("route53")`."""
    found = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
            continue
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if ("client" in callee or "resource" in callee) and node.args[0].value in known_services():
            found.add(node.args[0].value)
    return found


class Graph:
    """The package's call graph and the AWS calls each function makes."""

    def __init__(self, package: Package) -> None:
        self.package = package
        self.module_services = {m: _services_named(t) for m, t in package.modules.items()}
        every = set().union(*self.module_services.values()) if self.module_services else set()
        self.all_operations = {snake for s in every for snake in service_operations(s)}
        self.edges: dict[str, set[str]] = {}
        self.calls: dict[str, set[Call]] = {}
        for qual, function in package.functions.items():
            self.edges[qual], self.calls[qual] = self._scan(function)

    def _scan(self, function: Function) -> tuple[set[str], set[Call]]:
        package, module, node = self.package, function.module, function.node
        services = _services_named(node) or self.module_services[module]
        ops = {snake: (s, op) for s in sorted(services) for snake, op in service_operations(s).items()}
        parents = {child: parent for parent in ast.walk(node) for child in ast.iter_child_nodes(parent)}
        local = _local_names(node)
        edges: set[str] = set()
        calls: set[Call] = set()
        for child in _body_nodes(node):
            parent = parents.get(child)
            is_callee = isinstance(parent, ast.Call) and parent.func is child
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                found = None if child.id in local else package.resolve(module, child.id)
                if found and found[0] == "function":  # called, decorating, or handed over as a callback
                    edges.add(found[1])
                elif found and found[0] == "class" and is_callee:
                    edges |= package.constructed(found[1])
            elif isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Load):
                edges |= self._attribute(function, child, is_callee, local)
                if child.attr in ops:
                    service, op = ops[child.attr]
                    keywords = _keywords(parent) if is_callee else None
                    calls.add(Call(iam_action(service, op), keywords))
                if is_callee:
                    action = self._library_call(module, child)
                    if action:
                        calls.add(Call(action, None))
            elif isinstance(child, ast.Constant) and isinstance(child.value, str) and child.value in ops:
                service, op = ops[child.value]  # a paginator's or operation's name: paginate(api, "describe_x", ...)
                calls.add(Call(iam_action(service, op), frozenset()))
        edges.discard(function.qualname)
        return edges, calls

    def _attribute(self, function: Function, node: ast.Attribute, is_callee: bool, local: set[str]) -> set[str]:
        package = self.package
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        is_local = isinstance(root, ast.Name) and root.id in local
        found = None if is_local else package.expression(function.module, node)
        if found is not None:
            kind, target = found
            if kind == "function":
                return {target}
            if kind == "class":
                return package.constructed(target) if is_callee else set()
            return set()  # a module, or outside the package
        if (
            not is_local
            and isinstance(root, ast.Name)
            and (package.resolve(function.module, root.id) or (None, ""))[0]
            in (
                "external",
                "module",
            )
        ):
            return set()  # os.environ.get, json.dumps, a module's constant's method
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") and function.cls:
            method = package.classes[function.cls].get(node.attr)
            if method:
                return {method}
        # Called on an object of unknown class; or read, not called: a property, or a bound method handed over as a
        # callback (pool.submit(obj.run, ...)).
        return package.unknown_call(node.attr, self.all_operations)

    def _library_call(self, module: str, node: ast.Attribute) -> str | None:
        """`_provider(ssm).get(name)`: a method of a library object, built by a call whose class is known (the callee's
        return annotation, or the class itself)."""
        receiver = node.value
        if not isinstance(receiver, ast.Call):
            return None
        found = self.package.expression(module, receiver.func)
        if found is None:
            return None
        kind, target = found
        if kind == "function":
            returns = self.package.functions[target].node.returns
            made = ast.unparse(returns).split(".")[-1] if returns is not None else ""
        else:
            made = target.split(".")[-1]
        return LIBRARY_CALLS.get((made, node.attr))

    def reachable(self, entry: str) -> set[str]:
        """The package functions reachable from `entry` (a qualified name)."""
        seen, todo = {entry}, [entry]
        while todo:
            for callee in self.edges.get(todo.pop(), ()):
                if callee not in seen:
                    seen.add(callee)
                    todo.append(callee)
        return seen

    def actions(self, entry: str) -> set[str]:
        """The IAM actions reachable from `entry`: the operations called, and the actions they depend on."""
        found = set()
        for qual in self.reachable(entry):
            for call in self.calls.get(qual, ()):
                if call.action == "dynamodb:TransactWriteItems":
                    # No IAM action: each item is authorized as its own (statically, any item the code may write).
                    found |= {f"dynamodb:{verb}" for verb in TRANSACTION_ITEMS.values()}
                    continue
                found.add(call.action)
                for needs in (DEPENDENT_ACTIONS.get(call.action), DEPENDENT_ACTIONS.get(f"{call.action}#kms")):
                    if needs and (not needs.when or call.keywords is None or call.keywords & set(needs.when)):
                        found |= needs.actions
        return found


def _body_nodes(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """Every node of the body and the decorators (nested functions and lambdas included), not the annotations."""
    for part in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults, *node.body]:
        if part is not None:
            for child in ast.walk(part):
                if not isinstance(child, ast.arg):
                    yield child


def _local_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names the function (or a function nested in it) binds: a local `preempt` is not the module's `preempt()`."""
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.arg):
            found.add(child.arg)
        elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store | ast.Del):
            found.add(child.id)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.ExceptHandler):
            if child is not node and child.name:
                found.add(child.name)
        elif isinstance(child, ast.alias):
            found.add((child.asname or child.name).split(".")[0])
    return found


def _keywords(call: ast.Call) -> frozenset[str] | None:
    if any(k.arg is None for k in call.keywords):
        return None  # **params: any parameter
    return frozenset(k.arg for k in call.keywords if k.arg)


# --- the template -----------------------------------------------------------------------------------------------------


def handlers(template_path: Path = TEMPLATE) -> dict[str, str]:
    """Logical id of each Lambda function -> its handler, as `module.function`."""
    resources = _translated(Path(template_path))["Resources"]
    return {
        logical_id: r["Properties"]["Handler"]
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
    }


def sam_template_statements(template_path: Path = TEMPLATE) -> dict[str, set[tuple[str, ...]]]:
    """Per function, the action lists of the statements its SAM policy templates (`DynamoDBCrudPolicy: ...`) expand to.

    Read from the untranslated template's Policies: an inline `Statement:` written in the template never counts here.
    """
    raw = yaml_parse(Path(template_path).read_text())
    definitions = PolicyTemplatesProcessor.get_default_policy_templates_json()["Templates"]
    found: dict[str, set[tuple[str, ...]]] = {}
    for logical_id, resource in raw["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for entry in resource.get("Properties", {}).get("Policies", []) or []:
            if isinstance(entry, dict) and len(entry) == 1 and next(iter(entry)) in definitions:
                for statement in definitions[next(iter(entry))]["Definition"]["Statement"]:
                    actions = statement.get("Action", [])
                    found.setdefault(logical_id, set()).add(tuple(actions if isinstance(actions, list) else [actions]))
    return found


# --- the check ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    function: str
    action: str
    direction: str  # "not allowed": reached, not granted; "unreached": granted, nothing reaches it

    def __str__(self) -> str:
        if self.direction == "not allowed":
            return f"{self.function} reaches {self.action}, not allowed"
        return f"{self.function} is granted {self.action}, nothing reaches it"


def check(
    reached: dict[str, set[str]],
    policies: dict[str, list[Statement]],
    sam_statements: dict[str, set[tuple[str, ...]]] | None = None,
    exceptions: dict[tuple[str, str], str] | None = None,
) -> tuple[list[Finding], set[tuple[str, str]]]:
    """The findings, and the (function, action) grants accepted because only a SAM policy template grants them."""
    sam_statements = sam_statements or {}
    exceptions = EXCEPTIONS if exceptions is None else exceptions
    findings: list[Finding] = []
    accepted: set[tuple[str, str]] = set()
    for function in sorted(policies):
        statements, actions = policies[function], reached.get(function, set())
        findings += [Finding(function, a, "not allowed") for a in sorted(actions) if not allowed(a, statements)]
        # Which concrete actions each grant names, and whether every grant of it came from a SAM policy template.
        granted: dict[str, bool] = {}
        for s in statements:
            if s.effect != "Allow":
                continue
            from_sam = not s.sid and s.actions in sam_statements.get(function, set())
            for pattern in s.actions:
                for action in expand(pattern) or {pattern}:
                    granted[action] = granted.get(action, True) and from_sam
        for action, only_sam in sorted(granted.items()):
            if any(action_matches(a, action) for a in actions) or (function, action) in exceptions:
                continue
            if only_sam:
                # SAM's policy templates are fixed bundles (DynamoDBCrudPolicy grants Scan, BatchGetItem... whatever
                # the code uses); replacing one by hand-written statements is a separate decision.
                accepted.add((function, action))
            else:
                findings.append(Finding(function, action, "unreached"))
    return findings, accepted


def reached_by_function(graph: Graph, template_path: Path = TEMPLATE) -> dict[str, set[str]]:
    found = {}
    for function, handler in handlers(template_path).items():
        if handler not in graph.package.functions:
            raise SystemExit(f"{function}: handler {handler} is not a function of {graph.package.root}")
        found[function] = graph.actions(handler)
    return found


def _compact(actions: set[str]) -> list[str]:
    by_service: dict[str, list[str]] = {}
    for action in sorted(actions):
        prefix, _, name = action.partition(":")
        by_service.setdefault(prefix, []).append(name)
    return [f"{prefix}: {', '.join(names)}" for prefix, names in by_service.items()]


def main() -> int:
    started = time.monotonic()
    graph = Graph(Package.load())
    reached = reached_by_function(graph)
    policies = function_policies()
    findings, accepted = check(reached, policies, sam_template_statements())
    for function in sorted(reached):
        print(f"{function} ({handlers()[function]}):")
        for line in _compact(reached[function]):
            print(f"    {line}")
        for finding in (f for f in findings if f.function == function):
            print(f"  ! {finding}")
    unused_exceptions = sorted(set(EXCEPTIONS) - {(f, a) for f, grants in policies.items() for a in _granted(grants)})
    for function, action in unused_exceptions:
        print(f"  ! EXCEPTIONS names {function} / {action}, which its policy does not grant: remove it")
    print(
        f"{len(reached)} functions, {sum(map(len, reached.values()))} reachable actions, {len(findings)} findings"
        f" ({len(accepted)} unused SAM policy template grants and {len(EXCEPTIONS)} exceptions accepted)"
        f" in {time.monotonic() - started:.1f} s"
    )
    return 1 if findings or unused_exceptions else 0


def _granted(statements: list[Statement]) -> set[str]:
    return {a for s in statements if s.effect == "Allow" for p in s.actions for a in expand(p) or {p}}


if __name__ == "__main__":
    sys.exit(main())
