#!/usr/bin/env python3
"""Times a Lambda function binary the way Lambda runs it: a minimal Runtime API
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) on 127.0.0.1 serves the given
events one after another to one process, as a warm execution environment would.

  lambda_runtime.py --binary target/release/start-job --env-file ENV --event s3.json --repeat 5

Prints one JSON object: `init_ms` (process start -> first request for an event: the cold-start
init Lambda bills), and per event `ms` (event handed out -> response or error posted) with the
status. The function's own log lines go to --log (default: discarded), never to the output.
"""

import argparse
import json
import os
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def read_env_file(path):
    env = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    return env


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--env-file", required=True)
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE over the env file")
    parser.add_argument("--event", action="append", required=True, help="event JSON file (in order)")
    parser.add_argument("--repeat", type=int, default=1, help="serve the event list this many times")
    parser.add_argument("--memory", default="4096")
    parser.add_argument("--log", default=os.devnull)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()

    events = [Path(path).read_text() for path in args.event] * args.repeat
    served = []  # per event: {"id", "start", "end", "status"}
    done = threading.Event()
    lock = threading.Lock()
    init_error = []

    class Runtime(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def reply(self, code, body=b"", headers=()):
            self.send_response(code)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if not self.path.endswith("/runtime/invocation/next"):
                return self.reply(404)
            with lock:
                index = len(served)
                if index < len(events):
                    request_id = str(uuid.uuid4())
                    served.append({"id": request_id, "start": time.monotonic(), "end": None, "status": None})
            if index >= len(events):
                done.set()
                time.sleep(args.timeout)  # Lambda freezes an idle environment; the process is killed
                return self.reply(500)
            deadline = int(time.time() * 1000 + args.timeout * 1000)
            self.reply(
                200,
                events[index].encode(),
                [
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
                    ("Content-Type", "application/json"),
                ],
            )

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if "/runtime/init/error" in self.path:
                init_error.append(body.decode(errors="replace"))
                done.set()
                return self.reply(202)
            parts = self.path.split("/")
            if len(parts) >= 6 and parts[-1] in ("response", "error"):
                with lock:
                    for entry in served:
                        if entry["id"] == parts[-2]:
                            entry["end"] = time.monotonic()
                            entry["status"] = "ok" if parts[-1] == "response" else "error"
                            entry["body"] = body.decode(errors="replace")[:300]
                return self.reply(202)
            self.reply(404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update(read_env_file(args.env_file))
    for pair in args.set:
        key, value = pair.split("=", 1)
        env[key] = value
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": Path(args.binary).name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": args.memory,
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        }
    )
    started = time.monotonic()
    with open(args.log, "ab") as log:
        process = subprocess.Popen([args.binary], env=env, stdout=log, stderr=log)
        finished = done.wait(args.timeout)
        process.kill()
        process.wait()
    server.shutdown()
    result = {
        "binary": Path(args.binary).name,
        "init_ms": round((served[0]["start"] - started) * 1000, 1) if served else None,
        "init_error": init_error[0] if init_error else None,
        "timed_out": not finished,
        "invocations": [
            {
                "ms": round((entry["end"] - entry["start"]) * 1000, 1) if entry["end"] else None,
                "status": entry["status"],
                "body": entry.get("body"),
            }
            for entry in served
        ],
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
