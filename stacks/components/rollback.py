"""The new revision's own signal: per-target-group metric math that rolls a deployment back.

During prod's canary (10 % of the traffic) the load balancer's burn rate sees the new
revision's errors diluted ten times: the 5-minute fast burn (14.4x the budget) fires only
once the canary fails about 14 % of its requests.  The new revision serves from one
target group (blue or green, which swap roles at every deployment), so each target group
gets two alarms of its own: the share of its requests its targets answer with a 5xx,
and the p99 of its targets' response time.

A period in which the target group answered fewer than a floor of requests counts as
healthy (0): a quiet environment's one failed request must not roll a release back, and
the idle colour (no requests at all) stays OK.
"""

from __future__ import annotations

#: Metric math ids: the target group's requests, its targets' 5xx answers, their p99 response time.
REQUESTS, ERRORS, LATENCY = "requests", "errors", "latency"
#: (id, metric name, statistic) of each metric the alarms read, per target group.
RATE_METRICS = ((REQUESTS, "RequestCount", "Sum"), (ERRORS, "HTTPCode_Target_5XX_Count", "Sum"))
LATENCY_METRICS = ((REQUESTS, "RequestCount", "Sum"), (LATENCY, "TargetResponseTime", "p99"))


def rate_expression(min_requests: int, suffix: str = "") -> str:
    """The 5xx answers in percent of the target group's requests (metrics ``requests<suffix>``,
    ``errors<suffix>``), 0 below ``min_requests`` requests.  No 5xx datapoint is 0 errors;
    no ``RequestCount`` is 0 requests."""
    requests, errors = f"{REQUESTS}{suffix}", f"{ERRORS}{suffix}"
    return f"IF(FILL({requests}, 0) >= {min_requests}, 100 * FILL({errors}, 0) / FILL({requests}, 1), 0)"


def latency_expression(min_requests: int, suffix: str = "") -> str:
    """The p99 response time of the target group's targets (seconds; metrics ``requests<suffix>``,
    ``latency<suffix>``), 0 below ``min_requests`` requests."""
    requests, latency = f"{REQUESTS}{suffix}", f"{LATENCY}{suffix}"
    return f"IF(FILL({requests}, 0) >= {min_requests}, FILL({latency}, 0), 0)"
