"""The real AWS clients against `signer serve` (issue 17), run by tests/it/serve.rs.

The aws cli (awscli v1) and boto3, pinned in scripts/test.sh, talk to the server at
SIGNER_URL with signer's access keys, and to the S3 server (moto) at S3_ENDPOINT with
its test credentials. Each step asserts what the client saw; the last line printed is
one JSON document for the Rust test (the signed object's path, to `signer verify`).
"""

import base64
import datetime
import hashlib
import json
import os
import subprocess
import urllib.error
import urllib.request
from unittest import mock

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import ClientError

URL = os.environ["SIGNER_URL"]
REGION = "us-east-1"
BUCKET = os.environ["BUCKET"]
AWS = os.environ["AWS_CLI"]
ADMIN = (os.environ["ADMIN_ID"], os.environ["ADMIN_SECRET"])
CI = (os.environ["CI_ID"], os.environ["CI_SECRET"])
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


def aws(key, *args):
    """Runs the aws cli against the server with `key`; returns its JSON output."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1], AWS_DEFAULT_REGION=REGION)
    env.pop("AWS_ENDPOINT_URL", None)
    done = subprocess.run(
        [AWS, "signer", *args, "--endpoint-url", URL, "--output", "json"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"aws signer {args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip() else None


def signer(key, secret=None):
    return boto3.client(
        "signer",
        endpoint_url=URL,
        region_name=REGION,
        aws_access_key_id=key[0],
        aws_secret_access_key=secret or key[1],
        config=NO_RETRIES,
    )


def error_code(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError("the call succeeded")


s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["S3_ENDPOINT"],
    region_name=REGION,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
with open(os.environ["ZIP"], "rb") as f:
    s3.put_object(Bucket=BUCKET, Key="in/fn.zip", Body=f.read())

# The aws cli: a profile, a job from S3, the waiter, describe.
made = aws(ADMIN, "put-signing-profile", "--profile-name", "CliApp", "--platform-id", "AWSLambda-SHA384-ECDSA",
           "--signature-validity-period", "value=12,type=MONTHS")
assert made["arn"].endswith(":/signing-profiles/CliApp"), made
version = made["profileVersion"]
shown = aws(ADMIN, "get-signing-profile", "--profile-name", "CliApp")
assert shown["status"] == "Active" and shown["platformId"] == "AWSLambda-SHA384-ECDSA", shown
started = aws(ADMIN, "start-signing-job", "--profile-name", "CliApp",
              "--source", f"s3={{bucketName={BUCKET},key=in/fn.zip,version=null}}",
              "--destination", f"s3={{bucketName={BUCKET},prefix=signed/}}")
job = started["jobId"]
aws(ADMIN, "wait", "successful-signing-job", "--job-id", job)
described = aws(ADMIN, "describe-signing-job", "--job-id", job)
assert described["status"] == "Succeeded", described
assert described["profileVersion"] == version and described["requestedBy"] == "admin", described
assert isinstance(described["createdAt"], (int, float)) or "T" in str(described["createdAt"]), described
signed_key = described["signedObject"]["s3"]["key"]
assert signed_key == f"signed/{job}.zip", described
out = os.path.join(os.environ["OUT_DIR"], "signed.zip")
s3.download_file(BUCKET, signed_key, out)

# boto3: a key that may not sign with the profile is refused, until an admin grants it.
ci = signer(CI)
start = dict(
    source={"s3": {"bucketName": BUCKET, "key": "in/fn.zip", "version": "null"}},
    destination={"s3": {"bucketName": BUCKET, "prefix": "more/"}},
    profileName="CliApp",
)
assert error_code(lambda: ci.start_signing_job(**start)) == "AccessDeniedException"
admin = signer(ADMIN)
rev = admin.add_profile_permission(profileName="CliApp", action="signer:StartSigningJob", principal="ci",
                                   statementId="ci-signs")["revisionId"]
listed = admin.list_profile_permissions(profileName="CliApp")
assert listed["revisionId"] == rev and listed["permissions"][0]["principal"] == "ci", listed
more = {ci.start_signing_job(**start)["jobId"] for _ in range(5)}
assert len(more) == 5 and job not in more
# The same client token gives the same job (botocore fills one in when none is given).
again = ci.start_signing_job(clientRequestToken="fixed-token", **start)["jobId"]
assert ci.start_signing_job(clientRequestToken="fixed-token", **start)["jobId"] == again

# boto3's paginator: every job once, two to a page.
seen = []
pages = 0
for page in admin.get_paginator("list_signing_jobs").paginate(PaginationConfig={"PageSize": 2}):
    pages += 1
    seen.extend(j["jobId"] for j in page["jobs"])
assert len(seen) == len(set(seen)) == 7 and set(seen) == more | {job, again}, seen
assert pages == 4, pages
profiles = [p["profileName"] for p in admin.get_paginator("list_signing_profiles").paginate(PaginationConfig={"PageSize": 1}).build_full_result()["profiles"]]
assert "CliApp" in profiles, profiles
platform = admin.get_signing_platform(platformId="AWSLambda-SHA384-ECDSA")
assert platform["signingConfiguration"]["hashAlgorithmOptions"]["defaultValue"] == "SHA384", platform

# Refusals with AWS's codes: a wrong secret, a scope for another service, a stale date.
assert error_code(lambda: signer(ADMIN, secret="x" * 40).list_signing_profiles()) == "InvalidSignatureException"
creds = botocore.credentials.Credentials(*ADMIN)
req = botocore.awsrequest.AWSRequest(method="GET", url=f"{URL}/signing-profiles")
botocore.auth.SigV4Auth(creds, "lambda", REGION).add_auth(req)

def raw(prepared):
    r = urllib.request.Request(prepared.url, headers=dict(prepared.headers), method=prepared.method)
    try:
        urllib.request.urlopen(r)
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("x-amzn-ErrorType")
    return 200, None

assert raw(req.prepare()) == (403, "InvalidSignatureException")
stale = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=20)
with mock.patch("botocore.auth.get_current_datetime", return_value=stale):
    assert error_code(lambda: admin.list_signing_jobs()) == "InvalidSignatureException"

# boto3's Lambda client: layers from a ZipFile and from S3, paged newest first, their
# download URL, and code-signing configs created, updated and deleted.
lam = boto3.client("lambda", endpoint_url=URL, region_name=REGION, aws_access_key_id=ADMIN[0],
                   aws_secret_access_key=ADMIN[1], config=NO_RETRIES)
with open(os.environ["LAYER_ZIP"], "rb") as f:
    layer_bytes = f.read()
s3.put_object(Bucket=BUCKET, Key="layers/greet.zip", Body=layer_bytes)
first = lam.publish_layer_version(LayerName="greet", Content={"ZipFile": layer_bytes}, CompatibleRuntimes=["python3.12"],
                                  Description="from a ZipFile")
second = lam.publish_layer_version(LayerName="greet", Content={"S3Bucket": BUCKET, "S3Key": "layers/greet.zip"},
                                   CompatibleArchitectures=["arm64"])
assert (first["Version"], second["Version"]) == (1, 2), (first, second)
digest = base64.b64encode(hashlib.sha256(layer_bytes).digest()).decode()
assert first["Content"]["CodeSha256"] == second["Content"]["CodeSha256"] == digest, first
assert first["Content"]["CodeSize"] == len(layer_bytes) and first["CreatedDate"].endswith("+0000"), first
with urllib.request.urlopen(first["Content"]["Location"]) as r:
    assert r.read() == layer_bytes
tampered = first["Content"]["Location"].replace("/greet/1?", "/greet/2?")
try:
    urllib.request.urlopen(tampered)
    raise AssertionError("a download URL for version 1 fetched version 2")
except urllib.error.HTTPError as e:
    assert e.code == 403, e.code
for n in range(3, 6):
    lam.publish_layer_version(LayerName="greet", Content={"ZipFile": layer_bytes})
numbers = [v["Version"] for page in lam.get_paginator("list_layer_versions").paginate(
    LayerName="greet", PaginationConfig={"PageSize": 2}) for v in page["LayerVersions"]]
assert numbers == [5, 4, 3, 2, 1], numbers
assert lam.list_layer_versions(LayerName="never-published")["LayerVersions"] == []
assert lam.get_layer_version_by_arn(Arn=second["LayerVersionArn"])["Version"] == 2
assert [l["LayerName"] for l in lam.list_layers()["Layers"]] == ["greet"]
lam.delete_layer_version(LayerName="greet", VersionNumber=5)
assert lam.list_layers()["Layers"][0]["LatestMatchingVersion"]["Version"] == 4
assert error_code(lambda: lam.get_layer_version(LayerName="greet", VersionNumber=5)) == "ResourceNotFoundException"

csc = lam.create_code_signing_config(
    Description="prod", AllowedPublishers={"SigningProfileVersionArns": [made["profileVersionArn"]]},
    CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Warn"})["CodeSigningConfig"]
arn = csc["CodeSigningConfigArn"]
assert csc["CodeSigningConfigId"].startswith("csc-") and arn.endswith(csc["CodeSigningConfigId"]), csc
updated = lam.update_code_signing_config(CodeSigningConfigArn=arn,
                                         CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
                                         Description="prod, enforced")["CodeSigningConfig"]
assert updated["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce", updated
assert lam.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"]["Description"] == "prod, enforced"
assert [c["CodeSigningConfigArn"] for c in lam.list_code_signing_configs()["CodeSigningConfigs"]] == [arn]
bad = {"SigningProfileVersionArns": ["arn:aws:signer:us-east-1:999999999999:/signing-profiles/CliApp/" + version]}
assert error_code(lambda: lam.create_code_signing_config(AllowedPublishers=bad)) == "InvalidParameterValueException"
lam.delete_code_signing_config(CodeSigningConfigArn=arn)
assert error_code(lambda: lam.get_code_signing_config(CodeSigningConfigArn=arn)) == "ResourceNotFoundException"
# A read-only or sign key may read, never publish.
ci_lambda = boto3.client("lambda", endpoint_url=URL, region_name=REGION, aws_access_key_id=CI[0],
                         aws_secret_access_key=CI[1], config=NO_RETRIES)
assert ci_lambda.list_layer_versions(LayerName="greet")["LayerVersions"]
assert error_code(lambda: ci_lambda.publish_layer_version(LayerName="greet", Content={"ZipFile": layer_bytes})) == "AccessDeniedException"

print(json.dumps({"signed": out, "job_id": job, "jobs": len(seen)}))
