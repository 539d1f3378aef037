"""The pydantic models, printed by datamodel-code-generator from the bundled schema.

The bundle (``rooms_kit.codegen.emit.bundle``) already carries every decision: class names, which enum is
which class, how int32/int64 travel. The tool is run as a subprocess of the current interpreter,
with a fixed set of options, in a temporary folder, so its output depends only on the bundle.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from rooms_kit.codegen.emit.bundle import aliases, as_openapi_components
from rooms_kit.codegen.model import Api
from rooms_kit.errors import KitError

OPTIONS = (
    "--input-file-type", "openapi",
    "--output-model-type", "pydantic_v2.BaseModel",
    "--target-python-version", "3.11",
    "--target-pydantic-version", "2.11",
    "--use-annotated",
    "--field-constraints",
    "--use-standard-collections",
    "--use-union-operator",
    "--extra-fields", "allow",
    "--allow-population-by-field-name",
    "--use-double-quotes",
    "--disable-timestamp",
    "--use-subclass-enum",
    "--use-field-description",
    "--use-single-line-docstring",
    "--formatters", "builtin",
)  # fmt: skip


class ModelGenerationError(KitError):
    """datamodel-code-generator failed on the bundled schema."""


def render_models(api: Api, header: str) -> str:
    """Python source of the models module (not yet formatted by the pinned ruff)."""
    with tempfile.TemporaryDirectory(prefix="rooms-models-") as tmp:
        folder = Path(tmp)
        (folder / "components.json").write_text(
            json.dumps(as_openapi_components(api), indent=2), encoding="utf-8"
        )
        (folder / "aliases.json").write_text(json.dumps(aliases(api)), encoding="utf-8")
        (folder / "header.txt").write_text(header, encoding="utf-8")
        done = subprocess.run(
            [
                sys.executable, "-m", "datamodel_code_generator",
                "--input", str(folder / "components.json"),
                "--output", str(folder / "models.py"),
                "--aliases", str(folder / "aliases.json"),
                "--custom-file-header-path", str(folder / "header.txt"),
                *OPTIONS,
            ],
            capture_output=True, text=True, check=False, cwd=folder,
        )  # fmt: skip
        if done.returncode != 0:
            raise ModelGenerationError(
                f"datamodel-code-generator failed: {done.stderr.strip()[-2000:]}"
            )
        return (folder / "models.py").read_text(encoding="utf-8")
