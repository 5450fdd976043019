"""The import layers (pyproject's [tool.importlinter], checked by `make lint`) name a
layer for every module of ours: a module left out would be checked by nothing."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT


def _layers() -> tuple[list[str], list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = config["contracts"]
    named = [module.strip() for layer in contract["layers"] for module in layer.split(":")]
    return config["root_packages"], named


def test_every_module_has_a_layer() -> None:
    roots, named = _layers()
    unplaced = []
    for root in roots:
        for path in (ROOT / root).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            if any(layer.startswith(module + ".") for layer in named) or module in roots:
                continue  # a package whose modules have their own layers
            if not any(module == layer or module.startswith(layer + ".") for layer in named):
                unplaced.append(module)
    assert not unplaced, f"modules without a layer in pyproject's [tool.importlinter]: {unplaced}"
