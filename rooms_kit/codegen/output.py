"""Where ``rooms-kit generate`` writes: the checkout's ``generated/``, or a folder the user names.

Run from a source checkout of the kit (a folder holding ``pyproject.toml``, ``schemas/`` and
``generated/rooms_api`` next to ``rooms_kit/``), the default output is that ``generated/``. Run from
an installed package there is no default: the user must pass ``--output``. No output folder may lie
inside an installation folder of Python packages (site-packages and friends), so the generator never
writes a second ``rooms_api`` beside the installed one.
"""

from __future__ import annotations

import site
import sysconfig
from pathlib import Path

from rooms_kit.errors import KitError

CHECKOUT_ROOT = Path(__file__).resolve().parent.parent.parent
CHECKOUT_OUTPUT_DIR = CHECKOUT_ROOT / "generated"


class OutputError(KitError):
    """The output folder is missing or not a place the generator may write to."""


def in_checkout() -> bool:
    """Whether the running kit is a source checkout (or an editable install of one)."""
    return (
        (CHECKOUT_ROOT / "pyproject.toml").is_file()
        and (CHECKOUT_ROOT / "schemas" / "operations.json").is_file()
        and (CHECKOUT_OUTPUT_DIR / "rooms_api").is_dir()
    )


def package_folders() -> list[Path]:
    """Folders that hold installed Python packages: writing there would shadow or clobber them."""
    found: set[str] = set()
    for key in ("purelib", "platlib"):
        found.add(sysconfig.get_path(key))
    if hasattr(site, "getsitepackages"):
        found.update(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        found.add(site.getusersitepackages())
    folders = {Path(name).resolve() for name in found if name}
    # the folder this kit was imported from (covers ``pip install --target``)
    kit_parent = Path(__file__).resolve().parent.parent.parent
    if not in_checkout():
        folders.add(kit_parent)
    return sorted(folders)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def resolve_output(requested: Path | None) -> Path:
    """The folder to write or check, or ``OutputError`` saying why there is none."""
    if requested is None:
        if in_checkout():
            return CHECKOUT_OUTPUT_DIR
        raise OutputError(
            "--output DIR is required: this rooms-kit runs from an installed package, not from a "
            "checkout of the kit, so there is no generated/ folder to refresh. The rooms_api "
            "package is written to DIR/rooms_api (never inside site-packages)."
        )
    target = requested.expanduser().resolve()
    existing = next(p for p in (target, *target.parents) if p.exists())
    if not existing.is_dir():
        raise OutputError(f"--output {requested}: {existing} is a file, not a folder")
    for folder in package_folders():
        if _inside(target, folder):
            raise OutputError(
                f"--output {requested}: refusing to write inside {folder}, where installed Python "
                "packages live; choose a folder of your project instead"
            )
    return target


def regenerate_hint(requested: Path | None) -> str:
    """How the user brings a stale output folder up to date, worded for where they are."""
    if requested is None and in_checkout():
        return "run `make generate` (or `rooms-kit generate`) and commit the result"
    where = requested if requested is not None else "DIR"
    return f"run `rooms-kit generate --output {where}` to bring it up to date"
