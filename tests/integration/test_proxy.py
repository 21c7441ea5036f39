#!/usr/bin/env python3
"""Proxies come from the environment (http_proxy/https_proxy/no_proxy, as
libcurl reads them): a signed request goes through the proxy to a host the
machine cannot resolve, and no_proxy sends it direct again."""
import http.server
import os
import subprocess
import threading

import harness
from harness import case

EC2_OK = (b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeSecurityGroupsResponse '
          b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>'
          b'<securityGroupInfo/></DescribeSecurityGroupsResponse>')


class Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self.rfile.read(n)
        Recorder.seen.append((self.path, self.headers.get("Host")))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(EC2_OK)))
        self.end_headers()
        self.wfile.write(EC2_OK)

    def log_message(self, *a):
        pass


def serve():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def call(env_extra, endpoint):
    env = {"PATH": os.environ["PATH"], "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
           "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
           "AWS_ENDPOINT_URL": endpoint, "SGGUARD_TEST_FAST": "1"}
    env.update(env_extra)
    return subprocess.run([os.path.join(harness.TOOLS, "aws-call"), "ec2", "us-east-1",
                           "DescribeSecurityGroups"], capture_output=True, text=True,
                          env=env, timeout=60)


@case("http_proxy carries a signed request to an unresolvable AWS host")
def through_proxy():
    proxy = serve()
    try:
        Recorder.seen = []
        url = "http://ec2.sgguard-test.invalid"
        r = call({"http_proxy": "http://127.0.0.1:%d" % proxy.server_port}, url)
        assert r.returncode == 0, r.stdout + r.stderr
        assert Recorder.seen == [("http://ec2.sgguard-test.invalid/",
                                  "ec2.sgguard-test.invalid")], Recorder.seen
    finally:
        proxy.shutdown()


@case("no_proxy sends the request direct")
def no_proxy():
    target = serve()
    try:
        Recorder.seen = []
        url = "http://127.0.0.1:%d" % target.server_port
        # A proxy that does not exist: used, the call would fail.
        r = call({"http_proxy": "http://127.0.0.1:9", "no_proxy": "127.0.0.1"}, url)
        assert r.returncode == 0, r.stdout + r.stderr
        assert Recorder.seen and Recorder.seen[0][0] == "/", Recorder.seen
    finally:
        target.shutdown()


if __name__ == "__main__":
    harness.run()
