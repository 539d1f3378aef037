"""Argument types shared by sub-commands: paths checked while parsing, so that a command never
runs for minutes (a contract run, a proxy session, a replay) only to fail when it writes."""

from __future__ import annotations

import argparse
from pathlib import Path


def _first_existing(path: Path) -> Path | None:
    return next((p for p in (path, *path.parents) if p.exists()), None)


def folder_to_write(text: str) -> Path:
    """A folder that exists or can be created: neither it nor a parent is a file."""
    path = Path(text)
    existing = _first_existing(path)
    if existing is not None and not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is a file, not a folder")
    return path


def file_to_write(text: str) -> Path:
    """A file that may be created or replaced: not a folder, and no parent is a file."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder, not a file")
    existing = _first_existing(path.parent)
    if existing is not None and not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is a file, not a folder")
    return path
