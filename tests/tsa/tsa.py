#!/usr/bin/env python3
"""A time-stamping authority for the tests: OpenSSL's RFC 3161 implementation
(`openssl ts -reply`) behind a minimal HTTP shim, on 127.0.0.1.

    python3 tests/tsa/tsa.py DIR

creates, under DIR, a test CA ("signer test TSA root", ca.pem) and a TSA certificate it
issues (tsa.pem, extendedKeyUsage critical timeStamping), both ECDSA P-256 and generated
here (test keys, never used elsewhere); listens on a free port of 127.0.0.1, prints the
port on one line, and answers every POST of a TimeStampReq (application/timestamp-query)
with openssl's TimeStampResp (application/timestamp-reply). Requests are served one at a
time: `openssl ts -reply` keeps its serial number in a file.
"""

import http.server
import os
import subprocess
import sys
import tempfile
import threading

CONFIG = """\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

TSA_EXT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem", "-days", "3650",
            "-subj", "/O=signer tests/CN=signer test TSA root",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-keyout", f"{d}/tsa.key", "-out", f"{d}/tsa.csr",
            "-subj", "/O=signer tests/CN=signer test TSA")
    with open(f"{d}/tsa.ext", "w") as f:
        f.write(TSA_EXT)
    openssl("x509", "-req", "-in", f"{d}/tsa.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
            "-CAcreateserial", "-out", f"{d}/tsa.pem", "-days", "3650", "-extfile", f"{d}/tsa.ext")
    with open(f"{d}/serial", "w") as f:
        f.write("01\n")
    with open(f"{d}/tsa.cnf", "w") as f:
        f.write(CONFIG.format(dir=d))


class Handler(http.server.BaseHTTPRequestHandler):
    lock = threading.Lock()
    dir = "."

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        query = self.rfile.read(length)
        with self.lock, tempfile.TemporaryDirectory(dir=self.dir) as t:
            q, r = os.path.join(t, "q.tsq"), os.path.join(t, "r.tsr")
            with open(q, "wb") as f:
                f.write(query)
            done = subprocess.run(["openssl", "ts", "-reply", "-config", f"{self.dir}/tsa.cnf",
                                   "-queryfile", q, "-out", r], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
            if done.returncode != 0:
                self.send_error(400, "openssl ts -reply: " + done.stderr.decode(errors="replace")[:200])
                return
            with open(r, "rb") as f:
                reply = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def main():
    d = os.path.abspath(sys.argv[1])
    os.makedirs(d, exist_ok=True)
    make_ca(d)
    Handler.dir = d
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
