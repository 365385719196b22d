"""What the real command writes: devices stay devices, results are private, report file
names are safe on every OS (issue 16, items 2 and 7)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from .conftest import accessready, account_profile, one_line_error


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def admin_profile(path: Path, customer: str) -> Path:
    return account_profile(path, customer, """[checks]
only = ["admin.agreement", "admin.dpa"]
""")


def test_outputs_onto_a_device_leave_it_a_device_and_results_are_0600(tmp_path: Path) -> None:
    """``accessready report r.json --json /tmp/n`` (n: mknod c 1 3) once replaced the
    device with a regular file holding the result."""
    result = tmp_path / "r.json"
    out = accessready("run", str(admin_profile(tmp_path / "p.toml", "Fil kund")),
                      "--json", str(result), "--html", str(tmp_path / "r.html"))
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(result.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "r.html").stat().st_mode) == 0o666 & ~_umask()
    device = tmp_path / "n"
    if os.geteuid() == 0:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    else:  # without root: /dev/null itself is the character device
        device.symlink_to("/dev/null")
    again = accessready("report", str(result), "--json", str(device), "--html", str(device),
                        "--junit", str(device), "--prometheus", str(device))
    assert again.returncode == 0, again.stderr
    assert stat.S_ISCHR(device.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n", "p.toml", "r.html", "r.json"]


def test_audit_reports_dir_never_writes_a_windows_device_name(tmp_path: Path) -> None:
    """A customer "con" in con.toml once gave reports/con-con.html, and an empty-looking
    name gave con.html: a file Windows cannot open (it is the console)."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    admin_profile(folder / "con.toml", "!")  # the stem is then "con"
    admin_profile(folder / "aux.toml", "AUX")
    reports = tmp_path / "reports"
    out = accessready("audit", str(folder), "--reports-dir", str(reports), "-q",
                      "--json", str(tmp_path / "audit.json"))
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in reports.iterdir())
    assert len(names) == 4, names
    assert not [n for n in names if n.split(".")[0] in ("con", "aux")], names
    assert all(stat.S_IMODE((reports / n).stat().st_mode) == 0o600
               for n in names if n.endswith(".json"))
    assert stat.S_IMODE((tmp_path / "audit.json").stat().st_mode) == 0o600


def test_a_400_digit_duration_is_one_line_exit_3(tmp_path: Path) -> None:
    result = tmp_path / "r.json"
    out = accessready("run", str(admin_profile(tmp_path / "p.toml", "Fil kund")),
                      "--json", str(result))
    assert out.returncode == 0, out.stderr
    data = json.loads(result.read_text("utf-8"))
    data["duration_s"] = int("9" * 400)  # an integer: json reads it exactly, float() overflows
    result.write_text(json.dumps(data), encoding="utf-8")
    again = accessready("report", str(result), "--html", str(tmp_path / "r.html"))
    one_line_error(again, "duration_s should be a number of seconds")


def test_demo_profile_out_is_an_output_like_any_other(tmp_path: Path) -> None:
    """--profile-out went through Path.write_text: a missing folder was "internal error"."""
    out = accessready("demo", "--html", str(tmp_path / "d.html"), "--json",
                      str(tmp_path / "d.json"), "--profile-out", str(tmp_path / "no" / "p.toml"))
    one_line_error(out, "no/p.toml: cannot write the output")


def test_json_to_dev_stdout_is_stdout(tmp_path: Path) -> None:
    """``--json /dev/stdout`` is written to this process's stdout (never replacing the
    link) and, like ``--json -``, keeps the table off stdout so the JSON stays valid."""
    result = tmp_path / "r.json"
    out = accessready("run", str(admin_profile(tmp_path / "p.toml", "Fil kund")),
                      "--json", str(result))
    assert out.returncode == 0, out.stderr
    link = tmp_path / "stdout"  # /dev/stdout through a link of our own: a regression
    link.symlink_to("/dev/stdout")  # replaces this link, not the machine's /dev/stdout
    again = accessready("report", str(result), "--json", str(link))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["customer"] == "Fil kund"
    assert os.readlink(link) == "/dev/stdout"
