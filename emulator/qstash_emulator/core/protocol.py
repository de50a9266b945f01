"""Every string QStash puts on the wire, kept in one place."""

from __future__ import annotations

# Request headers (publish, enqueue, batch)
CONTENT_TYPE = "content-type"
METHOD = "upstash-method"
FORWARD_PREFIX = "upstash-forward-"
HEADER_FORWARD = "upstash-header-forward"
DELAY = "upstash-delay"
NOT_BEFORE = "upstash-not-before"
RETRIES = "upstash-retries"
RETRY_DELAY = "upstash-retry-delay"
TIMEOUT = "upstash-timeout"
CALLBACK = "upstash-callback"
FAILURE_CALLBACK = "upstash-failure-callback"
DEDUPLICATION_ID = "upstash-deduplication-id"
CONTENT_BASED_DEDUPLICATION = "upstash-content-based-deduplication"
LABEL = "upstash-label"
REDACT_FIELDS = "upstash-redact-fields"
FLOW_CONTROL_KEY = "upstash-flow-control-key"
FLOW_CONTROL_VALUE = "upstash-flow-control-value"
CONFIG_PREFIX = "upstash-"
MAX_FORWARDED_HEADER_BYTES = 8 * 1024
"""One forwarded header, name and value (a destination's servers refuse far less than HTTP's
usual 8 KB per line)."""
MAX_BATCH_MESSAGES = 1_000
"""QStash documents no count, only a 100 MB batch; the emulator takes up to 1,000 elements."""
MAX_HEADER_COUNT = 200
MAX_HEADER_BYTES = 64 * 1024
"""Request headers: at most this many, names and values together at most this many bytes."""

# Schedule-only request headers
CRON = "upstash-cron"
SCHEDULE_ID_HEADER = "upstash-schedule-id"
QUEUE_NAME = "upstash-queue-name"
CRON_TZ_PREFIX = "CRON_TZ="

# Words that configure a callback rather than name a header to forward to it.
CALLBACK_CONFIG_WORDS = ("method", "timeout", "retries", "retry-delay", "delay")
# Prefixes of callback settings that are never forwarded either (Upstash Workflow's).
CALLBACK_SETTING_PREFIXES = ("workflow-", "feature-set", "failure-callback", "flow-control-",
                             "label")
# Headers of the sender's own connection: never forwarded in any `*-Forward-*` form.
TRANSPORT_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding",
                               "keep-alive", "accept-encoding", "expect", "upgrade"})

# Delivery headers (QStash -> destination)
SIGNATURE = "Upstash-Signature"
MESSAGE_ID = "Upstash-Message-Id"
RETRIED = "Upstash-Retried"
SCHEDULE_ID = "Upstash-Schedule-Id"
TOPIC_NAME = "Upstash-Topic-Name"
CALLER_IP = "Upstash-Caller-Ip"
REGION = "Upstash-Region"
USER_AGENT = "Upstash-QStash"
REGION_NAME = "EU-CENTRAL-1"

# Destination response headers
NON_RETRYABLE = "upstash-nonretryable-error"
NON_RETRYABLE_STATUS = 489

# Rate-limit response headers
RATELIMIT_LIMIT = "RateLimit-Limit"
RATELIMIT_REMAINING = "RateLimit-Remaining"
RATELIMIT_RESET = "RateLimit-Reset"
BURST_LIMIT = "Burst-RateLimit-Limit"
BURST_REMAINING = "Burst-RateLimit-Remaining"
BURST_RESET = "Burst-RateLimit-Reset"

# Error texts
INVALID_SCHEME = "invalid destination url: endpoint has invalid scheme, add http:// or https://"
EMPTY_DESTINATION = "a non-empty destination must be provided"
UNAUTHORIZED = "unauthorized: provide a valid QStash token"
CONTROL_UNAUTHORIZED = (
    "unauthorized: the control API needs a token (Authorization: Bearer <tenant or admin token>)"
)
ADMIN_ONLY = "forbidden: ?all=true needs the admin token (--admin-token)"
ADMIN_DISABLED = (
    "forbidden: ?all=true is off: this emulator listens beyond loopback and has no "
    "--admin-token"
)
MESSAGE_NOT_FOUND = "message not found"
UNKNOWN_FILTER = "invalid filter: unknown field {name!r}"
DLQ_NOT_FOUND = "dlq message not found"
TOPIC_NOT_FOUND = "topic {name} not found"
BODY_TOO_LARGE = "message size exceeds the limit of {limit} bytes"
FORWARDED_HEADER_TOO_LARGE = (
    "invalid forwarded header {name}: {size} bytes, the limit is {limit} bytes"
)
BATCH_TOO_LARGE = "invalid batch body: {count} messages, the limit is {limit} per batch"
HEADERS_TOO_LARGE = (
    "request headers too large: the limits are {count} headers and {size} bytes in total"
)
MALFORMED_REQUEST = "invalid HTTP request: {reason}"
METHOD_NOT_ALLOWED = "method not allowed"
NOT_FOUND = "not found"
SCHEDULE_NOT_FOUND = "schedule {schedule_id} not found"
CRON_MISSING = "missing upstash-cron header"
CRON_INVALID = "invalid upstash-cron header: {cron!r} ({reason})"
SCHEDULE_ID_INVALID = (
    "invalid upstash-schedule-id header: {schedule_id!r}, allowed characters are "
    "alphanumerics, '-', '_' and '.'"
)
QUEUE_NAME_INVALID = (
    "invalid upstash-queue-name header: {name!r}, allowed characters are "
    "alphanumerics, '-', '_' and '.'"
)
SCHEDULE_NOT_BEFORE = "upstash-not-before is not supported for schedules, use upstash-delay"
TOO_MANY_SCHEDULES = "too many schedules: the {plan} plan allows {limit}"
TOO_MANY_URL_GROUPS = "too many url groups: the {plan} plan allows {limit}"
TOO_MANY_ENDPOINTS = "too many endpoints in url group {name}: the {plan} plan allows {limit}"
URL_GROUP_NAME_INVALID = (
    "invalid url group name: {name!r}, allowed characters are alphanumerics, '-', '_' and '.'"
)
ENDPOINTS_INVALID = 'invalid body: want {"endpoints": [{"url": "https://...", "name": "..."}]}'
ENDPOINT_URL_INVALID = "invalid endpoint url: {url!r}, add http:// or https://"
ENDPOINT_NAME_INVALID = "invalid endpoint name: {name!r}"
ENDPOINT_REMOVE_INVALID = "every endpoint to remove needs a url or a name"
URL_GROUP_HEADERS_INVALID = (
    'invalid body: want {"headers": {"<name>": "<value>" or ["<value>", ...]}}'
)

REDACTED_PREFIX = "REDACTED:"

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

# Quotas, outages and faults (emulator harness)
DAILY_LIMIT_EXCEEDED = "daily message limit exceeded: {limit} messages per day, resets at {reset}"
MONTHLY_LIMIT_EXCEEDED = (
    "monthly message limit exceeded: {limit} messages per month, resets at {reset}"
)
BURST_LIMIT_EXCEEDED = "burst rate limit exceeded: {limit} requests per second"
DELAY_ABOVE_PLAN = "invalid {field} header: delay exceeds the plan's maximum of {limit} seconds"
OUTAGE_ERROR = "service unavailable (emulated outage)"
STORE_UNAVAILABLE = "the emulator's store is unavailable; nothing was stored, try again"
OUTAGE_TIMEOUT = "gateway timeout (emulated outage)"
FAULT_NOT_FOUND = "fault not found"
CLOCK_PAST_RANGE = "the virtual clock cannot move past 2200-01-01T00:00:00Z"
JSON_CONSTANT = "invalid JSON body: {name} is not a JSON number"

# Queues and flow control
QUEUE_NOT_FOUND = "queue {name} not found"
INVALID_QUEUE_NAME = (
    "invalid queue name {name!r}: use only letters, digits, '.', '_' and '-'"
)
ENQUEUE_DELAY = "upstash-delay and upstash-not-before are not supported when enqueueing"
QUEUE_LIMIT = "queue limit reached: the plan allows {limit} queues"
PARALLELISM_LIMIT = "parallelism {value} exceeds the plan maximum of {limit}"
FLOW_CONTROL_NOT_FOUND = "flow control key {key} not found"

# Upstash Workflow: request headers of a step publish (and of its callbacks' settings)
WORKFLOW_RUN_ID = "upstash-workflow-runid"
WORKFLOW_INIT = "upstash-workflow-init"
WORKFLOW_URL = "upstash-workflow-url"
WORKFLOW_CALL_TYPE = "upstash-workflow-calltype"
WORKFLOW_INVOKE = "upstash-workflow-invoke"
CALLBACK_WORKFLOW_PREFIX = "upstash-callback-workflow-"
FAILURE_CALLBACK_WORKFLOW_PREFIX = "upstash-failure-callback-workflow-"
CALL_TYPES = ("step", "toCallback", "fromCallback", "failureCall")

# Upstash Workflow: delivery headers
WORKFLOW_RUN_ID_HEADER = "Upstash-Workflow-RunId"
WORKFLOW_URL_HEADER = "Upstash-Workflow-Url"
WORKFLOW_INIT_HEADER = "Upstash-Workflow-Init"
WORKFLOW_CREATED_AT_HEADER = "Upstash-Workflow-CreatedAt"

# Upstash Workflow: errors
WORKFLOW_RUN_NOT_FOUND = "workflow run {run_id} not found"
WORKFLOW_RUN_ENDED = "workflow run {run_id} is not running: it is {state}"
WORKFLOW_CALL_TYPE_INVALID = (
    "invalid upstash-workflow-calltype header: {value!r}, want one of {allowed}"
)
WORKFLOW_NEEDS_RUN_ID = "this request needs an upstash-workflow-runid header"
WORKFLOW_INVOKE_BODY = "invalid invoke body: {reason}"
WORKFLOW_WAIT_BODY = "invalid wait body: {reason}"
WORKFLOW_NOT_A_RUN_FAILURE = "dlq message {dlq_id} is not a failed workflow step"
WORKFLOW_CALLBACK_NOT_FAILED = (
    "the failure callback of workflow run {run_id} has not failed (it is {state})"
)
WORKFLOW_GROUP_BY = "invalid groupBy: {value!r}, want workflowRunId"
WORKFLOW_RUN_STATE = "invalid state: {value!r}, want one of {states}"
WORKFLOW_RUN_CURSOR = "invalid cursor: {value!r}"
