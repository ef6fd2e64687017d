#!/usr/bin/env python3
"""Drives a local run of the three functions against the moto server (docs/deploy.md, "Local
invocation"). Stands in for what AWS does between the functions: creates the stack's resources
with the names in events/env.json and events/local.env, uploads a recording and prints the S3 event
S3 would send, and turns the next message on a queue into the SQS event Lambda would deliver.

  moto-local.py setup [--write-env DIR]
  moto-local.py upload FILE [--key 'recordings/visit 1.wav'] [--meta note-template=SIRP ...] > s3.json
  moto-local.py next-event transcribe|note|transcribe-dlq|note-dlq > sqs.json

Needs boto3 (installed with moto[server]). Endpoint: $AWS_ENDPOINT_URL, default http://127.0.0.1:5000.
"""

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import boto3

EVENTS = Path(__file__).resolve().parent
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
REGION = "us-east-1"
ENV = json.loads((EVENTS / "env.json").read_text())["TranscribeFunction"]
BUCKET = ENV["OUTPUT_BUCKET"]
TABLE = ENV["JOBS_TABLE"]
# env.json names a placeholder key (moto cannot create a key with a chosen id); `setup
# --write-env DIR` writes copies of env.json and local.env that name the real one.
PLACEHOLDER_KEY_ARN = ENV["KMS_KEY_ID"]
KEY_ALIAS = "alias/veriscribe-local"
QUEUES = {
    "transcribe": ("veriscribe-transcribe", "veriscribe-transcribe-dlq", 5400),
    "note": ("veriscribe-note", "veriscribe-note-dlq", 720),
}


def client(service):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def setup(args):
    kms = client("kms")
    try:
        key_arn = kms.describe_key(KeyId=KEY_ALIAS)["KeyMetadata"]["Arn"]
    except kms.exceptions.NotFoundException:
        key_arn = kms.create_key(Description="veriscribe local")["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=key_arn)

    s3 = client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
            "BucketKeyEnabled": True,
        }]},
    )

    ddb = client("dynamodb")
    if TABLE not in ddb.list_tables()["TableNames"]:
        ddb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "MedicalScribeJobName", "AttributeType": "S"},
                {"AttributeName": "MedicalScribeJobStatus", "AttributeType": "S"},
                {"AttributeName": "CreationTime", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "MedicalScribeJobName", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{
                "IndexName": "ByStatus",
                "KeySchema": [
                    {"AttributeName": "MedicalScribeJobStatus", "KeyType": "HASH"},
                    {"AttributeName": "CreationTime", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }],
        )
        ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"AttributeName": "ExpiresAt", "Enabled": True})

    sqs = client("sqs")
    for main, dead, visibility in QUEUES.values():
        dlq_url = sqs.create_queue(QueueName=dead, Attributes={"VisibilityTimeout": str(visibility)})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(QueueName=main, Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        })
    print(f"moto at {ENDPOINT}: bucket {BUCKET}, table {TABLE}, key {key_arn}, queues "
          + ", ".join(n for q in QUEUES.values() for n in q[:2]), file=sys.stderr)
    if args.write_env:
        out = Path(args.write_env)
        out.mkdir(parents=True, exist_ok=True)
        for name in ("env.json", "local.env"):
            text = (EVENTS / name).read_text().replace(PLACEHOLDER_KEY_ARN, key_arn)
            text = text.replace("http://127.0.0.1:5000", ENDPOINT)
            (out / name).write_text(text)
        print(f"wrote {out / 'env.json'} and {out / 'local.env'}", file=sys.stderr)
    else:
        print(key_arn)


def s3_event_key(key):
    # S3 notifications URL-encode the key with '+' for spaces and leave '/' alone.
    return urllib.parse.quote_plus(key, safe="/")


def upload(args):
    body = Path(args.file).read_bytes()
    metadata = dict(m.split("=", 1) for m in args.meta)
    put = client("s3").put_object(Bucket=BUCKET, Key=args.key, Body=body, Metadata=metadata)
    event = json.loads((EVENTS / "s3-put-recording.json").read_text())
    record = event["Records"][0]
    now = time.time()
    record["eventTime"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now))
    record["responseElements"]["x-amz-request-id"] = uuid.uuid4().hex[:16].upper()
    record["s3"]["bucket"]["name"] = BUCKET
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{BUCKET}"
    obj = record["s3"]["object"]
    obj["key"] = s3_event_key(args.key)
    obj["size"] = len(body)
    obj["eTag"] = put["ETag"].strip('"')
    obj["sequencer"] = f"{int(now * 1e6):016X}"
    if put.get("VersionId"):
        obj["versionId"] = put["VersionId"]
    else:
        obj.pop("versionId", None)
    json.dump(event, sys.stdout, indent=2)
    print()


def next_event(args):
    stage, dead = args.queue.removesuffix("-dlq"), args.queue.endswith("-dlq")
    name = QUEUES[stage][1 if dead else 0]
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=args.wait,
                              AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
    if not got:
        sys.exit(f"no message on {name} after {args.wait} s")
    message = got[0]
    # Taken off the queue as Lambda would after a successful invocation; re-run the stage to retry.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    event = {"Records": [{
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }]}
    json.dump(event, sys.stdout, indent=2)
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    st = commands.add_parser("setup", help="create the bucket, table, queues and key (idempotent)")
    st.add_argument("--write-env", metavar="DIR", help="write env.json and local.env naming the moto key into DIR")
    st.set_defaults(run=setup)
    up = commands.add_parser("upload", help="upload a recording and print its S3 event")
    up.add_argument("file")
    up.add_argument("--key", default="recordings/visit 1.wav")
    up.add_argument("--meta", action="append", default=[], metavar="NAME=VALUE",
                    help="S3 user metadata, e.g. note-template=SIRP (repeatable)")
    up.set_defaults(run=upload)
    nxt = commands.add_parser("next-event", help="take the next message off a queue and print it as a Lambda SQS event")
    nxt.add_argument("queue", choices=["transcribe", "note", "transcribe-dlq", "note-dlq"])
    nxt.add_argument("--wait", type=int, default=5)
    nxt.set_defaults(run=next_event)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
