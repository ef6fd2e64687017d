#!/usr/bin/env python3
"""Checks that the template's dashboard and alarms read metrics that exist.

CloudWatch accepts a dashboard or an alarm over any metric name, so a typo or a renamed metric
gives an empty graph or an alarm that never fires, silently. This check resolves the template
(intrinsics via scripts/check_policies.py) and compares every metric it reads with:
  * custom metrics: the rows of shared/aws/data/metrics.tsv (metric, Stage), the table the code's
    `Metrics::emit` is held to (debug builds refuse an undeclared pair, so every test checks the
    code side); the namespace must be the functions' METRICS_NAMESPACE;
  * AWS metrics: a known metric name of that service with its dimension pointing at a resource of
    the stack (a queue's name, a function's name).
It also fails when a row of the table is read by nothing (a metric nobody looks at, or a
dashboard that lost a widget), when a metric-math expression names an id that is not defined,
and when the dashboard body is not valid JSON.
`--self-test` mutates the template and the table and expects each mutation to be caught.

Usage: check_metrics.py [--template template.yaml] [--table shared/aws/data/metrics.tsv] [--self-test]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_policies import CheckError, Resolver, load_template  # noqa: E402

AWS_METRICS = {
    "AWS/SQS": (
        "QueueName",
        "AWS::SQS::Queue",
        {
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateAgeOfOldestMessage",
            "NumberOfMessagesReceived",
            "NumberOfMessagesSent",
            "NumberOfMessagesDeleted",
        },
    ),
    "AWS/Lambda": (
        "FunctionName",
        "AWS::Serverless::Function",
        {"Errors", "Throttles", "Duration", "Invocations", "ConcurrentExecutions"},
    ),
}
EXPRESSION_FUNCTIONS = {"FILL", "MAX", "MIN", "SUM", "AVG", "IF", "AND", "OR", "METRICS", "ABS", "RATE"}


def parse_table(text: str) -> set[tuple[str, str]]:
    rows = set()
    lines = [l for l in text.splitlines() if l.strip() and not l.startswith("#")]
    if not lines or lines[0].split("\t")[:3] != ["metric", "unit", "stage"]:
        raise CheckError("metrics.tsv: header must start metric, unit, stage")
    for line in lines[1:]:
        fields = line.split("\t")
        if len(fields) < 3:
            raise CheckError(f"metrics.tsv: short row {line!r}")
        rows.add((fields[0], fields[2]))
    return rows


class Reads:
    """Every metric the template reads, with where."""

    def __init__(self):
        self.items: list[tuple[str, str, str, dict[str, str]]] = []  # where, namespace, name, dims

    def add(self, where, namespace, name, dims):
        self.items.append((where, namespace, name, dims))


def check_expression_ids(where: str, expressions: list[str], ids: set[str], problems: list[str]):
    for expression in expressions:
        for token in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression):
            if token.upper() in EXPRESSION_FUNCTIONS and token.isupper():
                continue
            if token not in ids:
                problems.append(f"{where}: expression {expression!r} names {token!r}, which no metric defines")


def dashboard_reads(where: str, body: str, reads: Reads, problems: list[str]):
    try:
        document = json.loads(body)
    except json.JSONDecodeError as e:
        problems.append(f"{where}: DashboardBody is not JSON: {e}")
        return
    for index, widget in enumerate(document.get("widgets", [])):
        if widget.get("type") != "metric":
            continue
        properties = widget.get("properties", {})
        title = f"{where} widget {index} ({properties.get('title', '?')})"
        ids, expressions, previous = set(), [], None
        for row in properties.get("metrics", []):
            options = row[-1] if row and isinstance(row[-1], dict) else {}
            fields = row[:-1] if options else list(row)
            if "id" in options:
                ids.add(options["id"])
            if "expression" in options:
                expressions.append(options["expression"])
                continue
            # "." repeats the value at the same position in the row above.
            fields = [previous[i] if f == "." and previous and i < len(previous) else f for i, f in enumerate(fields)]
            previous = fields
            if len(fields) < 2 or len(fields) % 2:
                problems.append(f"{title}: metric row {row!r} is not [namespace, name, (dimension, value)...]")
                continue
            namespace, name = fields[0], fields[1]
            dims = dict(zip(fields[2::2], fields[3::2]))
            reads.add(title, namespace, name, dims)
        check_expression_ids(title, expressions, ids, problems)


def alarm_reads(where: str, properties: dict, reads: Reads, problems: list[str]):
    def dims_of(entries):
        return {d["Name"]: d["Value"] for d in entries or []}

    if "MetricName" in properties:
        reads.add(where, properties.get("Namespace"), properties["MetricName"], dims_of(properties.get("Dimensions")))
    ids, expressions = set(), []
    for query in properties.get("Metrics", []) or []:
        ids.add(query.get("Id"))
        if "Expression" in query:
            expressions.append(query["Expression"])
        stat = query.get("MetricStat")
        if stat:
            metric = stat["Metric"]
            reads.add(f"{where} {query.get('Id')}", metric.get("Namespace"), metric.get("MetricName"), dims_of(metric.get("Dimensions")))
    check_expression_ids(where, expressions, ids, problems)


def check(raw_template: dict, table: set[tuple[str, str]]) -> tuple[list[str], int]:
    resolver = Resolver(raw_template, {})
    template = resolver.template
    problems: list[str] = []
    env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    if "METRICS_NAMESPACE" not in env:
        return ["Globals: the functions have no METRICS_NAMESPACE"], 0
    namespace = resolver.resolve(env["METRICS_NAMESPACE"])

    names_by_type: dict[str, set[str]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if not resolver.exists(logical_id):
            continue
        kind = resource["Type"]
        if kind == "AWS::SQS::Queue":
            names_by_type.setdefault(kind, set()).add(resolver.attribute(logical_id, "QueueName"))
        elif kind == "AWS::Serverless::Function":
            names_by_type.setdefault(kind, set()).add(resolver.attribute(logical_id, "Ref"))

    reads = Reads()
    dashboards = 0
    for logical_id, resource in template.get("Resources", {}).items():
        if not resolver.exists(logical_id):
            continue
        properties = resolver.resolve(resource.get("Properties", {}))
        if resource["Type"] == "AWS::CloudWatch::Dashboard":
            dashboards += 1
            dashboard_reads(logical_id, properties.get("DashboardBody", ""), reads, problems)
        elif resource["Type"] == "AWS::CloudWatch::Alarm":
            alarm_reads(logical_id, properties, reads, problems)
    if dashboards == 0:
        problems.append("no AWS::CloudWatch::Dashboard in the template")

    used = set()
    for where, ns, name, dims in reads.items:
        if ns == namespace:
            if set(dims) != {"Stage"}:
                problems.append(f"{where}: {name} read with dimensions {sorted(dims)}; the code writes only Stage")
                continue
            key = (name, dims["Stage"])
            if key not in table:
                problems.append(f"{where}: {name} with Stage={dims['Stage']} is not a metric the code writes (metrics.tsv)")
            used.add(key)
        elif ns in AWS_METRICS:
            dimension, kind, known = AWS_METRICS[ns]
            if name not in known:
                problems.append(f"{where}: {ns} has no metric {name!r} here")
            if set(dims) != {dimension}:
                problems.append(f"{where}: {ns} {name} needs exactly the dimension {dimension}, got {sorted(dims)}")
            elif dims[dimension] not in names_by_type.get(kind, set()):
                problems.append(f"{where}: {ns} {name} {dimension}={dims[dimension]!r} is no {kind} of this stack")
        else:
            problems.append(f"{where}: namespace {ns!r} is neither the functions' ({namespace!r}) nor a known AWS one")
    for row in sorted(table - used):
        problems.append(f"metrics.tsv: {row[0]} (Stage={row[1]}) is written but no dashboard or alarm reads it")
    return problems, len(reads.items)


def self_test(template_path: str, table_path: str) -> int:
    raw = load_template(template_path)
    table = parse_table(open(table_path).read())
    problems, _ = check(raw, table)
    if problems:
        print("self-test: the unmodified template must pass first:", *problems, sep="\n  ")
        return 1

    def dashboard_text(template):
        body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
        return body["Fn::Sub"]

    def mutate_body(replace):
        def mutation(template, rows):
            sub = dashboard_text(template)
            sub[0] = replace(sub[0])
            return template, rows

        return mutation

    def rename_alarm_metric(template, rows):
        template["Resources"]["SlowRecognitionAlarm"]["Properties"]["MetricName"] = "RealtimeFactor"
        return template, rows

    def wrong_namespace(template, rows):
        template["Globals"]["Function"]["Environment"]["Variables"]["METRICS_NAMESPACE"] = "Veriscribe"
        return template, rows

    def unread_row(template, rows):
        return template, rows | {("TokensDecoded", "transcribe")}

    def missing_row(template, rows):
        return template, rows - {("JobsCompleted", "generate-note")}

    def alarm_queue(template, rows):
        template["Resources"]["TranscribeBacklogAlarm"]["Properties"]["Dimensions"][0]["Value"] = "transcribe-queue"
        return template, rows

    mutations = {
        "metric renamed in the dashboard": mutate_body(lambda s: s.replace('"JobsCompleted"', '"JobsComplete"', 1)),
        "stage renamed in the dashboard": mutate_body(lambda s: s.replace('"Stage", "transcribe", { "stat": "Average"', '"Stage", "transcribe-job", { "stat": "Average"', 1)),
        "extra dimension": mutate_body(lambda s: s.replace('"Stage", "start-job", { "label": "started" }', '"Stage", "start-job", "JobName", "x", { "label": "started" }', 1)),
        "unknown SQS metric": mutate_body(lambda s: s.replace('"ApproximateAgeOfOldestMessage"', '"ApproximateAgeOfNewestMessage"', 1)),
        "expression id undefined": mutate_body(lambda s: s.replace('"expression": "a / 60"', '"expression": "b / 60"', 1)),
        "body not JSON": mutate_body(lambda s: s.replace('"widgets": [', '"widgets": [,', 1)),
        "alarm metric renamed": rename_alarm_metric,
        "namespace differs from the functions'": wrong_namespace,
        "table row nothing reads": unread_row,
        "dashboard metric the table lacks": missing_row,
        "alarm on a queue that is not the stack's": alarm_queue,
    }
    failed = 0
    for label, mutation in mutations.items():
        template, rows = mutation(copy.deepcopy(raw), set(table))
        try:
            problems, _ = check(template, rows)
        except CheckError as e:
            problems = [str(e)]
        status = "caught" if problems else "MISSED"
        failed += not problems
        print(f"self-test: {label}: {status}" + (f" ({problems[0]})" if problems else ""))
    print(f"self-test: {len(mutations) - failed}/{len(mutations)} mutations caught")
    return 1 if failed else 0


def main(argv=None) -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", default=os.path.join(root, "template.yaml"))
    parser.add_argument("--table", default=os.path.join(root, "shared/aws/data/metrics.tsv"))
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.self_test:
            return self_test(args.template, args.table)
        problems, count = check(load_template(args.template), parse_table(open(args.table).read()))
    except CheckError as e:
        print(f"check_metrics: {e}", file=sys.stderr)
        return 2
    if problems:
        print("metric check failed:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(f"check_metrics: {count} metric reads in the dashboard and alarms, all written by the code or the stack's AWS resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
