"""The state table (DynamoDB, one item family per app): live pointer, lock, queue, AMI claims, releases, cases.

Keys: pk = "APP#<app>"; sk = "LIVE" | "LOCK" | "QUEUE" | "AMI#<ami>" | "RELEASE#<id>" | "SUPERSEDED#<time>#<ami>" |
"CASE" (the open quarantine case) | "CASE#<id>". And pk = "EXECUTION#<execution ARN>", sk = "RELEASE": which app and
release an execution holds the lock for, until it ends (the reconciler's way back from an execution to its release).
"""

from __future__ import annotations

import functools
import os
import time
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from orchestrator.adapters.aws import _CONFIG, error_code, session, where
from orchestrator.errors import LockHeldError, LockLostError


@functools.cache
def _table(name: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
    return session().resource("dynamodb", config=_CONFIG).Table(name)


def table(name: str | None = None) -> Any:
    return _table(name or os.environ["STATE_TABLE"], *where())


def _pk(app: str) -> str:
    return f"APP#{app}"


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; hand out ints and floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _conditional(call: Any, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
    except ClientError as err:
        if error_code(err) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get(app: str, sk: str, tbl: Any = None) -> dict | None:
    item = (tbl or table()).get_item(Key={"pk": _pk(app), "sk": sk}, ConsistentRead=True).get("Item")
    return _plain(item) if item else None


def put(app: str, sk: str, fields: dict, tbl: Any = None) -> None:
    (tbl or table()).put_item(Item={"pk": _pk(app), "sk": sk, **_dynamo(fields)})


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_dynamo(v) for v in value]
    return value


def _set(fields: dict) -> dict:
    """An update's expression parts that SET `fields` (None values left out)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    return {
        "UpdateExpression": "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
        "ExpressionAttributeNames": {f"#f{i}": k for i, k in enumerate(fields)},
        "ExpressionAttributeValues": {f":v{i}": _dynamo(v) for i, v in enumerate(fields.values())},
    }


def update(app: str, sk: str, fields: dict, tbl: Any = None) -> None:
    if any(v is not None for v in fields.values()):
        (tbl or table()).update_item(Key={"pk": _pk(app), "sk": sk}, **_set(fields))


def read_many(app: str, sks: list[str], tbl: Any = None) -> dict[str, dict]:
    """Several items of one app in one consistent read (BatchGetItem), by sort key; absent ones are left out."""
    tbl = tbl or table()
    request = {tbl.name: {"Keys": [{"pk": _pk(app), "sk": sk} for sk in dict.fromkeys(sks)], "ConsistentRead": True}}
    found: dict[str, dict] = {}
    for attempt in range(8):
        response = tbl.meta.client.batch_get_item(RequestItems=request)
        found.update({i["sk"]: _plain(i) for i in response.get("Responses", {}).get(tbl.name, [])})
        request = response.get("UnprocessedKeys") or {}
        if not request:
            return found
        time.sleep(min(0.05 * 2**attempt, 2))  # what DynamoDB asks of a retry of unprocessed keys: back off
    raise LockHeldError(f"the state of {app!r} could not be read (DynamoDB kept keys unprocessed): try again")


def _transact(tbl: Any, items: list[dict]) -> list[str]:
    """Write every item or none (TransactWriteItems); [] when written, else each item's cancellation code."""
    for item in items:
        next(iter(item.values()))["TableName"] = tbl.name
    try:
        tbl.meta.client.transact_write_items(TransactItems=items)
    except ClientError as err:
        if error_code(err) != "TransactionCanceledException":
            raise
        return [r.get("Code", "None") for r in err.response.get("CancellationReasons", [])] or ["Unknown"]
    return []


# --- the lock: one release in flight per app -------------------------------------------------------------------


def begin_release(
    app: str,
    release_id: str,
    lock_fields: dict,
    now: int,
    lease_seconds: int,
    record: dict,
    claim_ami: str | None,
    retry_failed: bool = False,
    tbl: Any = None,
) -> str:
    """Take the lock, claim the AMI (unless None), point the execution at the release and record it, in one
    transaction: "" when done, "lock" when another release holds the lock, "claim" when the AMI is claimed."""
    tbl = tbl or table()
    execution_arn = lock_fields["execution_arn"]
    # The lock is free, expired, or already ours (this release, or this execution retrying its Prepare).
    lock = {
        "Put": {
            "Item": {"pk": _pk(app), "sk": "LOCK", "release_id": release_id, "expires_at": now + lease_seconds}
            | _dynamo(lock_fields),
            "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now OR release_id = :rid"
            " OR execution_arn = :arn",
            "ExpressionAttributeValues": {":now": now, ":rid": release_id, ":arn": execution_arn},
        }
    }
    items = [
        lock,
        {"Put": {"Item": {**_execution_key(execution_arn), "app": app, "release_id": release_id}}},
        {"Put": {"Item": {"pk": _pk(app), "sk": f"RELEASE#{release_id}", **_dynamo(record)}}},
    ]
    if claim_ami:
        # An (app, AMI) pair is released at most once: a retried Prepare claims again; a failed one only if asked.
        condition = "attribute_not_exists(pk) OR release_id = :rid" + (" OR #s = :failed" if retry_failed else "")
        claim = {
            "Item": {
                "pk": _pk(app),
                "sk": f"AMI#{claim_ami}",
                "release_id": release_id,
                "status": "in_flight",
                "at": now,
            },
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {":rid": release_id, **({":failed": "failed"} if retry_failed else {})},
        }
        if retry_failed:
            claim["ExpressionAttributeNames"] = {"#s": "status"}
        items.append({"Put": claim})
    failed = _transact(tbl, items)
    if not failed:
        return ""
    if failed[0] == "ConditionalCheckFailed":
        return "lock"
    if claim_ami and failed[-1] == "ConditionalCheckFailed":
        return "claim"
    # TransactionConflict: another request wrote one of these items at this moment; nothing was written.
    raise LockHeldError(f"the release of {app!r} could not begin ({', '.join(failed)}): try again")


def take_over_lock(
    app: str, dead_execution: str, execution_arn: str, now: int, lease_seconds: int, tbl: Any = None
) -> dict | None:
    """The lock of a dead execution, now held by the reconciling one (counting the attempts); None when the dead
    execution no longer holds it (it freed it, another release took it, or another reconciler came first)."""
    try:
        response = (tbl or table()).update_item(
            Key={"pk": _pk(app), "sk": "LOCK"},
            UpdateExpression="SET execution_arn = :mine, expires_at = :until, phase = :phase"
            " ADD reconcile_attempts :one",
            ConditionExpression=Attr("execution_arn").eq(dead_execution),
            ExpressionAttributeValues={
                ":mine": execution_arn,
                ":until": now + lease_seconds,
                ":phase": "Reconcile",
                ":one": 1,
            },
            ReturnValues="ALL_NEW",
        )
    except ClientError as err:
        if error_code(err) == "ConditionalCheckFailedException":
            return None
        raise
    return _plain(response["Attributes"])


# --- execution pointers: from an execution to the release it holds the lock for ------------------------------------


def _execution_key(execution_arn: str) -> dict:
    return {"pk": f"EXECUTION#{execution_arn}", "sk": "RELEASE"}


def point_execution(execution_arn: str, app: str, release_id: str, tbl: Any = None) -> None:
    (tbl or table()).put_item(Item={**_execution_key(execution_arn), "app": app, "release_id": release_id})


def execution_pointer(execution_arn: str, tbl: Any = None) -> dict | None:
    item = (tbl or table()).get_item(Key=_execution_key(execution_arn), ConsistentRead=True).get("Item")
    return _plain(item) if item else None


def forget_execution(execution_arn: str, tbl: Any = None) -> None:
    (tbl or table()).delete_item(Key=_execution_key(execution_arn))


def execution_pointers(tbl: Any = None) -> list[dict]:
    """Every execution still pointing at a release (the sweep's work list); a scan, as few items live at once."""
    tbl = tbl or table()
    found, kwargs = [], {"FilterExpression": Attr("pk").begins_with("EXECUTION#")}
    while True:
        page = tbl.scan(**kwargs)
        found += [{**_plain(i), "execution_arn": i["pk"].removeprefix("EXECUTION#")} for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def gate(app: str, release_id: str, now: int, lease_seconds: int, fields: dict | None = None, tbl: Any = None) -> dict:
    """Renew the lease and read the lock in one call; LockLostError if another release holds it now."""
    update = _set({**(fields or {}), "expires_at": now + lease_seconds})
    update["ExpressionAttributeValues"][":rid"] = release_id
    try:
        response = (tbl or table()).update_item(
            Key={"pk": _pk(app), "sk": "LOCK"},
            ConditionExpression="release_id = :rid",
            ReturnValues="ALL_NEW",
            **update,
        )
    except ClientError as err:
        if error_code(err) == "ConditionalCheckFailedException":
            raise LockLostError(f"the lock of {app!r} is no longer held by release {release_id}") from None
        raise
    return _plain(response["Attributes"])


def go_live(
    app: str, pointer: dict, ami_id: str | None, fence: tuple[str, dict] | None = None, tbl: Any = None
) -> bool:
    """The live pointer, and the AMI's claim marked live, in one transaction. `fence`: (release id, lock fields): the
    same transaction renews that release's lock with those fields, only while it holds the lock and nobody asked to
    abort or roll it back. False when that condition failed (nothing was written)."""
    tbl = tbl or table()
    items = [{"Put": {"Item": {"pk": _pk(app), "sk": "LIVE", **_dynamo(pointer)}}}]
    if ami_id:
        items.append({"Update": {"Key": {"pk": _pk(app), "sk": f"AMI#{ami_id}"}, **_set({"status": "live"})}})
    if fence:
        release_id, fields = fence
        update = _set(fields)
        update["ExpressionAttributeValues"][":rid"] = release_id
        condition = (
            "release_id = :rid AND attribute_not_exists(abort_requested) AND attribute_not_exists(rollback_requested)"
        )
        items.append({"Update": {"Key": {"pk": _pk(app), "sk": "LOCK"}, "ConditionExpression": condition, **update}})
    failed = _transact(tbl, items)
    if fence and failed and failed[-1] == "ConditionalCheckFailed":
        return False
    if failed:
        raise LockHeldError(f"the live pointer of {app!r} could not be written ({', '.join(failed)}): try again")
    return True


def record_end(app: str, release_id: str, record: dict, tbl: Any = None) -> dict:
    """A release's end written into its record; the record as it was before (was it notified already?)."""
    tbl = tbl or table()
    old = tbl.update_item(Key={"pk": _pk(app), "sk": f"RELEASE#{release_id}"}, ReturnValues="ALL_OLD", **_set(record))
    return _plain(old.get("Attributes") or {})


def free_release(
    app: str, release_id: str, execution_arn: str | None, notified: str, ami: dict | None = None, tbl: Any = None
) -> bool:
    """In one transaction: the lock freed (if still the release's own), its AMI's claim updated, its execution's
    pointer removed, and its record marked notified of `notified` (the outcome people were told of). Whether an AMI
    waits in the queue (checked in the same transaction, so nothing is read when none does)."""
    tbl = tbl or table()
    lock = {
        "Delete": {
            "Key": {"pk": _pk(app), "sk": "LOCK"},
            "ConditionExpression": "release_id = :rid",
            "ExpressionAttributeValues": {":rid": release_id},
        }
    }
    rest = [{"Update": {"Key": {"pk": _pk(app), "sk": f"RELEASE#{release_id}"}, **_set({"notified": notified})}}]
    if ami:
        rest.append({"Update": {"Key": {"pk": _pk(app), "sk": f"AMI#{ami.pop('ami_id')}"}, **_set(ami)}})
    if execution_arn:
        rest.append({"Delete": {"Key": _execution_key(execution_arn)}})
    empty_queue = {
        "ConditionCheck": {"Key": {"pk": _pk(app), "sk": "QUEUE"}, "ConditionExpression": "attribute_not_exists(pk)"}
    }
    failed = _transact(tbl, [lock, *rest, empty_queue])
    if not failed:
        return False
    # Cancelled, so nothing was written: again without the conditions that failed. The lock may be another release's
    # now (after our lease ran out): then it is left alone.
    codes = failed if len(failed) == len(rest) + 2 else ["None"] * (len(rest) + 2)
    if any(code not in ("None", "ConditionalCheckFailed") for code in codes):
        raise LockHeldError(f"the end of release {release_id} of {app!r} could not be recorded ({', '.join(failed)})")
    queued = codes[-1] == "ConditionalCheckFailed"
    again = _transact(tbl, ([lock] if codes[0] == "None" else []) + rest)
    if again:
        raise LockHeldError(f"the end of release {release_id} of {app!r} could not be recorded ({', '.join(again)})")
    return queued


def release_lock(app: str, release_id: str, tbl: Any = None) -> bool:
    return _conditional(
        (tbl or table()).delete_item,
        Key={"pk": _pk(app), "sk": "LOCK"},
        ConditionExpression=Attr("release_id").eq(release_id),
    )


def flag_lock(
    app: str,
    flag: str,
    value: Any = True,
    tbl: Any = None,
    *,
    release_id: str | None = None,
    phase: str | None = None,
) -> dict | None:
    """Set a field on the lock of a release in flight (abort, rollback, approval); None when no lock exists
    (or, when given, it is not held by `release_id` or not in `phase`)."""
    condition = Attr("pk").exists()
    if release_id is not None:
        condition = condition & Attr("release_id").eq(release_id)
    if phase is not None:
        condition = condition & Attr("phase").eq(phase)
    try:
        response = (tbl or table()).update_item(
            Key={"pk": _pk(app), "sk": "LOCK"},
            UpdateExpression="SET #f = :v",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#f": flag},
            ExpressionAttributeValues={":v": _dynamo(value)},
            ReturnValues="ALL_NEW",
        )
    except ClientError as err:
        if error_code(err) == "ConditionalCheckFailedException":
            return None
        raise
    return _plain(response["Attributes"])


# --- the queue: latest AMI wins --------------------------------------------------------------------------------


def pop_queue(app: str, tbl: Any = None) -> dict | None:
    response = (tbl or table()).delete_item(Key={"pk": _pk(app), "sk": "QUEUE"}, ReturnValues="ALL_OLD")
    item = response.get("Attributes")
    return _plain(item) if item else None


def queue_newest(app: str, fields: dict, tbl: Any = None) -> tuple[bool, dict | None]:
    """Queue this AMI unless one built later (or at the same time) is queued: (queued, the item it replaced or the
    item that stays). Build times are ISO-8601 UTC strings, which order as text."""
    item = {"pk": _pk(app), "sk": "QUEUE", **_dynamo(fields)}
    try:
        response = (tbl or table()).put_item(
            Item=item,
            ConditionExpression=Attr("pk").not_exists() | Attr("created_at").lt(fields["created_at"]),
            ReturnValues="ALL_OLD",
        )
    except ClientError as err:
        if error_code(err) != "ConditionalCheckFailedException":
            raise
        return False, get(app, "QUEUE", tbl)
    old = response.get("Attributes")
    return True, _plain(old) if old else None


def record_superseded(app: str, ami_id: str, by: str, why: str, at: str, source: str, tbl: Any = None) -> None:
    """History: this AMI will not be released, because `by` (a later build) is released or queued instead. Once per
    AMI: a redelivered event of a build superseded already adds no second row."""
    tbl = tbl or table()
    if _query(tbl, Key("pk").eq(_pk(app)) & Key("sk").begins_with("SUPERSEDED#"), Attr("ami_id").eq(ami_id)):
        return
    put(
        app,
        f"SUPERSEDED#{at}#{ami_id}",
        {"kind": "superseded", "ami_id": ami_id, "superseded_by": by, "reason": why, "at": at, "source": source},
        tbl,
    )


def record_copy_failed(app: str, ami_id: str, source_ami: str, reason: str, at: str, tbl: Any = None) -> bool:
    """History: a copy of a shared AMI ended failed (ami_source.copy_shared). Once per copy (EventBridge delivers at
    least once); False when it was recorded already."""
    tbl = tbl or table()
    if _query(tbl, Key("pk").eq(_pk(app)) & Key("sk").begins_with("COPYFAILED#"), Attr("ami_id").eq(ami_id)):
        return False
    item = {"kind": "copy_failed", "ami_id": ami_id, "source_ami": source_ami, "reason": reason, "at": at}
    put(app, f"COPYFAILED#{at}#{ami_id}", item, tbl)
    return True


def _query(tbl: Any, key: Any, condition: Any) -> list[dict]:
    """Every item under `key` that meets `condition`, all pages."""
    found: list[dict] = []
    kwargs: dict = {"KeyConditionExpression": key, "FilterExpression": condition}
    while True:
        response = tbl.query(**kwargs)
        found.extend(response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return found
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def unqueue(app: str, ami_id: str, tbl: Any = None) -> bool:
    """Take this AMI out of the queue, unless a newer one has replaced it meanwhile."""
    return _conditional(
        (tbl or table()).delete_item,
        Key={"pk": _pk(app), "sk": "QUEUE"},
        ConditionExpression=Attr("ami_id").eq(ami_id),
    )


def history(app: str, prefix: str, limit: int = 20, tbl: Any = None) -> list[dict]:
    response = (tbl or table()).query(
        KeyConditionExpression=Key("pk").eq(_pk(app)) & Key("sk").begins_with(prefix),
        ScanIndexForward=False,
        Limit=limit,
    )
    return [_plain(i) for i in response.get("Items", [])]


# --- quarantine cases: one open case per app; later events join it -------------------------------------------


def open_case(
    app: str, case_id: str, now: int, lease_seconds: int, execution_arn: str = "", tbl: Any = None
) -> tuple[str, bool]:
    """Open a case for the app, or find the one already open: (case id, True when this call opened it).

    The "CASE" item points at the open case and names the execution that owns it (the one that may swap the fleet);
    it expires, so a crashed quarantine cannot hold an app's case forever.
    """
    tbl = tbl or table()
    for _ in range(3):  # the open case may close between the failed write and the read
        opened = _conditional(
            tbl.put_item,
            Item={
                "pk": _pk(app),
                "sk": "CASE",
                "case_id": case_id,
                "execution_arn": execution_arn,
                "opened_at": now,
                "expires_at": now + lease_seconds,
            },
            ConditionExpression=Attr("pk").not_exists() | Attr("expires_at").lt(now),
        )
        if opened:
            return case_id, True
        current = get(app, "CASE", tbl)
        if current:
            return current["case_id"], False
    raise LockLostError(f"the open case of {app!r} changed three times in a row")


def join_case(app: str, case_id: str, fields: dict, trigger: dict, skipped: list[dict], tbl: Any = None) -> None:
    """Create or extend the CASE#<id> item: first writer's fields win; every trigger and skipped instance is added."""
    fields = {k: v for k, v in fields.items() if v is not None}
    names = {f"#f{i}": k for i, k in enumerate(fields)}
    values = {f":v{i}": _dynamo(v) for i, v in enumerate(fields.values())}
    sets = [f"#f{i} = if_not_exists(#f{i}, :v{i})" for i in range(len(fields))]
    names.update({"#t": "triggers", "#s": "skipped", "#i": "instances"})
    values.update({":t": [_dynamo(trigger)], ":s": _dynamo(skipped), ":none": [], ":empty": {}})
    sets += [
        "#t = list_append(if_not_exists(#t, :none), :t)",
        "#s = list_append(if_not_exists(#s, :none), :s)",
        "#i = if_not_exists(#i, :empty)",
    ]
    (tbl or table()).update_item(
        Key={"pk": _pk(app), "sk": f"CASE#{case_id}"},
        UpdateExpression="SET " + ", ".join(sets),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def record_case_instance(app: str, case_id: str, instance_id: str, record: dict, tbl: Any = None) -> None:
    """Write one instance's entry of the case (each instance its own map key, so concurrent joiners never clash)."""
    (tbl or table()).update_item(
        Key={"pk": _pk(app), "sk": f"CASE#{case_id}"},
        UpdateExpression="SET #i.#id = :r",
        ExpressionAttributeNames={"#i": "instances", "#id": instance_id},
        ExpressionAttributeValues={":r": _dynamo(record)},
    )


def record_case_instances(app: str, case_id: str, records: dict[str, dict], tbl: Any = None) -> None:
    """Write several instances' entries of the case in one call (each its own map key, as record_case_instance)."""
    items = list(records.items())
    for start in range(0, len(items), 20):  # well within DynamoDB's 4 KB update expression
        chunk = items[start : start + 20]
        names = {"#i": "instances", **{f"#k{n}": instance_id for n, (instance_id, _) in enumerate(chunk)}}
        values = {f":v{n}": _dynamo(record) for n, (_, record) in enumerate(chunk)}
        (tbl or table()).update_item(
            Key={"pk": _pk(app), "sk": f"CASE#{case_id}"},
            UpdateExpression="SET " + ", ".join(f"#i.#k{n} = :v{n}" for n in range(len(chunk))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )


def append_case_error(app: str, case_id: str, error: dict, tbl: Any = None) -> None:
    (tbl or table()).update_item(
        Key={"pk": _pk(app), "sk": f"CASE#{case_id}"},
        UpdateExpression="SET #e = list_append(if_not_exists(#e, :none), :e)",
        ExpressionAttributeNames={"#e": "errors"},
        ExpressionAttributeValues={":e": [_dynamo(error)], ":none": []},
    )


def append_verdict(app: str, release_id: str, verdict: dict, tbl: Any = None) -> None:
    """Add a canary verdict (with its evidence) to the release record's `canary` list."""
    (tbl or table()).update_item(
        Key={"pk": _pk(app), "sk": f"RELEASE#{release_id}"},
        UpdateExpression="SET #c = list_append(if_not_exists(#c, :none), :c)",
        ExpressionAttributeNames={"#c": "canary"},
        ExpressionAttributeValues={":c": [_dynamo(verdict)], ":none": []},
    )


def close_case(app: str, case_id: str, tbl: Any = None) -> bool:
    """Free the app's open-case pointer if it still names this case; later events then open a new case."""
    return _conditional(
        (tbl or table()).delete_item,
        Key={"pk": _pk(app), "sk": "CASE"},
        ConditionExpression=Attr("case_id").eq(case_id),
    )


def requeue(app: str, fields: dict, tbl: Any = None) -> bool:
    """Put a held-back release back in the queue, unless a newer one was queued meanwhile (latest wins)."""
    return _conditional(
        (tbl or table()).put_item,
        Item={"pk": _pk(app), "sk": "QUEUE", **_dynamo(fields)},
        ConditionExpression=Attr("pk").not_exists(),
    )
