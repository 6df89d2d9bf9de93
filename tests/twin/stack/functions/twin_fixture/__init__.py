"""Lambda code of the twin's test stack."""

# What the `record` handler received, for tests of event delivery to Lambda targets.
received: list = []


def record(event, context):
    received.append(event)
    return {}
