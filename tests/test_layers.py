"""The package's layers (pyproject.toml's import-linter contracts): arrows run one way, no cycles between
layers, model families independent; checked on the real tree, and shown to catch a violation. A missing
import-linter fails rather than skips."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("import-linter is not installed: it is in requirements.txt (sh scripts/test.sh installs it)")
    return subprocess.run([exe, "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(cwd), "PATH": str(Path(exe).parent)})


def test_the_layers_contract_holds():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("module, imported", [
    ("nn/conv.py", "facegen.train.trainer"),  # a network building block reaching up to the trainer
    ("analysis/latent/space.py", "facegen.analysis.judges.pixel"),  # latent codes needing a judge
    ("analysis/judges/identity.py", "facegen.analysis.editing.residual"),  # a judge needing an editing method
])
def test_the_contract_catches_an_upward_import(tmp_path, module, imported):
    """A copy of the package where a lower module imports a higher one must break the contract, between the
    package's layers and between analysis's sub-packages alike."""
    shutil.copytree(ROOT / "facegen", tmp_path / "facegen", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    planted = tmp_path / "facegen" / module
    planted.write_text(planted.read_text() + f"\nimport {imported}  # noqa: E402,F401\n")
    proc = lint_imports(tmp_path)
    importer = "facegen." + module.removesuffix(".py").replace("/", ".")
    assert proc.returncode != 0 and f"{importer} -> {imported}" in proc.stdout, proc.stdout[-2000:]
