"""Profile validation: every broken profile in the corpus gives its one-line error."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest

from accessready.agent.core.profile import LineIndex, ProfileError, load_profile, parse_profile
from accessready.agent.core.profile_spec import json_schema

PROFILES = Path(__file__).resolve().parent.parent / "profiles"
BROKEN = sorted((PROFILES / "broken").glob("*.toml"))
VALID = sorted((PROFILES / "valid").glob("*.toml"))
SHIPPED_SCHEMA = Path(__file__).resolve().parents[2] / "agent" / "schemas" / "profile.schema.json"


def _expectations(path: Path) -> tuple[str, str, int]:
    text = path.read_bytes().decode("utf-8", "replace")
    key = re.search(r"^# expect-key: ?(.*)$", text, re.M).group(1).strip()
    expect = re.search(r"^# expect: (.*)$", text, re.M).group(1).strip()
    explicit = re.search(r"^# expect-line: (\d+)$", text, re.M)
    if explicit:  # a missing key has no line of its own: the top of the file
        return key, expect, int(explicit.group(1))
    marked = [i for i, line in enumerate(text.splitlines(), 1) if line.rstrip().endswith("# <--")]
    return key, expect, marked[0]


def test_corpus_is_large_enough() -> None:
    assert len(BROKEN) >= 30


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_profile_gives_one_clear_line(path: Path) -> None:
    key, expect, line = _expectations(path)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert "\n" not in message
    prefix = f"{path}:{line}: " + (f"{key}: " if key else "")
    assert message.startswith(prefix), message
    assert expect in message, message
    assert " — " in message, f"no fix in: {message}"


def test_literal_password_is_never_echoed() -> None:
    path = PROFILES / "broken" / "07_literal_password.toml"
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert "Sommar2026!" not in str(caught.value)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_examples_load_and_match_the_json_schema(path: Path) -> None:
    profile = load_profile(path)
    assert profile.customer.name
    raw = tomllib.loads(path.read_text("utf-8"))
    # TOML dates are not JSON: compare as the ISO strings an editor would see
    jsonschema.validate(json.loads(json.dumps(raw, default=str)), json_schema())


def test_shipped_schema_equals_the_spec() -> None:
    assert json.loads(SHIPPED_SCHEMA.read_text("utf-8")) == json_schema(), (
        "regenerate with: accessready schema profile > agent/schemas/profile.schema.json")


def test_json_schema_rejects_what_the_validator_rejects() -> None:
    broken = {"customer": {"name": "X"}, "access": {"methods": ["vnc"]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json_schema())


def test_typed_values() -> None:
    profile = load_profile(PROFILES / "valid" / "overrides.toml")
    assert str(profile.network.internal_resolvers[0]) == "127.0.0.1:5353"
    assert profile.network.internal_resolvers[1].host == "::1"
    assert profile.network.internal_resolvers[1].port == 5354
    assert str(profile.network.internal_subnets[1]) == "2001:db8::/32"
    assert profile.access.checkpoint.ports == {"topology": 10264, "ike": 10500}
    assert profile.access.checkpoint.tls.verify is False
    server = profile.servers[0]
    assert server.ssh.port == 10022 and server.rdp.port == 13389
    assert server.winrm.port == 15985 and server.winrm.transport == "basic"
    assert profile.account.password.source == "keyring"
    assert profile.checks.timeout == 2.5 and profile.checks.only == ("admin.*",)


def test_defaults() -> None:
    profile = load_profile(PROFILES / "valid" / "minimal.toml")
    assert profile.access.teamviewer.ports == (5938, 443, 80)
    assert profile.checks.timeout == 10 and profile.checks.concurrency == 32
    assert profile.account.min_password_days == 14
    full = load_profile(PROFILES / "valid" / "full.toml")
    assert full.servers[0].winrm.port == 5986


def test_line_index_handles_arrays_and_inline_tables() -> None:
    text = '[[servers]]\nname = "a"\n[[servers]]\nname = "b"\nwinrm = { port = 1 }\n'
    index = LineIndex(text)
    assert index.line_of("servers[1].name") == 4
    assert index.line_of("servers[1].winrm.port") == 5
    assert index.line_of("servers[0].missing") == 1


def test_missing_file_is_one_line() -> None:
    with pytest.raises(ProfileError, match=r"^nope\.toml: no such file — "):
        load_profile("nope.toml")


def test_parse_profile_from_text() -> None:
    profile = parse_profile('[customer]\nname = "Å"\n[access]\nmethods = ["teamviewer"]\n')
    assert profile.customer.name == "Å"


def test_env_value_is_never_echoed() -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(PROFILES / "broken" / "45_env_holds_a_password.toml")
    assert "Vinter" not in str(caught.value)


def test_bom_folder_and_huge_files(tmp_path: Path) -> None:
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + (PROFILES / "valid" / "minimal.toml").read_bytes())
    assert load_profile(bom).customer.name == "Liten skola"
    with pytest.raises(ProfileError, match="is a folder"):
        load_profile(tmp_path)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"# " + b"x" * (2 << 20))
    with pytest.raises(ProfileError, match="larger than"):
        load_profile(huge)
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ProfileError):
        load_profile(deep)


def test_line_index_follows_multi_line_arrays() -> None:
    text = ('contacts = [\n  { name = "A" },  # one\n  { name = "B",\n    email = "b" },\n'
            '  "scalar, with a comma",\n]\nafter = 1\n')
    index = LineIndex(text)
    assert index.line_of("contacts[0].name") == 2
    assert index.line_of("contacts[1]") == 3
    assert index.line_of("contacts[2]") == 5
    assert index.line_of("after") == 7
