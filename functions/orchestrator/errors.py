"""The project's errors. A class name becomes the Step Functions error name that `Catch` matches: keep them stable."""


class BluegreenError(Exception):
    """Base of every error the orchestrator raises on purpose."""


class ConfigInvalidError(BluegreenError):
    """The app configuration or the release input is invalid; nothing was changed."""


class InputInvalidError(BluegreenError):
    """An execution's input is not one the state machine takes (not an object, an unknown field, a wrong type)."""


class AppNotFoundError(BluegreenError):
    """No configuration exists for the app."""


class AmiInvalidError(BluegreenError):
    """The AMI does not exist here, is not available, or does not fit the launch template."""


class LiveFleetNotFoundError(BluegreenError):
    """The app's live Auto Scaling group cannot be found or is ambiguous."""


class TrafficSplitError(BluegreenError):
    """Traffic is split between the slots outside a release; an operator must settle it first."""


class GreenUnhealthyError(BluegreenError):
    """The green fleet did not become healthy before its deadline."""


class GreenLaunchFailedError(BluegreenError):
    """Auto Scaling could not launch green's instances (a scaling activity Failed): the release ends at once with the
    activity's status message, rather than waiting out the health timeout."""


class SmokeTestFailedError(BluegreenError):
    """A smoke test against the idle slot failed after its retries."""


class AlarmTriggeredError(BluegreenError):
    """A gate alarm was in ALARM (or INSUFFICIENT_DATA where the app says so) after a bake."""


class CanaryAnalysisFailedError(BluegreenError):
    """The canary judge found green worse than blue on their target groups' metrics (or, as configured, could not
    tell after every bake it was allowed)."""


class ApprovalRejectedError(BluegreenError):
    """An operator rejected the release at the approval gate."""


class ReleaseAbortedError(BluegreenError):
    """An operator (or a quarantine) asked the release to stop; it rolls back."""


class OperatorRollbackError(BluegreenError):
    """An operator rolled the release back within the keep window."""


class LockLostError(BluegreenError):
    """The app's release lock is no longer held by this release (it expired and was taken)."""


class LockHeldError(BluegreenError):
    """Another release of the app holds the lock."""


class ExecutionStoppedError(BluegreenError):
    """The release's execution was stopped (StopExecution, the console); the reconciler rolled it back."""


class ExecutionTimedOutError(BluegreenError):
    """The release's execution passed its TimeoutSeconds; the reconciler rolled it back."""


class NotFoundError(BluegreenError):
    """A named AWS resource does not exist."""


class DnsRecordConflictError(BluegreenError):
    """The app's record name and type hold records bluegreen cannot weight beside (a plain record, others' weights)."""


class ForwardActionConflictError(BluegreenError):
    """A named listener or rule forwards where bluegreen cannot weight it (no forward action, another app's target
    group, a target group of another load balancer, stickiness the config does not accept); nothing was changed."""


class WeightChangeFailedError(BluegreenError):
    """A listener or rule refused new weights; the listeners and rules already changed were put back first."""


class CloneUnsupportedError(BluegreenError):
    """Live has a setting green cannot copy faithfully (the clone plan names it); nothing was changed."""


class LaunchTemplateVersionNotDeletedError(BluegreenError):
    """DeleteLaunchTemplateVersions reported a version it could not delete (retried)."""


class DnsChangeTimeoutError(BluegreenError):
    """A Route 53 change did not reach INSYNC before its deadline; the release rolls back."""


class GroupDeletionTimeoutError(BluegreenError):
    """An Auto Scaling group was still there at its deletion deadline."""


class RollbackIncompleteError(BluegreenError):
    """Rollback could not finish before its deadline; an operator must finish it (README runbook)."""


# --- the quarantine path ---------------------------------------------------------------------------------------


class TriggerInvalidError(BluegreenError):
    """A security event or quarantine request is malformed; nothing was changed."""


class IsolationIncompleteError(BluegreenError):
    """At least one isolation step of a known instance failed; the case records which (the rest were done)."""


class PreemptTimeoutError(BluegreenError):
    """The release in flight did not free the app's lock before the quarantine's deadline; no swap was started."""


class KnownGoodAmiNotFoundError(BluegreenError):
    """The case names no AMI and the app has no live AMI on record to swap the fleet onto."""


class SwapFailedError(BluegreenError):
    """The swap release did not put a fresh fleet live; the quarantined instances stay isolated."""


class DetachBlockedError(BluegreenError):
    """A quarantined instance cannot leave its Auto Scaling group (still launching at the deadline, in the warm pool,
    or being terminated by the group): no swap is started, since deleting the group would terminate the instance."""


class CaseNotFoundError(BluegreenError):
    """No quarantine case of the app matches the request (e.g. a swap again, when no case's swap failed)."""


class EmergencyNotAllowedError(BluegreenError):
    """An emergency release was asked for by someone other than the stack's quarantine state machine; nothing was
    changed."""


class RolePolicyLimitError(BluegreenError):
    """IAM refused the quarantine's inline deny: the role's inline policies would pass IAM's size quota."""


class AmiSourceConflictError(BluegreenError):
    """An AMI (or a golden-AMI parameter) matches more than one app's rule: which app it is for cannot be told."""


class SplitFleetUnsupportedError(BluegreenError):
    """A split-fleet release cannot keep its rules with this fleet (its size, its ratio, a group's MaxSize, a slot with
    two groups): refused before any change, with the numbers."""


class SplitCapacityError(BluegreenError):
    """A split-fleet move did not take effect in time (instances not healthy, not gone, weights not in sync), or no
    move can reach the goal without breaking the capacity rules."""
