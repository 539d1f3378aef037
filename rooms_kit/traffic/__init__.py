"""Real traffic: a checking proxy, a recorder and replay against another implementation.

Modules: ``operations`` (which API operation a method and path name), ``aliases`` (bearer tokens
turned into stable player names before anything is written), ``limits`` and ``checking`` (the
contract suite's per-exchange checks applied to proxied exchanges), ``lifecycle`` (per-room rules
that traffic can show), ``paging`` (walks through the pages of ``list``), ``monitor`` (violations
as they happen, totals for the reports), ``recording`` (NDJSON, gzip, rotation; reading it back),
``front`` (the connections from clients), ``proxy`` (one exchange forwarded and judged),
``upstream`` (the connections to the server), ``serving`` (runs it until a signal), ``reports``
(text, JUnit, HTML), ``replay`` (re-sends a recording, maps ids, compares answers).
"""
