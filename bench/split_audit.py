"""``accessready audit`` as N processes, each over 1/N of the profiles: what an audit with
worker processes across cores could give (issue 13). A measurement, not a feature.

    python bench/split_audit.py N audit FOLDER --json OUT --profiles-at-once P
                                --concurrency C [other audit arguments]

Deals the folder's profiles out in turn, runs N real ``python -m accessready audit``
processes side by side, each with P/N profiles and C/N checks at once (the same bounds in
total) and its own report process, then merges their overviews' customers into ``OUT`` (the
rest of the overview is the first one's). ``bench_scale --split N`` runs it in place of the
single audit. Exits with the largest of the audits' exit codes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def _share(argv: list[str], flag: str, parts: int) -> None:
    """Divide the value after ``flag`` in ``argv`` by ``parts`` (at least 1)."""
    at = argv.index(flag) + 1
    argv[at] = str(max(1, int(argv[at]) // parts))


def main() -> int:
    parts, argv = int(sys.argv[1]), sys.argv[2:]
    if argv[:1] != ["audit"] or "--json" not in argv:
        raise SystemExit("usage: split_audit.py N audit FOLDER --json OUT ...")
    folder, out = Path(argv[1]), Path(argv[argv.index("--json") + 1])
    profiles = sorted(folder.glob("*.toml"))
    with tempfile.TemporaryDirectory(prefix="split-audit-") as tmp:
        children, overviews = [], []
        for n in range(parts):
            share = Path(tmp) / f"profiles-{n}"
            share.mkdir()
            for profile in profiles[n::parts]:
                (share / profile.name).symlink_to(profile)
            child = list(argv)
            child[1] = str(share)
            overviews.append(Path(tmp) / f"overview-{n}.json")
            child[child.index("--json") + 1] = str(overviews[-1])
            for flag in ("--profiles-at-once", "--concurrency"):
                if flag in child:
                    _share(child, flag, parts)
            children.append(subprocess.Popen([sys.executable, "-m", "accessready", *child]))
        codes = [child.wait() for child in children]
        merged: dict | None = None
        for path in overviews:
            if not path.exists():
                continue
            overview = json.loads(path.read_text(encoding="utf-8"))
            if merged is None:
                merged = overview
            else:
                merged["customers"].extend(overview["customers"])
        if merged is not None:
            out.write_text(json.dumps(merged), encoding="utf-8")
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
