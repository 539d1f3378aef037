"""Real traffic: a checking proxy, a recorder and replay against another implementation.

Modules: ``operations`` (which API operation a method and path name), ``aliases`` (bearer tokens
turned into stable player names before anything is written), ``limits`` and ``checking`` (the
contract suite's per-exchange checks applied to proxied exchanges), ``lifecycle`` (per-room rules
that traffic can show), ``monitor`` (violations as they happen, totals for the reports),
``recording`` (NDJSON, gzip, rotation; reading it back), ``proxy`` (the ASGI forwarding app),
``serving`` (runs it on uvicorn until a signal), ``reports`` (text, JUnit, HTML), ``replay``
(re-sends a recording, maps ids, compares answers).
"""
