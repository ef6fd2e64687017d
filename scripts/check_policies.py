#!/usr/bin/env python3
"""Evaluates every AWS call the functions make (shared/aws/data/aws_calls.tsv) against the IAM
roles, the KMS key policy and the bucket policy in template.yaml, with IAM's rules.

moto does not enforce IAM, so this is what stands between a policy mistake and a job that fails
only on AWS. For each row of the table and each value of the CreateKey condition (the stack's own
key, and ExistingKmsKeyArn) it prints ALLOWED or DENIED with the statement that decided, and exits
1 if any row is denied. It also lists role grants that no row uses (least privilege): a warning,
or a failure with --strict.

What is modelled (enough for this template, and refused loudly beyond it):
  * the template's intrinsic functions: Ref (parameters, pseudo parameters, resources),
    Fn::GetAtt, Fn::Sub (both forms), Fn::Select, Fn::Split, Fn::Join, Fn::If / Conditions
    (Fn::Equals, Fn::Not, Fn::And, Fn::Or), AWS::NoValue;
  * a function's role: Role: !GetAtt <Role>.Arn, and that role's inline Policies;
  * statements: Effect, Action / NotAction (wildcards * and ?, case-insensitive), Resource /
    NotResource (wildcards, case-sensitive), Principal for resource policies, Condition with
    StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringLike, StringNotLike, ArnEquals,
    ArnLike, ArnNotEquals, ArnNotLike, Bool, Null, Numeric*, each with ...IfExists, multi-valued
    lists (any value matches; all values must differ for the negated forms). A condition key
    missing from the request fails a condition, except for the negated operators and IfExists;
    condition key names are compared case-insensitively, values case-sensitively;
  * decision: an explicit Deny in any applicable policy wins; otherwise an Allow is needed. For
    S3 the bucket policy applies too (it only denies here). For KMS the key policy must allow as
    well: a key-policy statement for this account's root allowing the action means "IAM decides"
    (delegation), a statement naming the role allows directly; with ExistingKmsKeyArn the key
    policy is the customer's and only IAM is checked (docs/deploy.md lists what it must allow).
Not modelled: SCPs, permission boundaries, session policies, grants, ForAnyValue/ForAllValues.

Usage: check_policies.py [--template template.yaml] [--calls shared/aws/data/aws_calls.tsv]
                         [--strict] [--quiet] | --self-test
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import os
import re
import sys
import zlib
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TEMPLATE = os.path.join(ROOT, "template.yaml")
DEFAULT_CALLS = os.path.join(ROOT, "shared", "aws", "data", "aws_calls.tsv")

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"
STACK_NAME = "veriscribe"
STACK_UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/{STACK_UUID}"
EXISTING_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SAMPLE_JOB = "visit-1-3f2a9c"
SAMPLE_KEY = "visit-1.wav"
ANY_VALUE = "EXAMPLE-ANY-VALUE"
FUNCTION_KINDS = ("event-source-mapping:", "async-destination:")
HEADER = ["function", "action", "resource", "conditions"]


class CheckError(Exception):
    """The template or the table cannot be evaluated (not a policy decision)."""


# ---------------------------------------------------------------------------- template loading


def load_template(path: str) -> dict:
    try:
        import yaml
    except ImportError as e:  # pragma: no cover
        raise CheckError("PyYAML is needed (it comes with cfn-lint: use .venv-test/bin/python)") from e

    class Loader(yaml.SafeLoader):
        pass

    def construct(loader, tag_suffix, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if tag_suffix == "Ref":
            return {"Ref": value}
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        if tag_suffix == "Condition":
            return {"Condition": value}
        return {"Fn::" + tag_suffix: value}

    Loader.add_multi_constructor("!", construct)
    with open(path) as f:
        return yaml.load(f, Loader=Loader)


class Resolver:
    """Resolves intrinsic functions for one set of parameter values."""

    def __init__(self, template: dict, parameters: dict[str, str]):
        self.template = template
        self.resources = template.get("Resources", {})
        self.params = {}
        for name, spec in template.get("Parameters", {}).items():
            self.params[name] = str(parameters.get(name, spec.get("Default", "")))
        self.pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": STACK_ID,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.conditions = {}
        for name in template.get("Conditions", {}):
            self.conditions[name] = self.condition(name)

    def condition(self, name: str) -> bool:
        if name in self.conditions:
            return self.conditions[name]
        return bool(self.resolve(self.template["Conditions"][name]))

    def exists(self, logical_id: str) -> bool:
        cond = self.resources.get(logical_id, {}).get("Condition")
        return cond is None or self.condition(cond)

    def ref(self, name: str):
        if name in self.pseudo:
            return self.pseudo[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.params:
            return self.params[name]
        if name in self.resources:
            return self.attribute(name, "Ref")
        raise CheckError(f"!Ref {name}: not a parameter or resource")

    def attribute(self, logical_id: str, attr: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise CheckError(f"{logical_id}: no such resource")
        if not self.exists(logical_id):
            raise CheckError(f"{logical_id} is used where its condition is false")
        kind = resource["Type"]
        props = resource.get("Properties", {})
        generated = f"{STACK_NAME}-{logical_id}-EXAMPLE"
        arn = f"arn:{PARTITION}:{{}}:{REGION}:{ACCOUNT}:{{}}"
        if kind == "AWS::S3::Bucket":
            name = self.resolve(props.get("BucketName")) or generated.lower()
            return {"Ref": name, "Arn": f"arn:{PARTITION}:s3:::{name}"}.get(attr) or self._bad(logical_id, attr)
        if kind == "AWS::SQS::Queue":
            name = self.resolve(props.get("QueueName")) or generated
            values = {
                "Ref": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
                "Arn": arn.format("sqs", name),
                "QueueName": name,
                "QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
            }
            return values.get(attr) or self._bad(logical_id, attr)
        if kind == "AWS::DynamoDB::Table":
            name = self.resolve(props.get("TableName")) or generated
            return {"Ref": name, "Arn": arn.format("dynamodb", f"table/{name}")}.get(attr) or self._bad(logical_id, attr)
        if kind == "AWS::KMS::Key":
            key_id = "0a1b2c3d-0000-4000-8000-" + f"{zlib.crc32(logical_id.encode()):012d}"
            return {"Ref": key_id, "Arn": arn.format("kms", f"key/{key_id}"), "KeyId": key_id}.get(attr) or self._bad(logical_id, attr)
        if kind == "AWS::Logs::LogGroup":
            name = self.resolve(props.get("LogGroupName")) or generated
            return {"Ref": name, "Arn": arn.format("logs", f"log-group:{name}:*")}.get(attr) or self._bad(logical_id, attr)
        if kind == "AWS::IAM::Role":
            name = self.resolve(props.get("RoleName")) or generated
            return {"Ref": name, "Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"}.get(attr) or self._bad(logical_id, attr)
        if attr == "Ref":
            return generated
        return f"{generated}.{attr}"

    @staticmethod
    def _bad(logical_id, attr):
        raise CheckError(f"{logical_id}.{attr}: attribute not modelled")

    def resolve(self, value):
        if isinstance(value, list):
            out = [self.resolve(v) for v in value]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                logical_id, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.attribute(logical_id, attr)
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                variables = {k: self.resolve(v) for k, v in variables.items()}
                return re.sub(r"\$\{([^}!][^}]*)\}", lambda m: str(self._sub_var(m.group(1), variables)), text)
            if fn == "Fn::Select":
                index, items = self.resolve(arg[0]), self.resolve(arg[1])
                return items[int(index)]
            if fn == "Fn::Split":
                return self.resolve(arg[1]).split(arg[0])
            if fn == "Fn::Join":
                return arg[0].join(str(v) for v in self.resolve(arg[1]))
            if fn == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if fn == "Fn::Equals":
                return str(self.resolve(arg[0])) == str(self.resolve(arg[1]))
            if fn == "Fn::Not":
                return not self.resolve(arg[0])
            if fn == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if fn == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if fn == "Condition":
                return self.condition(arg)
            if fn.startswith("Fn::"):
                raise CheckError(f"{fn}: intrinsic function not modelled")
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _sub_var(self, name: str, variables: dict):
        if name in variables:
            return variables[name]
        if "." in name and name.split(".", 1)[0] in self.resources:
            return self.attribute(*name.split(".", 1))
        return self.ref(name)


class _NoValue:
    def __repr__(self):
        return "AWS::NoValue"


NO_VALUE = _NoValue()


# ---------------------------------------------------------------------------- the calls table


@dataclass
class Call:
    line: int
    function: str
    action: str
    resource: str
    conditions: dict[str, str]

    def label(self) -> str:
        ctx = " ".join(f"{k}={v}" for k, v in self.conditions.items())
        return f"{self.function} {self.action} {self.resource}" + (f" [{ctx}]" if ctx else "")


def parse_calls(text: str, source: str = "aws_calls.tsv") -> list[Call]:
    calls, header_seen, seen = [], False, set()
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cols = raw.split("\t")
        if not header_seen:
            if cols != HEADER:
                raise CheckError(f"{source}:{number}: header must be {chr(9).join(HEADER)!r}, found {raw!r}")
            header_seen = True
            continue
        if len(cols) == 3:
            cols.append("")
        if len(cols) != 4 or not all(c.strip() == c and c for c in cols[:3]):
            raise CheckError(f"{source}:{number}: expected 4 tab-separated columns: {raw!r}")
        function, action, resource, cond_text = cols
        if not re.fullmatch(r"[a-z0-9]+:[A-Za-z0-9]+", action):
            raise CheckError(f"{source}:{number}: action {action!r} is not service:Action")
        conditions = {}
        if cond_text.strip() not in ("", "-"):
            for entry in cond_text.split(" "):
                key, sep, value = entry.partition("=")
                if not sep or not key or not value:
                    raise CheckError(f"{source}:{number}: condition {entry!r} is not key=value")
                if key in conditions:
                    raise CheckError(f"{source}:{number}: condition key {key} given twice")
                conditions[key] = value
        identity = (function, action, resource, tuple(sorted(conditions.items())))
        if identity in seen:
            raise CheckError(f"{source}:{number}: duplicate row")
        seen.add(identity)
        calls.append(Call(number, function, action, resource, conditions))
    if not header_seen:
        raise CheckError(f"{source}: no header line")
    if not calls:
        raise CheckError(f"{source}: no rows")
    return calls


# ---------------------------------------------------------------------------- IAM matching


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's * and ? (no character classes: [ is literal)."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def arn_like(pattern: str, value: str) -> bool:
    p, v = pattern.split(":", 5), value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return False
    return all(wildcard(a, b) for a, b in zip(p, v))


def _numeric(a: str, b: str, op) -> bool:
    try:
        return op(float(a), float(b))
    except ValueError:
        return False


# operator -> (test(policy value, request value), negated)
OPERATORS = {
    "StringEquals": (lambda p, v: p == v, False),
    "StringNotEquals": (lambda p, v: p == v, True),
    "StringEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, v: p.lower() == v.lower(), True),
    "StringLike": (lambda p, v: wildcard(p, v), False),
    "StringNotLike": (lambda p, v: wildcard(p, v), True),
    "ArnEquals": (lambda p, v: arn_like(p, v), False),
    "ArnLike": (lambda p, v: arn_like(p, v), False),
    "ArnNotEquals": (lambda p, v: arn_like(p, v), True),
    "ArnNotLike": (lambda p, v: arn_like(p, v), True),
    "Bool": (lambda p, v: str(p).lower() == str(v).lower(), False),
    "NumericEquals": (lambda p, v: _numeric(v, p, lambda a, b: a == b), False),
    "NumericNotEquals": (lambda p, v: _numeric(v, p, lambda a, b: a == b), True),
    "NumericLessThan": (lambda p, v: _numeric(v, p, lambda a, b: a < b), False),
    "NumericLessThanEquals": (lambda p, v: _numeric(v, p, lambda a, b: a <= b), False),
    "NumericGreaterThan": (lambda p, v: _numeric(v, p, lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (lambda p, v: _numeric(v, p, lambda a, b: a >= b), False),
}


def condition_holds(block: dict, context: dict[str, str]) -> tuple[bool, str]:
    """(holds, why not). Every operator and every key in the block must hold (AND)."""
    lowered = {k.lower(): v for k, v in context.items()}
    for operator, tests in (block or {}).items():
        if operator.startswith(("ForAnyValue:", "ForAllValues:")):
            raise CheckError(f"condition operator {operator} not modelled")
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        if base == "Null":
            for key, expected in tests.items():
                absent = key.lower() not in lowered
                for want in as_list(expected):
                    if str(want).lower() == "true" and not absent or str(want).lower() == "false" and absent:
                        return False, f"Null {key}={want}"
            continue
        if base not in OPERATORS:
            raise CheckError(f"condition operator {operator} not modelled")
        test, negated = OPERATORS[base]
        for key, wanted in tests.items():
            values = [str(w) for w in as_list(wanted)]
            if key.lower() not in lowered:
                if if_exists or negated:
                    continue
                return False, f"{operator} {key}: key absent from the request"
            actual = lowered[key.lower()]
            matched = any(test(w, actual) for w in values)
            if matched == negated:
                return False, f"{operator} {key}={values} vs {actual!r}"
    return True, ""


def action_matches(statement: dict, action: str) -> bool:
    if "NotAction" in statement:
        return not any(wildcard(a, action, True) for a in as_list(statement["NotAction"]))
    return any(wildcard(a, action, True) for a in as_list(statement.get("Action")))


def resource_matches(statement: dict, arn: str) -> bool:
    if "NotResource" in statement:
        return not any(wildcard(r, arn) for r in as_list(statement["NotResource"]))
    return any(wildcard(r, arn) for r in as_list(statement.get("Resource")))


@dataclass
class Statement:
    where: str  # e.g. "GenerateNoteRole/generate-note"
    sid: str
    body: dict
    kind: str  # "identity", "bucket", "key"

    @property
    def name(self) -> str:
        return f"{self.where} {self.sid}"


def statements_of(document: dict, where: str, kind: str) -> list[Statement]:
    out = []
    for index, st in enumerate(as_list((document or {}).get("Statement"))):
        out.append(Statement(where, st.get("Sid", f"#{index}"), st, kind))
    return out


def principal_kind(statement: dict, role_arn: str) -> str | None:
    """'any', 'role', 'account' (delegates to IAM), or None if it does not cover the role."""
    principal = statement.get("Principal")
    if principal == "*":
        return "any"
    if not isinstance(principal, dict):
        return None
    aws = [str(p) for p in as_list(principal.get("AWS"))]
    if "*" in aws:
        return "any"
    if role_arn in aws:
        return "role"
    if f"arn:{PARTITION}:iam::{ACCOUNT}:root" in aws or ACCOUNT in aws:
        return "account"
    return None


# ---------------------------------------------------------------------------- evaluation


@dataclass
class Scenario:
    name: str
    parameters: dict
    resolver: Resolver = field(init=False)
    template: dict = field(init=False)

    def build(self, raw_template: dict):
        self.resolver = Resolver(raw_template, self.parameters)
        self.template = raw_template
        return self


@dataclass
class Decision:
    allowed: bool
    reason: str
    used: list[tuple[str, str, str]] = field(default_factory=list)  # (statement, action pattern, resource pattern)


class Evaluator:
    def __init__(self, raw_template: dict, parameters: dict):
        self.r = Resolver(raw_template, parameters)
        res = self.r.resources
        self.functions = {}  # binary name -> role logical id
        for logical_id, resource in res.items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
            role = resource.get("Properties", {}).get("Role")
            if not binary:
                raise CheckError(f"{logical_id}: no Metadata.BuildProperties.Binary")
            if not (isinstance(role, dict) and "Fn::GetAtt" in role and role["Fn::GetAtt"][1] == "Arn"):
                raise CheckError(f"{logical_id}: Role must be !GetAtt <Role>.Arn")
            self.functions[binary] = role["Fn::GetAtt"][0]
        self.buckets = self._only("AWS::S3::Bucket")
        self.tables = self._only("AWS::DynamoDB::Table")
        self.key_arn = self.r.resolve(self._kms_key_expression())
        self.key_policy = None
        for logical_id, resource in res.items():
            if resource.get("Type") == "AWS::KMS::Key" and self.r.exists(logical_id):
                if self.r.attribute(logical_id, "Arn") == self.key_arn:
                    self.key_policy = statements_of(self.r.resolve(resource["Properties"]["KeyPolicy"]), logical_id, "key")
        self.bucket_policy = []
        for logical_id, resource in res.items():
            if resource.get("Type") == "AWS::S3::BucketPolicy" and self.r.exists(logical_id):
                self.bucket_policy += statements_of(self.r.resolve(resource["Properties"]["PolicyDocument"]), logical_id, "bucket")
        self.role_statements = {}
        for role in set(self.functions.values()):
            props = res[role]["Properties"]
            if props.get("ManagedPolicyArns"):
                raise CheckError(f"{role}: managed policies are not modelled")
            statements = []
            for policy in props.get("Policies", []):
                where = f"{role}/{policy.get('PolicyName')}"
                statements += statements_of(self.r.resolve(policy["PolicyDocument"]), where, "identity")
            self.role_statements[role] = statements

    def _only(self, kind: str) -> str:
        found = [k for k, v in self.r.resources.items() if v.get("Type") == kind]
        if len(found) != 1:
            raise CheckError(f"expected exactly one {kind}, found {found}")
        return found[0]

    def _kms_key_expression(self):
        # The key everything uses: the bucket's default encryption key.
        bucket = self.r.resources[self.buckets]["Properties"]
        return bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]

    # -- symbols

    def bucket_name(self) -> str:
        return self.r.attribute(self.buckets, "Ref")

    def resource_arn(self, symbol: str, job: str = SAMPLE_JOB, key: str = SAMPLE_KEY) -> str:
        if symbol == "bucket":
            return f"arn:{PARTITION}:s3:::{self.bucket_name()}"
        if symbol.startswith("bucket/"):
            path = symbol[len("bucket/"):].replace("{job}", job).replace("{key}", key)
            return f"arn:{PARTITION}:s3:::{self.bucket_name()}/{path}"
        if symbol == "table":
            return self.r.attribute(self.tables, "Arn")
        if symbol == "key":
            return self.key_arn
        kind, _, logical_id = symbol.partition(":")
        if kind in ("queue", "loggroup"):
            resource = self.r.resources.get(logical_id)
            expected = {"queue": "AWS::SQS::Queue", "loggroup": "AWS::Logs::LogGroup"}[kind]
            if not resource or resource.get("Type") != expected:
                raise CheckError(f"resource {symbol}: {logical_id} is not an {expected}")
            if kind == "queue":
                return self.r.attribute(logical_id, "Arn")
            group = self.r.attribute(logical_id, "Ref")
            return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:2025/01/01/[$LATEST]0123456789abcdef"
        raise CheckError(f"unknown resource symbol {symbol!r}")

    def context(self, call: Call) -> dict[str, str]:
        ctx = {"aws:SecureTransport": "true"}
        if call.action.startswith("s3:"):
            ctx["s3:TlsVersion"] = "1.2"

        def fill(value: str) -> str:
            if value == "{any}":
                return ANY_VALUE
            value = value.replace("{job}", SAMPLE_JOB).replace("{key}", SAMPLE_KEY)
            value = value.replace("{region}", REGION).replace("{account}", ACCOUNT)
            value = value.replace("{bucket}", self.bucket_name())
            value = re.sub(r"\{arn:([^}]+)\}", lambda m: self.resource_arn(m.group(1)), value)
            value = re.sub(r"\{name:table\}", lambda m: self.r.attribute(self.tables, "Ref"), value)
            if "{" in value:
                raise CheckError(f"line {call.line}: unknown placeholder in {value!r}")
            return value

        for k, v in call.conditions.items():
            ctx[k] = fill(v)
        return ctx

    def role_for(self, function: str) -> str:
        name = function
        for prefix in FUNCTION_KINDS:
            if name.startswith(prefix):
                name = name[len(prefix):]
        if name not in self.functions:
            raise CheckError(f"function {function!r}: no AWS::Serverless::Function builds {name!r}")
        return self.functions[name]

    # -- decision

    def evaluate(self, call: Call) -> Decision:
        role = self.role_for(call.function)
        role_arn = self.r.attribute(role, "Arn")
        arn = self.resource_arn(call.resource)
        ctx = self.context(call)
        service = call.action.split(":", 1)[0].lower()

        def applies(st: Statement) -> tuple[bool, str]:
            if not action_matches(st.body, call.action) or not resource_matches(st.body, arn):
                return False, ""
            return condition_holds(st.body.get("Condition"), ctx)

        resource_policy: list[Statement] = []
        if service == "s3" and arn.startswith(f"arn:{PARTITION}:s3:::{self.bucket_name()}"):
            resource_policy = self.bucket_policy
        key_policy = self.key_policy if service == "kms" and arn == self.key_arn else None

        for st in self.role_statements[role] + resource_policy + (key_policy or []):
            if st.body.get("Effect") != "Deny":
                continue
            if st.kind != "identity" and principal_kind(st.body, role_arn) is None:
                continue
            ok, _ = applies(st)
            if ok:
                return Decision(False, f"explicit Deny {st.name}")

        identity_allows, misses = [], []
        for st in self.role_statements[role]:
            if st.body.get("Effect") != "Allow":
                continue
            ok, why = applies(st)
            if ok:
                identity_allows.append(st)
            elif why:
                misses.append(f"{st.name}: {why}")
        resource_allows = [
            st for st in resource_policy
            if st.body.get("Effect") == "Allow" and principal_kind(st.body, role_arn) in ("any", "role") and applies(st)[0]
        ]
        used = []
        for st in identity_allows:
            used += [(st.name, a, r) for a in as_list(st.body.get("Action")) if wildcard(a, call.action, True)
                     for r in as_list(st.body.get("Resource")) if wildcard(r, arn)]

        if key_policy is not None:
            direct = [st for st in key_policy if st.body.get("Effect") == "Allow"
                      and principal_kind(st.body, role_arn) in ("any", "role") and applies(st)[0]]
            delegating = [st for st in key_policy if st.body.get("Effect") == "Allow"
                          and principal_kind(st.body, role_arn) == "account" and applies(st)[0]]
            if direct:
                return Decision(True, f"key policy {direct[0].name} (names the role)", used)
            if not delegating:
                return Decision(False, "key policy allows neither the role nor the account (IAM) this call")
            if identity_allows:
                return Decision(True, f"{identity_allows[0].name}; key policy {delegating[0].name} delegates to IAM", used)
            return Decision(False, "no IAM Allow (key policy delegates to IAM)" + (f"; {'; '.join(misses)}" if misses else ""))
        if identity_allows:
            note = "" if service != "kms" else "; key policy: the customer's (ExistingKmsKeyArn), not checked"
            return Decision(True, identity_allows[0].name + note, used)
        if resource_allows:
            return Decision(True, f"resource policy {resource_allows[0].name}", used)
        return Decision(False, "no Allow matches" + (f"; {'; '.join(misses)}" if misses else ""))

    def grants(self) -> list[tuple[str, str, str]]:
        out = []
        for role, statements in sorted(self.role_statements.items()):
            for st in statements:
                if st.body.get("Effect") != "Allow":
                    continue
                for a in as_list(st.body.get("Action")):
                    for r in as_list(st.body.get("Resource")):
                        out.append((st.name, a, r))
        return out


SCENARIOS = [
    ("CreateKey=true", {"ExistingKmsKeyArn": ""}),
    ("CreateKey=false", {"ExistingKmsKeyArn": EXISTING_KEY_ARN}),
]


@dataclass
class Report:
    lines: list[str]
    allowed: int
    denied: int
    unused: list[str]


def check(raw_template: dict, calls: list[Call], scenarios=SCENARIOS) -> Report:
    lines, allowed, denied = [], 0, 0
    unused_per_scenario = []
    for scenario_name, params in scenarios:
        ev = Evaluator(raw_template, params)
        used = set()
        for call in calls:
            d = ev.evaluate(call)
            used.update(d.used)
            if d.allowed:
                allowed += 1
            else:
                denied += 1
            word = "ALLOWED" if d.allowed else "DENIED "
            lines.append(f"{word} [{scenario_name}] line {call.line}: {call.label()} -- {d.reason}")
        unused_per_scenario.append({g for g in ev.grants() if g not in used})
    # A grant is unused if no row uses it in any scenario.
    unused = sorted(set.intersection(*unused_per_scenario)) if unused_per_scenario else []
    return Report(lines, allowed, denied, [f"{s}: {a} on {r}" for s, a, r in unused])


# ---------------------------------------------------------------------------- self-test


def self_test(template_path: str, calls_path: str) -> int:
    base = load_template(template_path)
    with open(calls_path) as f:
        calls = parse_calls(f.read(), calls_path)
    failures = []

    def expect(name, condition, detail=""):
        print(f"  {'ok  ' if condition else 'FAIL'} {name}")
        if not condition:
            failures.append(f"{name} {detail}")

    def role_statements(t, role):
        return t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]

    def find(report, needle, scenario="CreateKey=true"):
        return [l for l in report.lines if f"[{scenario}]" in l and needle in l]

    codes_row = "kms:EncryptionContext:veriscribe:artifact=medical-codes"
    notes_row = "kms:EncryptionContext:veriscribe:artifact=clinical-documentation"

    print("self-test:")
    # 0. The real template passes.
    report = check(base, calls)
    expect("the template allows every row", report.denied == 0, "\n".join(l for l in report.lines if l.startswith("DENIED")))

    # 1. The template as it was before issue 19: only clinical-documentation may be sealed.
    old = copy.deepcopy(base)
    for st in role_statements(old, "GenerateNoteRole"):
        if st.get("Sid", "").startswith("Seal"):
            st["Condition"] = {"StringEquals": {"kms:EncryptionContext:veriscribe:artifact": "clinical-documentation"}}
    report = check(old, calls)
    denied = [l for l in report.lines if l.startswith("DENIED")]
    expect("old seal condition: the medical-codes data key is DENIED",
           all(l.startswith("DENIED") for l in find(report, codes_row)) and len(find(report, codes_row)) == 1)
    expect("old seal condition: the note's data key is still ALLOWED",
           all(l.startswith("ALLOWED") for l in find(report, notes_row)) and len(find(report, notes_row)) == 1)
    expect("old seal condition: exactly the codes row is denied, in both key scenarios", len(denied) == 2, "\n".join(denied))

    # 2. An explicit Deny wins over the Allow.
    t = copy.deepcopy(base)
    role_statements(t, "TranscribeRole").append(
        {"Sid": "TestDeny", "Effect": "Deny", "Action": "s3:Put*", "Resource": "*"})
    report = check(t, calls)
    lines = find(report, "transcribe s3:PutObject")
    expect("explicit Deny wins", lines and all(l.startswith("DENIED") and "TestDeny" in l for l in lines))

    # 3. Wildcard actions, case-insensitive; ? matches one character.
    expect("wildcard S3:GET* matches s3:GetObjectVersion", action_matches({"Action": "S3:GET*"}, "s3:GetObjectVersion"))
    expect("s3:Get?bject does not match s3:GetObjectVersion", not action_matches({"Action": "s3:Get?bject"}, "s3:GetObjectVersion"))
    expect("NotAction excludes", not action_matches({"NotAction": ["kms:*"]}, "kms:Decrypt"))
    t = copy.deepcopy(base)
    st = role_statements(t, "StartJobRole")
    st[:] = [s for s in st if s.get("Sid") != "CreateJobRows"]
    st.append({"Sid": "Wild", "Effect": "Allow", "Action": "DynamoDB:*Item", "Resource": {"Fn::GetAtt": ["JobsTable", "Arn"]}})
    report = check(t, calls)
    lines = find(report, "start-job dynamodb:")
    expect("wildcard action grant allows the table rows", len(lines) == 3 and all(l.startswith("ALLOWED") and "Wild" in l for l in lines))

    # 4. A condition key missing from the request fails the condition (but not IfExists/negated).
    block = {"StringEquals": {"kms:EncryptionContext:veriscribe:artifact": ["clinical-documentation", "medical-codes"]}}
    expect("missing condition key fails StringEquals", not condition_holds(block, {})[0])
    expect("multi-valued list: any value matches", condition_holds(block, {"kms:encryptioncontext:veriscribe:artifact": "medical-codes"})[0])
    expect("value outside the list fails", not condition_holds(block, {"kms:EncryptionContext:veriscribe:artifact": "transcript"})[0])
    expect("StringEqualsIfExists passes when the key is absent", condition_holds({"StringEqualsIfExists": {"a:b": "x"}}, {})[0])
    expect("StringNotEquals passes when the key is absent", condition_holds({"StringNotEquals": {"a:b": "x"}}, {})[0])
    expect("StringNotEquals fails on any listed value", not condition_holds({"StringNotEquals": {"a:b": ["x", "y"]}}, {"a:b": "y"})[0])
    expect("Null false needs the key", not condition_holds({"Null": {"a:b": "false"}}, {})[0])
    expect("StringLike wildcards", condition_holds({"StringLike": {"s3:prefix": "recordings/*"}}, {"s3:prefix": "recordings/a/b"})[0])
    expect("ArnLike matches per component", condition_holds(
        {"ArnLike": {"k": "arn:aws:logs:*:123456789012:log-group:/aws/lambda/x/*"}},
        {"k": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x/start-job"})[0])
    expect("ArnLike compares the six components (StringLike would match across colons)",
           not arn_like("arn:aws:sqs:*:q", "arn:aws:sqs:us-east-1:123456789012:q")
           and wildcard("arn:aws:sqs:*:q", "arn:aws:sqs:us-east-1:123456789012:q"))
    rows = parse_calls("function\taction\tresource\tconditions\n"
                       "generate-note\tkms:GenerateDataKey\tkey\tkms:EncryptionContext:veriscribe:job-name={job}\n")
    report = check(base, rows)
    expect("a row without the artifact context is DENIED", report.denied == 2 and report.allowed == 0, "\n".join(report.lines))
    rows = parse_calls("function\taction\tresource\tconditions\n"
                       "generate-note\tkms:Decrypt\tkey\tkms:EncryptionContext:veriscribe:artifact=clinical-documentation "
                       "kms:EncryptionContext:veriscribe:job-name={job}\n"
                       "generate-note\ts3:GetObject\tbucket/recordings/{key}\t-\n"
                       "transcribe\tkms:GenerateDataKey\tkey\tkms:EncryptionContext:veriscribe:artifact=clinical-documentation "
                       "kms:EncryptionContext:veriscribe:job-name={job}\n")
    report = check(base, rows)
    expect("generate-note cannot decrypt notes, read recordings; transcribe cannot seal notes",
           report.denied == 6 and report.allowed == 0, "\n".join(report.lines))

    # 5. The bucket policy's Deny applies to plain HTTP.
    rows = parse_calls("function\taction\tresource\tconditions\n"
                       "transcribe\ts3:PutObject\tbucket/output/{job}/transcript.json\taws:SecureTransport=false\n"
                       "transcribe\ts3:PutObject\tbucket/output/{job}/transcript.json\ts3:TlsVersion=1.1\n")
    report = check(base, rows)
    expect("bucket policy denies plain HTTP and TLS 1.1",
           report.denied == 4 and all("DenyPlainHttp" in l or "DenyTlsOlderThan12" in l for l in report.lines), "\n".join(report.lines))

    # 6. The key policy must allow too (CreateKey=true only).
    t = copy.deepcopy(base)
    for st in t["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]:
        if principal_kind(st, "") == "account" or "root" in str(st.get("Principal")):
            st["Action"] = [a for a in st["Action"] if a != "kms:GenerateDataKey"]
    report = check(t, calls)
    key_lines = [l for l in report.lines if "kms:GenerateDataKey" in l]
    expect("a key policy without kms:GenerateDataKey denies with CreateKey=true only",
           all(l.startswith("DENIED") for l in key_lines if "[CreateKey=true]" in l)
           and all(l.startswith("ALLOWED") for l in key_lines if "[CreateKey=false]" in l))

    # 7. Unused grants are reported; none in the template.
    expect("no unused grants in the template", not check(base, calls).unused, str(check(base, calls).unused))
    t = copy.deepcopy(base)
    role_statements(t, "StartJobRole").append(
        {"Sid": "Extra", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::elsewhere/*"})
    expect("an extra grant is reported unused", any("Extra" in u for u in check(t, calls).unused))

    # 8. The table parser refuses malformed rows.
    for bad in ["function\taction\tresource\n",
                "function\taction\tresource\tconditions\nstart-job s3:GetObject bucket -\n",
                "function\taction\tresource\tconditions\nstart-job\ts3:GetObject\tbucket\tnoequals\n",
                "function\taction\tresource\tconditions\nstart-job\ts3:GetObject\tbucket\t-\nstart-job\ts3:GetObject\tbucket\t\n"]:
        try:
            parse_calls(bad)
            expect(f"malformed table refused: {bad!r}", False)
        except CheckError:
            expect(f"malformed table refused: {bad.splitlines()[-1]!r}", True)
    try:
        check(base, parse_calls("function\taction\tresource\tconditions\nstart-jobs\ts3:GetObject\tbucket\t-\n"))
        expect("unknown function refused", False)
    except CheckError:
        expect("unknown function refused", True)

    if failures:
        print("self-test FAILED:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    print("self-test: all checks passed")
    return 0


# ---------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", default=DEFAULT_TEMPLATE)
    parser.add_argument("--calls", default=DEFAULT_CALLS)
    parser.add_argument("--strict", action="store_true", help="fail on role grants that no row uses")
    parser.add_argument("--quiet", action="store_true", help="print denied rows and the summary only")
    parser.add_argument("--self-test", action="store_true", help="prove the evaluator can fail, then exit")
    args = parser.parse_args(argv)
    try:
        if args.self_test:
            return self_test(args.template, args.calls)
        with open(args.calls) as f:
            calls = parse_calls(f.read(), args.calls)
        report = check(load_template(args.template), calls)
    except CheckError as e:
        print(f"check_policies: {e}", file=sys.stderr)
        return 2
    for line in report.lines:
        if not args.quiet or line.startswith("DENIED"):
            print(line)
    for u in report.unused:
        print(f"{'UNUSED ' if args.strict else 'warning: unused'} grant {u}")
    print(f"check_policies: {len(calls)} rows x {len(SCENARIOS)} key scenarios: "
          f"{report.allowed} allowed, {report.denied} denied; {len(report.unused)} unused grants")
    if report.denied or (args.strict and report.unused):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
