#!/usr/bin/env python3
"""The binary is built hardened: PIE, full RELRO (BIND_NOW), stack
protector, _FORTIFY_SOURCE, no executable stack; and -Werror holds."""
import os
import re
import subprocess

import harness
from harness import case


def readelf(*args):
    return subprocess.run(["readelf", *args, harness.BIN], capture_output=True,
                          text=True, check=True).stdout


def sanitized():
    return os.path.basename(harness.BUILD.rstrip("/")) == "san"


@case("PIE: the executable is position independent (ELF type DYN)")
def pie():
    assert re.search(r"Type:\s+DYN", readelf("-h")), readelf("-h")


@case("full RELRO: a GNU_RELRO segment and BIND_NOW")
def relro():
    assert "GNU_RELRO" in readelf("-lW")
    dyn = readelf("-dW")
    assert re.search(r"\(FLAGS\).*BIND_NOW", dyn) or re.search(r"\(FLAGS_1\).*NOW", dyn), dyn


@case("no executable stack")
def nx_stack():
    seg = [ln for ln in readelf("-lW").splitlines() if "GNU_STACK" in ln]
    assert seg and "RWE" not in seg[0], seg


@case("stack protector and _FORTIFY_SOURCE checks are linked in")
def protector():
    syms = readelf("--dyn-syms", "-W")
    assert "__stack_chk_fail" in syms
    if sanitized():
        harness.skip("the sanitizer build leaves out _FORTIFY_SOURCE by design")
    assert re.search(r"__\w+_chk\b", syms.replace("__stack_chk_fail", "")), \
        "no fortified libc call found"


@case("the Makefile builds with -std=c11 -Wall -Wextra -Werror and the hardening flags")
def flags():
    r = subprocess.run(["make", "-n", "-B", "-C", harness.ROOT, "BUILD=" + harness.BUILD,
                        "SAN=1" if sanitized() else "SAN=", "%s/obj/log.o" % harness.BUILD],
                       capture_output=True, text=True)
    line = [ln for ln in r.stdout.splitlines() if "src/log.c" in ln]
    assert line, r.stdout + r.stderr
    for flag in ("-std=c11", "-Wall", "-Wextra", "-Werror", "-fstack-protector-strong",
                 "-fPIE"):
        assert flag in line[0], flag
    if not sanitized():
        assert "-D_FORTIFY_SOURCE=3" in line[0]
    link = subprocess.run(["make", "-n", "-B", "-C", harness.ROOT, "BUILD=" + harness.BUILD,
                           "%s/sgguard" % harness.BUILD], capture_output=True, text=True).stdout
    assert "-pie" in link and "-z,relro,-z,now" in link, link


if __name__ == "__main__":
    harness.run()
