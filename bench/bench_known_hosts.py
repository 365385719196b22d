"""known_hosts benchmark (issue 16): reading and consulting large files; prints numbers.

    python bench/bench_known_hosts.py [--lines 1000,10000,30000] [--hashed]

accessready reads known_hosts itself (paramiko's ``HostKeys.load`` checks every new line
against all earlier ones: quadratic, minutes for 20,000 lines, and it raises on
``@cert-authority``/``@revoked`` lines). Goal: 80,000 lines read and one host looked up in
under 2 s; a file over the cap is refused without being parsed. Exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import sys
import tempfile
import time
from pathlib import Path

import paramiko

from accessready.agent.io.transports.ssh import MAX_KNOWN_HOSTS_BYTES, KnownHosts

GOAL_SECONDS = 2.0


def _name(i: int, hashed: bool) -> str:
    name = f"host{i}.example.se"
    if not hashed:
        return name
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="1000,10000,30000")  # 8 MiB cap
    parser.add_argument("--hashed", action="store_true", help="hashed host names (-H)")
    args = parser.parse_args()
    key = paramiko.ECDSAKey.generate(bits=256)
    entry = f"{key.get_name()} {key.get_base64()}"
    missed = False
    with tempfile.TemporaryDirectory() as folder:
        for count in (int(n) for n in args.lines.split(",")):
            path = Path(folder) / f"known_hosts_{count}"
            with path.open("w") as handle:
                handle.write(f"@cert-authority *.example.se {entry}\n@revoked * {entry}x\n")
                for i in range(count):
                    handle.write(f"{_name(i, args.hashed)} {entry}\n")
            started = time.perf_counter()
            known = KnownHosts(path)
            read = time.perf_counter() - started
            started = time.perf_counter()
            algorithms = known.preferred_algorithms(f"host{count - 1}.example.se", 22,
                                                    ["ssh-ed25519", key.get_name()])
            lookup = time.perf_counter() - started
            ok = read + lookup < GOAL_SECONDS and algorithms[0] == key.get_name()
            missed |= not ok and path.stat().st_size <= MAX_KNOWN_HOSTS_BYTES
            print(f"{count:>7} lines {path.stat().st_size / 1024 / 1024:6.1f} MiB"
                  f"{' hashed' if args.hashed else ''}: read {read:.3f} s, last host "
                  f"looked up {lookup:.3f} s"
                  f"{'; ' + known.load_problem if known.load_problem else ''}"
                  f"{'' if ok else '  (goal missed)'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
