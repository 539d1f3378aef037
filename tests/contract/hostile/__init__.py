"""Hostile servers: real sockets that break HTTP, sizes and time, each with the check that must
name it (the catalogue is in ``behaviours.py``, served by ``server.py``)."""
