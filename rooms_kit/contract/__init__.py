"""The contract suite: checks any implementation of the rooms API over HTTP (or in process).

    from rooms_kit.contract import Target, run_suite
    results = run_suite(Target.url("http://127.0.0.1:8080"), ["token-a", "token-b"])
    results.ok, results.failures

Modules: ``failures`` (the typed failure), ``http`` (targets, exchanges, curl), ``secrets`` (no
output shows a token: ``$ROOMS_KIT_TOKEN_N`` in commands, ``<token N>`` elsewhere), ``openapi`` (the
generated document as data), ``schema_errors`` (a failing body's violations, described
in bounded time), ``checks`` (named response checks), ``negative`` and ``scenarios``
(deterministic behaviour), ``fuzz`` (Schemathesis-generated requests), ``stateful`` (chains
through the OpenAPI links), ``context`` (what units share), ``runner`` (plans and runs units),
``results``, ``profiles``, ``report`` (text, JUnit XML, HTML), ``reference`` (starts the
reference server for ``make contract``).
"""

from rooms_kit.contract.failures import CannotRun, ContractFailure
from rooms_kit.contract.http import Exchange, Target
from rooms_kit.contract.results import FailureRecord, Results
from rooms_kit.contract.runner import DEFAULT_SEED, run_suite

__all__ = [
    "DEFAULT_SEED",
    "CannotRun",
    "ContractFailure",
    "Exchange",
    "FailureRecord",
    "Results",
    "Target",
    "run_suite",
]
