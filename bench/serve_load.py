#!/usr/bin/env python3
"""The bounded load test of `signer serve` (issue 17, point 4), on loopback.

    target/aws-clients-venv/bin/python bench/serve_load.py [--jobs 2000] [--clients 16]

Builds `cargo build --release`, makes a throwaway home and file store with a profile and
an access key, starts moto's S3 server (target/moto-venv, as scripts/test.sh installs
it) with one source zip, `signer serve` without a worker, and two `signer worker`
processes on the same store. CLIENTS boto3 threads then start JOBS signing jobs and
describe each once, while the workers sign them. It waits until every job ended, and
checks that none was lost or signed twice: as many distinct job ids as starts, every job
Succeeded, one signed object per job at the destination and one job-end event each.
Prints the p50/p99 latencies of StartSigningJob and DescribeSigningJob and the totals as
Markdown for BENCHMARKS.md. Everything it starts, it stops by process id.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
SIGNER = ROOT / "target" / "release" / "signer"
MOTO = ROOT / "target" / "moto-venv" / "bin" / "moto_server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    work = Path(tempfile.mkdtemp(prefix="serve-load-"))
    procs = []
    try:
        port = free_port()
        s3_url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, SIGNER_HOME=str(work / "home"), AWS_ENDPOINT_URL=s3_url, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true",
                   AWS_EC2_METADATA_DISABLED="true")
        env.pop("SIGNER_STORE", None)
        log = open(work / "servers.log", "wb")
        procs.append(subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log))
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)

        def signer(*a):
            done = subprocess.run([str(SIGNER), "--output", "json", *a], env=env, capture_output=True, text=True, check=True)
            return json.loads(done.stdout)

        signer("init")
        signer("profile", "create", "Load")
        key = signer("access-key", "create", "load")
        signer("profile", "permission", "add", "Load", "--statement-id", "load", "--action", "signer:StartSigningJob",
               "--principal", "load")
        s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        s3.create_bucket(Bucket="load")
        s3.put_object(Bucket="load", Key="in/fn.zip", Body=(ROOT / "fixtures/packages/hello-function.zip").read_bytes())

        server = subprocess.Popen([str(SIGNER), "--output", "json", "serve", "--listen", "127.0.0.1:0"], env=env,
                                  stdout=subprocess.PIPE, stderr=log)
        procs.append(server)
        url = json.loads(server.stdout.readline())["url"]
        for _ in range(2):
            procs.append(subprocess.Popen([str(SIGNER), "-q", "worker", "--poll", "1s"], env=env, stdout=log, stderr=log))

        starts, describes, ids, errors = [], [], [], []
        lock = threading.Lock()
        per_client = [args.jobs // args.clients + (1 if i < args.jobs % args.clients else 0) for i in range(args.clients)]

        def client(n):
            c = boto3.client("signer", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key["access_key_id"],
                             aws_secret_access_key=key["secret_access_key"],
                             config=Config(retries={"max_attempts": 1}, max_pool_connections=2))
            for _ in range(n):
                try:
                    t0 = time.perf_counter()
                    job = c.start_signing_job(
                        source={"s3": {"bucketName": "load", "key": "in/fn.zip", "version": "null"}},
                        destination={"s3": {"bucketName": "load", "prefix": "out/"}}, profileName="Load")["jobId"]
                    t1 = time.perf_counter()
                    c.describe_signing_job(jobId=job)
                    t2 = time.perf_counter()
                    with lock:
                        starts.append(t1 - t0)
                        describes.append(t2 - t1)
                        ids.append(job)
                except Exception as e:  # noqa: BLE001 - counted and reported
                    with lock:
                        errors.append(repr(e))

        t_start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in per_client]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        submitted = time.perf_counter() - t_start
        c = boto3.client("signer", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key["access_key_id"],
                         aws_secret_access_key=key["secret_access_key"])
        while True:
            pages = c.get_paginator("list_signing_jobs").paginate(status="InProgress")
            if not sum(len(p["jobs"]) for p in pages):
                break
            time.sleep(1)
        all_done = time.perf_counter() - t_start
        jobs = [j for p in c.get_paginator("list_signing_jobs").paginate() for j in p["jobs"]]
        succeeded = sum(1 for j in jobs if j["status"] == "Succeeded")
        objects = sum(len(p.get("Contents", [])) for p in s3.get_paginator("list_objects_v2").paginate(Bucket="load", Prefix="out/"))
        events = len(list((work / "home" / "store" / "events" / "jobs").iterdir()))
        ok = not errors and len(set(ids)) == len(ids) == args.jobs == len(jobs) == succeeded == objects == events
        ms = lambda x: f"{x * 1000:.1f} ms"
        print(f"| {args.clients} clients, {args.jobs} jobs, 2 workers | StartSigningJob p50 {ms(pct(starts, 50))}, "
              f"p99 {ms(pct(starts, 99))} | DescribeSigningJob p50 {ms(pct(describes, 50))}, p99 {ms(pct(describes, 99))} "
              f"| submitted in {submitted:.1f} s, all signed in {all_done:.1f} s | distinct ids {len(set(ids))}, "
              f"Succeeded {succeeded}, signed objects {objects}, job-end events {events}, client errors {len(errors)} |")
        if errors:
            print("errors:", errors[:5], file=sys.stderr)
        sys.exit(0 if ok else 1)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
