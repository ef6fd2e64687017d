#!/usr/bin/env bash
# Checks template.yaml offline:
#   1. cfn-lint on the SAM template as written;
#   2. the SAM transform (aws-sam-translator), then cfn-lint on the plain CloudFormation it
#      produces: that is where a circular dependency between the bucket's notification and a
#      function would show (cfn-lint skips cycle checks on AWS::Serverless resources);
#   3. no IAM, key, bucket or queue policy statement in the transformed template that *allows*
#      the action "*" or "<service>:*", and the functions' roles grant no resource "*";
#   4. scripts/check_policies.py: its self-test (it can deny), then every AWS call the functions
#      make (shared/aws/data/aws_calls.tsv) evaluated with IAM's rules against the roles, the key
#      policy and the bucket policy (moto enforces none of them): any call denied, or any role
#      grant that no call uses (--strict), fails the check;
#   5. scripts/check_metrics.py: its self-test, then every metric the dashboard and alarms read is
#      one the code writes (shared/aws/data/metrics.tsv, held against Metrics::emit by the tests)
#      or an AWS metric of one of the stack's queues or functions, and every written metric is read.
# Needs: pip install 'cfn-lint==1.58.0' 'aws-sam-translator==1.115.0' (PYTHON= picks the interpreter).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
TEMPLATE="${1:-template.yaml}"
work="$(mktemp -d)"
cfn_lint() { "$PYTHON" -c 'import sys; from cfnlint.runner import main; sys.exit(main())' "$@"; }
trap 'rm -rf "$work"' EXIT

cfn_lint "$TEMPLATE"

# The transform only needs a region name to fill pseudo parameters; nothing is contacted.
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" \
  "$PYTHON" - "$TEMPLATE" "$work/transformed.json" <<'PY'
import json
import sys

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

source, out = sys.argv[1], sys.argv[2]
template, problems = decode(source)
if problems:
    sys.exit(f"{source}: cannot parse: {problems}")


class NoManagedPolicies:
    """The roles are explicit, so the transform must not need to look up managed policies."""

    def load(self):
        return {}


template = json.loads(json.dumps(template))
# As `sam package` would: local code locations become S3 locations (only their form matters here).
for resource in template.get("Resources", {}).values():
    props = resource.get("Properties", {})
    for key in ("CodeUri", "ContentUri"):
        if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
            props[key] = "s3://placeholder-bucket/" + props[key].strip("./").replace("/", "-") + ".zip"
transformed = transform(template, {}, NoManagedPolicies())
with open(out, "w") as f:
    json.dump(transformed, f, indent=1)

failures = []


def as_list(value):
    return value if isinstance(value, list) else [value]


def policy_documents(logical_id, resource):
    kind, props = resource.get("Type"), resource.get("Properties", {})
    if kind == "AWS::IAM::Role":
        for policy in props.get("Policies", []):
            yield f"{logical_id}/{policy.get('PolicyName')}", policy.get("PolicyDocument", {}), True
        if props.get("ManagedPolicyArns"):
            failures.append(f"{logical_id}: managed policies are not reviewed here; use inline policies")
    elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        yield logical_id, props.get("PolicyDocument", {}), True
    elif kind == "AWS::KMS::Key":
        yield logical_id, props.get("KeyPolicy", {}), False
    elif kind in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
        yield logical_id, props.get("PolicyDocument", {}), False


def is_wildcard_action(action):
    return isinstance(action, str) and (action == "*" or action.endswith(":*"))


checked = 0
for logical_id, resource in transformed.get("Resources", {}).items():
    for where, document, identity_policy in policy_documents(logical_id, resource):
        for index, statement in enumerate(as_list(document.get("Statement", []))):
            checked += 1
            if statement.get("Effect") != "Allow":
                continue  # a Deny on s3:* (plain HTTP) is the point of that statement
            sid = statement.get("Sid", f"#{index}")
            if "NotAction" in statement:
                failures.append(f"{where} {sid}: Allow with NotAction")
            for action in as_list(statement.get("Action", [])):
                if is_wildcard_action(action):
                    failures.append(f"{where} {sid}: wildcard action {action!r}")
            # In a key policy Resource "*" means "this key"; in a role it means everything.
            if identity_policy and "*" in as_list(statement.get("Resource", [])):
                failures.append(f"{where} {sid}: Resource '*'")

if checked == 0:
    failures.append("no policy statements found: the check is not looking at the right template")
if failures:
    print("policy check failed:", *failures, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"policy check: {checked} statements, no wildcard actions")
PY

cfn_lint "$work/transformed.json"

"$PYTHON" scripts/check_policies.py --template "$TEMPLATE" --self-test > "$work/self-test.log" \
  || { cat "$work/self-test.log"; exit 1; }
"$PYTHON" scripts/check_policies.py --template "$TEMPLATE" --strict --quiet
"$PYTHON" scripts/check_metrics.py --template "$TEMPLATE" --self-test > "$work/metrics-self-test.log" \
  || { cat "$work/metrics-self-test.log"; exit 1; }
"$PYTHON" scripts/check_metrics.py --template "$TEMPLATE"
echo "check-template: $TEMPLATE OK"
