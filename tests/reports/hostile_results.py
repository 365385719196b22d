"""A corpus of hostile result files: the inputs of ``accessready report`` and ``merge``,
which come from customers. Each is a valid result with one thing broken, or something no
JSON writer of ours would produce; every one must end in one ``ResultFileError`` line
(the expected words given), never another exception.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from accessready.reports.json_report import to_dict

from .sample import full_run


def _base() -> dict[str, Any]:
    data = to_dict(full_run("en"))
    data["verdict_basis"] = {"methods": ["anyconnect", "teamviewer"], "gating_servers": []}
    return data


def _nest(depth: int) -> dict[str, Any]:
    inner: dict[str, Any] = {}
    outer = inner
    for _ in range(depth):
        inner["a"] = {}
        inner = inner["a"]
    return outer


def _first_check(data: dict[str, Any]) -> dict[str, Any]:
    return data["checks"][next(iter(data["checks"]))]


# name → (how to break a good document, words the one-line error must contain)
MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "check_title_number": (lambda d: _first_check(d).update(title=5), ".title should be"),
    "check_entry_string": (lambda d: d["checks"].update({"admin.agreement": "x"}),
                           "checks.admin.agreement should be an object"),
    "checks_list": (lambda d: d.update(checks=[1]), "checks should be an object"),
    "vantage_number": (lambda d: d.update(vantage=5), "vantage should be a string"),
    "vantage_list": (lambda d: d.update(vantage=["customer"]), "vantage should be a string"),
    "result_vantage_list": (lambda d: d["results"][0].update(vantage=[1]),
                            "results[0].vantage should be a string"),
    "undecided_string": (lambda d: d["requirements"][0].update(undecided="yes"),
                         "requirements[0].undecided should be true or false"),
    "decides_number": (lambda d: d["requirements"][0].update(undecided=True, decides=3),
                       "requirements[0].decides should be"),
    "check_vantages_string": (lambda d: _first_check(d).update(vantages="audit"),
                              ".vantages should be"),
    "host_list": (lambda d: d.update(host=[1, 2]), "host should be an object"),
    "host_value_object": (lambda d: d.update(host={"user": {"x": 1}}),
                          "host.user should be a string"),
    "summary_number": (lambda d: d["results"][0].update(summary=5),
                       "results[0].summary should be"),
    "summary_en_object": (lambda d: d["results"][0].update(summary={"en": {}, "sv": "x"}),
                          "results[0].summary.en should be a string"),
    "remediation_number": (lambda d: d["results"][1].update(remediation=7),
                           "results[1].remediation should be"),
    "details_list": (lambda d: d["results"][0].update(details=[1]),
                     "results[0].details should be an object"),
    "target_object": (lambda d: d["results"][0].update(target={"x": 1}),
                      "results[0].target should be a string"),
    "check_number": (lambda d: d["results"][0].update(check=5),
                     "results[0].check should be a string"),
    "method_number": (lambda d: d["results"][0].update(method=5),
                      "results[0].method should be a string"),
    "status_unknown": (lambda d: d["results"][0].update(status="great"),
                       "results[0].status should be one of"),
    "requirement_unknown": (lambda d: d["results"][0].update(requirement="vibes"),
                            "results[0].requirement should be one of"),
    "result_missing_target": (lambda d: d["results"][0].pop("target"), "missing key 'target'"),
    "results_object": (lambda d: d.update(results={"a": 1}), "results should be a list"),
    "result_string": (lambda d: d.update(results=["abc"]), "results[0] should be an object"),
    "duration_negative": (lambda d: d.update(duration_s=-5), "duration_s should be"),
    "duration_string": (lambda d: d.update(duration_s="1e999"), "duration_s should be"),
    "result_duration_bool": (lambda d: d["results"][0].update(duration_s=True),
                             "results[0].duration_s should be"),
    "started_number": (lambda d: d.update(started_at=5), "started_at should be a string"),
    "started_words": (lambda d: d.update(started_at="yesterday"), "ISO 8601"),
    "verdict_unknown": (lambda d: d.update(verdict="maybe"), "verdict should be one of"),
    "interrupted_string": (lambda d: d.update(interrupted="false"),
                           "interrupted should be true or false"),
    "lang_unknown": (lambda d: d.update(lang="xx"), "lang should be one of en, sv"),
    "tool_string": (lambda d: d.update(tool="x"), "tool should be an object"),
    "basis_string": (lambda d: d.update(verdict_basis="x"),
                     "verdict_basis should be an object"),
    "basis_methods_number": (lambda d: d.update(verdict_basis={"methods": 5}),
                             "verdict_basis.methods should be a list"),
    "merged_from_string": (lambda d: d.update(merged_from="ab"),
                           "merged_from should be a list"),
    "merged_from_numbers": (lambda d: d.update(merged_from=[1]),
                            "merged_from[0] should be an object"),
    "requirement_reason_number": (lambda d: d["requirements"][0].update(reason=5),
                                  "requirements[0].reason should be"),
    "requirement_blocking_string": (lambda d: d["requirements"][0].update(blocking="no"),
                                    "requirements[0].blocking should be true or false"),
    "customer_object": (lambda d: d.update(customer={"a": 1}),
                        "customer should be a string"),
    "customer_missing": (lambda d: d.pop("customer"), "missing key 'customer'"),
    "deep_details": (lambda d: d["results"][0].update(details=_nest(200)),
                     "nested deeper than"),
    "not_a_result": (lambda d: d.update(schema="something/else"), "not an accessready result"),
}

# Bytes that are not even a document of ours.
RAW: dict[str, tuple[bytes, str]] = {
    "deep_lists": (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    "deep_objects": (b'{"a":' * 200_000 + b"1" + b"}" * 200_000, "nested too deeply"),
    "nan": (b'{"schema": "accessready.result/1", "duration_s": NaN}', "NaN"),
    "infinity": (b'{"schema": "accessready.result/1", "duration_s": -Infinity}', "Infinity"),
    "huge_float": (b'{"schema": "accessready.result/1", "duration_s": 1e999}', "out of range"),
    "huge_integer": (b'{"schema": "accessready.result/1", "duration_s": ' + b"9" * 5000 + b"}",
                     "not valid JSON"),
    "not_utf8": (b'{"customer": "\xff\xfe"}', "not UTF-8"),
    "not_json": (b"<html>no</html>", "not valid JSON"),
    "a_list": (b"[1, 2, 3]", "not an accessready result"),
    "empty": (b"", "not valid JSON"),
}


def corpus() -> dict[str, tuple[bytes, str]]:
    """Every hostile file: name → (bytes, words its error must contain)."""
    out = dict(RAW)
    for name, (mutate, words) in MUTATIONS.items():
        data = copy.deepcopy(_base())
        mutate(data)
        out[name] = (json.dumps(data).encode("utf-8"), words)
    return out


def good() -> bytes:
    """The unbroken document the mutations start from."""
    return json.dumps(_base()).encode("utf-8")
