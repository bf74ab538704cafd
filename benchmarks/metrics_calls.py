"""GetMetricData calls per poll for 1,000 functions and the Lambda catalogue.

    .venv/bin/python benchmarks/metrics_calls.py [--functions 1000]

Runs the real query builder and fetcher against an in-process CloudWatch emulator (moto)
with a datapoint per function, counts the calls botocore makes, and prints them beside the
minimum, ceil(queries / 500).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashbird_clone.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only")  # settings load; no database is touched


@dataclass
class Fn:
    pk: int
    name: str


def main() -> None:
    import boto3
    import django
    from moto import mock_aws

    django.setup()
    import kinds
    from kinds import lambda_function
    from monitoring.collection.metrics import MAX_QUERIES, build_queries, fetch

    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=1000)
    args = parser.parse_args()
    functions = [Fn(i + 1, f"fn-{i:04d}") for i in range(args.functions)]
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        for i in range(0, len(functions), 500):
            cloudwatch.put_metric_data(
                Namespace="AWS/Lambda",
                MetricData=[
                    {
                        "MetricName": "Invocations",
                        "Dimensions": [{"Name": "FunctionName", "Value": f.name}],
                        "Timestamp": now - timedelta(minutes=2),
                        "Value": 1,
                    }
                    for f in functions[i : i + 500]
                ],
            )
        calls = 0

        def count(**kwargs: object) -> None:
            nonlocal calls
            calls += 1

        cloudwatch.meta.events.register("before-call.cloudwatch.GetMetricData", count)
        queries = build_queries(lambda_function.KIND, functions)
        points, reported = fetch(cloudwatch, queries, now - timedelta(minutes=10), now + timedelta(minutes=1))
    minimum = math.ceil(len(queries) / MAX_QUERIES)
    print(f"functions:                   {len(functions):,}")
    print(f"queries per function:        {kinds.get(lambda_function.KIND).queries_per_resource}")
    print(f"queries:                     {len(queries):,}")
    print(f"GetMetricData calls made:    {calls}")
    print(f"minimum, ceil(queries/500):  {minimum}")
    print(f"datapoints returned:         {len(points):,}")
    print("OK: calls equal the minimum" if calls == minimum == reported else "MORE CALLS THAN THE MINIMUM")


if __name__ == "__main__":
    main()
