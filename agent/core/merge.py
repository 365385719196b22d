"""Merging results of one customer seen from several places into one run.

A customer's IT admin runs a self-check from inside their network (vantage ``customer``);
the supplier's engineer runs from outside through the access method (``engineer``). Each
view proves things the other cannot. :func:`merge_runs` combines them, per check and
target:

* from each vantage, the freshest result that actually ran (a skip only when that vantage
  never ran it);
* where the vantages agree (same statuses) one copy is kept, labelled with every vantage
  that saw it; where they disagree every view is kept, each labelled with its vantage;
* the verdict is decided again with :func:`accessready.agent.core.verdict.decide`. Where views
  disagree on the requirements about the supplier getting in (``workstation``, ``access``,
  ``account``, ``remote``), the outside view (vantage ``engineer`` or ``audit``; inside
  is ``customer``, see :func:`~accessready.agent.core.model.vantage_of`) decides when there is
  one: a gateway that answers inside the customer's network proves nothing about the
  supplier reaching it, and the self-check runs on the admin's machine, not the
  engineer's. For ``admin``, ``adfs`` and ``servers`` every view counts (the worse one
  shows). The report still shows all views.

``decide`` needs the offered access methods and which servers are AD FS/WAP. Results
written since self-checks exist carry that (``verdict_basis``); for older ones the caller
passes the profile.

Pure: runs in, run out; nothing here reads files or prints.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from accessready import __version__
from accessready.agent.core.model import Requirement, Result, Run, Status, Vantage, vantage_of
from accessready.agent.core.profile_types import Access, Customer, Profile, Server
from accessready.agent.core.verdict import decide

SUPPLIER_SIDE = frozenset({Requirement.WORKSTATION, Requirement.ACCESS, Requirement.ACCOUNT,
                           Requirement.REMOTE})
"""Requirements about the supplier getting in: the outside view decides a disagreement."""

Key = tuple[str, str]


class MergeError(Exception):
    """Results that should not be merged; the text is one line saying what and how to fix."""


def _when(iso: str) -> dt.datetime:
    try:
        stamp = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _same_customer(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _basis_key(basis: dict[str, list[str]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (tuple(sorted(basis.get("methods", []))),
            tuple(sorted(basis.get("gating_servers", []))))


def check_compatible(runs: Sequence[Run], names: Sequence[str],
                     profile: Profile | None = None) -> None:
    """Raise :class:`MergeError` unless every run is of the same customer and profile.

    "Same profile" is judged by what the verdict rests on (offered access methods and the
    AD FS/WAP servers), not the file's path, which differs between the customer's machine
    and the engineer's.
    """
    first, first_name = runs[0], names[0]
    for run, name in zip(runs[1:], names[1:], strict=True):
        if not _same_customer(run.customer, first.customer):
            raise MergeError(f"{name}: customer {run.customer!r} is not {first_name}'s "
                             f"{first.customer!r} — merge results of one customer, or add "
                             "--force")
        if run.basis and first.basis and _basis_key(run.basis) != _basis_key(first.basis):
            raise MergeError(f"{name}: checked with a different profile than {first_name} "
                             f"(methods {', '.join(_basis_key(run.basis)[0]) or '-'} vs "
                             f"{', '.join(_basis_key(first.basis)[0]) or '-'}; AD FS/WAP "
                             f"servers {', '.join(_basis_key(run.basis)[1]) or '-'} vs "
                             f"{', '.join(_basis_key(first.basis)[1]) or '-'}) — run both "
                             "with the same profile, or add --force")
    if profile is not None and not _same_customer(profile.customer.name, first.customer):
        raise MergeError(f"{profile.path}: profile of {profile.customer.name!r}, but the "
                         f"results are of {first.customer!r} — pass that customer's "
                         "profile, or add --force")


def _basis_profile(runs: Sequence[Run], names: Sequence[str], customer: str) -> Profile:
    """A profile carrying only what decide() reads, rebuilt from the runs' saved basis."""
    with_basis = [r for r in runs if r.basis]
    if not with_basis:
        raise MergeError(f"{', '.join(names)}: the results do not say which access methods "
                         "and AD FS/WAP servers the profile has (written by an older "
                         "accessready) — pass --profile PROFILE")
    methods: dict[str, None] = {}
    gating: dict[str, None] = {}
    for run in with_basis:  # with --force the bases may differ: the union is the fair answer
        methods.update(dict.fromkeys(run.basis.get("methods", [])))
        gating.update(dict.fromkeys(run.basis.get("gating_servers", [])))
    return basis_profile({"methods": list(methods), "gating_servers": list(gating)}, customer)


def basis_profile(basis: Mapping[str, Sequence[str]], customer: str) -> Profile:
    """A profile carrying only what decide() reads, from a saved ``verdict_basis``: the
    offered access methods and the AD FS/WAP servers (whose reachability gates)."""
    return Profile(path="", customer=Customer(name=customer),
                   access=Access(methods=tuple(basis.get("methods", ()))),
                   servers=tuple(Server(name=n, address=n, roles=("adfs",))
                                 for n in basis.get("gating_servers", ())))


def redecide(run: Run) -> Run:
    """``run`` with its verdict and requirement outcomes decided again, by
    :func:`~accessready.agent.core.verdict.decide`, from its own results and saved basis.

    For a result file from elsewhere (a customer's self-check): the verdict shown is then
    the one its results give, whatever the file says. Unchanged when the run has no basis
    (written before accessready saved one; pass the profile to ``merge`` instead) or is
    itself a merge (its verdict weighed the vantages against each other: see
    :func:`merge_runs`).
    """
    if not run.basis or run.sources:
        return run
    verdict, outcomes = decide(run.results, basis_profile(run.basis, run.customer),
                               run.interrupted)
    return dataclasses.replace(run, verdict=verdict, requirements=outcomes)


def _inside_labels(runs: Sequence[Run]) -> set[str]:
    """Vantage labels that look from inside the customer's network (kind ``customer``:
    self-checks, and runs labelled ``customer``). The engineer's and the audit host's
    views are outside ones."""
    inside = set()
    for run in runs:
        views = [(s.get("vantage", ""), s.get("self_check")) for s in run.sources] or \
            [(run.vantage, run.self_check)]
        for label, self_check in views:
            if vantage_of(str(label), bool(self_check)) is Vantage.CUSTOMER:
                inside.add(str(label))
    return inside


def _label_order(labels: Sequence[str], inside: set[str]) -> list[str]:
    """Outside views first (they decide the supplier-side requirements), then by name."""
    return sorted(set(labels), key=lambda label: (label in inside, label))


def _source(run: Run, name: str) -> dict[str, Any]:
    return {"vantage": run.vantage, "self_check": run.self_check,
            "started_at": run.started_at, "finished_at": run.finished_at,
            "verdict": run.verdict.value, "interrupted": run.interrupted,
            "host": dict(run.host), "file": name}


def _joined(values: Sequence[str]) -> str:
    return ", ".join(dict.fromkeys(v for v in values if v))


def merge_runs(runs: Sequence[Run], names: Sequence[str] | None = None, *,
               profile: Profile | None = None, force: bool = False) -> Run:
    """One run from ``runs`` of the same customer (see the module docstring for the rules).

    ``names`` name the runs in errors and in ``sources`` (e.g. their file names).
    ``profile``, when given, supplies what the verdict needs instead of the saved basis.
    Raises :class:`MergeError` for results of different customers or profiles unless
    ``force``, and when no verdict basis is available.
    """
    if not runs:
        raise MergeError("nothing to merge — pass two or more result files")
    names = list(names) if names is not None else [f"result {i + 1}" for i in range(len(runs))]
    if not force:
        check_compatible(runs, names, profile)
    order = sorted(range(len(runs)), key=lambda i: _when(runs[i].finished_at), reverse=True)
    newest = runs[order[0]]
    inside = _inside_labels(runs)

    # key -> vantage -> (results from the freshest run of that vantage that ran the key)
    chosen: dict[Key, dict[str, list[Result]]] = defaultdict(dict)
    ran: dict[Key, set[str]] = defaultdict(set)  # vantages whose chosen results are not skips
    keys: dict[Key, None] = {}
    for i in order:  # newest first: the first run to fill a slot is the freshest
        grouped: dict[tuple[Key, str], list[Result]] = defaultdict(list)
        for r in runs[i].results:
            key = (r.check_id, r.target)
            keys.setdefault(key)
            grouped[(key, r.vantage or runs[i].vantage)].append(r)
        for (key, label), results in grouped.items():
            real = any(r.status is not Status.SKIP for r in results)
            if label in chosen[key] and (label in ran[key] or not real):
                continue  # a fresher run of this vantage already decided this slot
            chosen[key][label] = results
            if real:
                ran[key].add(label)

    merged: list[Result] = []
    for_verdict: list[Result] = []
    for key in keys:
        views = chosen[key]
        deciding = _label_order(list(ran[key]), inside)
        if not deciding:  # skipped everywhere: the freshest skip, seen from all
            label = _label_order(list(views), inside)[0]
            kept = [dataclasses.replace(r, vantage=_joined(_label_order(list(views), inside)))
                    for r in views[label]]
            merged += kept
            for_verdict += kept
            continue
        statuses = {label: Counter(r.status for r in views[label]) for label in deciding}
        if len({tuple(sorted(c.items())) for c in statuses.values()}) == 1:
            kept = [dataclasses.replace(r, vantage=", ".join(deciding))
                    for r in views[deciding[0]]]
            merged += kept
            for_verdict += kept
            continue
        outside = [label for label in deciding if label not in inside]
        for label in deciding:
            kept = [dataclasses.replace(r, vantage=label) for r in views[label]]
            merged += kept
            supplier_side = kept[0].requirement in SUPPLIER_SIDE
            if not (supplier_side and outside and label in inside):
                for_verdict += kept

    customer = profile.customer.name if profile is not None else newest.customer
    basis_profile = profile if profile is not None else _basis_profile(runs, names, customer)
    interrupted = all(r.interrupted for r in runs)
    verdict, outcomes = decide(for_verdict, basis_profile, interrupted)
    catalogue: dict[str, dict[str, Any]] = {}
    for i in reversed(order):  # oldest first, so the newest entry of a check wins
        catalogue.update(runs[i].catalogue)
    labels = _label_order([s for r in runs for s in r.vantage.split("+")], inside)
    return Run(
        customer=customer,
        profile_path=newest.profile_path,
        started_at=min((r.started_at for r in runs), key=_when),
        finished_at=newest.finished_at,
        duration_s=max(r.duration_s for r in runs),
        results=tuple(merged),
        verdict=verdict,
        requirements=outcomes,
        host={field: _joined([r.host.get(field, "") for r in runs])
              for field in ("hostname", "user", "platform") if any(r.host.get(field)
                                                                  for r in runs)},
        interrupted=interrupted,
        lang=newest.lang,
        tool_version=__version__,
        catalogue=catalogue,
        vantage="+".join(labels),
        self_check=all(r.self_check for r in runs),
        basis={"methods": list(basis_profile.access.methods),
               "gating_servers": [s.name for s in basis_profile.servers
                                  if {"adfs", "wap"} & set(s.roles)]},
        sources=tuple(_source(runs[i], names[i]) for i in order),
    )


def display_run(run: Run) -> Run:
    """``run`` with each disagreeing view's target suffixed ``@vantage``.

    For outputs that show one line per target and have no place for the vantage (terminal
    table, JUnit, Prometheus): two results for ``adfs01`` would otherwise read the same.
    """
    per_key: dict[Key, set[str]] = defaultdict(set)
    for r in run.results:
        if r.vantage:
            per_key[(r.check_id, r.target)].add(r.vantage)
    if all(len(v) < 2 for v in per_key.values()):
        return run
    results = tuple(
        dataclasses.replace(r, target=f"{r.target} @{r.vantage}")
        if r.vantage and len(per_key[(r.check_id, r.target)]) > 1 else r
        for r in run.results)
    return dataclasses.replace(run, results=results)
