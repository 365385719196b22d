"""A corpus of hostile strings, and a run that carries them in every field a report prints.

Each active payload, if it ever ran or loaded, would request ``{base}/leak-N`` from the
tests' loopback server or mark the DOM (``document.title``, a ``data-pwned`` attribute),
so "nothing executed, nothing was fetched" is observable, not assumed.
"""

from __future__ import annotations

from accessready.agent.core.model import (
    Requirement,
    RequirementOutcome,
    Result,
    Run,
    Status,
    Text,
    Verdict,
)

LONG_WORD = "A" * 120_000  # no break opportunity: must wrap, not widen the page


def payloads(base: str) -> list[str]:
    """Hostile strings; ``base`` is the recording server (``http://127.0.0.1:PORT``)."""
    leak = f"{base}/leak"
    js = f"fetch('{leak}-js');document.title='PWNED';document.body.dataset.pwned=1"
    return [
        f"<script>{js}</script>",
        f"<SCRIPT SRC={leak}-1.js></SCRIPT>",
        f"\"><script>{js}</script>",
        f"'><img src=x onerror=\"{js}\">",
        f"<img src=\"{leak}-2.png\">",
        f"<svg onload=\"{js}\"><circle r=9 /></svg>",
        f"<iframe src=\"{leak}-3\"></iframe>",
        f"<a href=\"javascript:{js}\">click me</a>",
        f"javascript:{js}",
        f"<body onload=\"{js}\">",
        f"<input autofocus onfocus=\"{js}\">",
        f"<details open ontoggle=\"{js}\">",
        f"<link rel=stylesheet href=\"{leak}-4.css\">",
        f"<meta http-equiv=\"refresh\" content=\"0;url={leak}-5\">",
        f"<base href=\"{leak}-6/\">",
        f"<form action=\"{leak}-7\"><button>go</button></form>",
        f"<object data=\"{leak}-8\"></object><embed src=\"{leak}-9\">",
        f"<video poster=\"{leak}-10.png\"></video>",
        f"</style><style>body{{background:url({leak}-11.png)}}</style>",
        f"</style><script>{js}</script>",
        f"</pre></details><script>{js}</script>",
        f"</title><script>{js}</script>",
        f"</textarea><script>{js}</script>",
        f"<style>@import url({leak}-12.css);*{{display:none}}</style>",
        f"x;background:url({leak}-13.png);",
        f"\" style=\"background:url({leak}-14.png)\" x=\"",
        f"' style='background:url({leak}-15.png)' x='",
        f"<!--<script>{js}</script>-->",
        f"<![CDATA[<script>{js}</script>]]>",
        "{{ 7*7 }}{% raw %}{# comment #}",
        "${7*7} #{7*7} <%= 7*7 %>",
        "\x00\x01\x1b[31mred\x1b[0m\x7f\x9b",
        "\u202eevil\u202c \u2066isolated\u2069",
        "\ud800\udfff lone \udcff\udcfe surrogates",
        "\ufffe\uffff noncharacters \ufffd",
        "line\nbreak\rcarriage\u2028separator",
        LONG_WORD,
        "🙂 ÅÄÖ åäö ß 中文 עברית",
    ]


def hostile_run(base: str) -> Run:
    """A run whose every printed field holds hostile text."""
    corpus = payloads(base)
    results = []
    statuses = [Status.FAIL, Status.WARN, Status.ERROR, Status.PASS, Status.SKIP]
    requirements = list(Requirement)
    for i, text in enumerate(corpus):
        other = corpus[(i + 1) % len(corpus)]
        results.append(Result(
            check_id=f"hostile.{i}" if i % 3 else text[:200],
            target=text,
            status=statuses[i % len(statuses)],
            summary=Text(en=text, sv=other),
            details={"sent": text, text[:100]: other, "nested": {"deep": [text, {"x": other}]},
                     "bytes_as_text": text.encode("utf-8", "surrogatepass").decode("latin-1")},
            remediation=Text(en=other, sv=text),
            duration_s=0.01 * i,
            requirement=requirements[i % len(requirements)],
            method=text[:50],
        ))
    hostile = corpus[0]
    return Run(
        customer=hostile,
        profile_path=f"/tmp/{corpus[3]}.toml",
        started_at=corpus[5],
        finished_at=corpus[6],
        duration_s=1.0,
        results=tuple(results),
        verdict=Verdict.NOT_READY,
        requirements=tuple(
            RequirementOutcome(req, Status.FAIL, i % 2 == 0,
                               Text(en=corpus[i], sv=corpus[-i - 1]))
            for i, req in enumerate(Requirement)),
        host={"hostname": corpus[1], "user": corpus[2], "platform": corpus[4]},
        lang="en",
        tool_version=corpus[7],
        catalogue={r.check_id: {"title": {"en": corpus[i], "sv": corpus[-i - 1]},
                                "description": {"en": corpus[-i - 1], "sv": corpus[i]}}
                   for i, r in enumerate(results)},
    )
