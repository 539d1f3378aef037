"""Static modules of the generated ``rooms_api`` package, kept here as ordinary Python.

Nothing in these files depends on the schemas, so they are not templates: ruff and mypy check them
where they are, and the generator copies each one verbatim (behind the generated-file header) into
the output package. Their imports name ``rooms_api`` because that is where they run; the modules
that do depend on the schemas (``rooms_api._api``, ``models``, ``client`` ...) are rendered.
Nothing imports this package at run time.
"""
