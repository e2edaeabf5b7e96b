"""Packaging that pyproject.toml cannot say: the repository's top-level `targets/`, `scenarios/` and
`locustfiles/` ship inside the brownout package as `brownout._data.<folder>` (package data, every *.toml
and *.md included), so a non-editable install is the whole tool and no generic top-level package such as
`targets` lands in site-packages. brownout/scenario/shipped.py finds them there, or at the top of a checkout.
"""

from setuptools import find_namespace_packages, find_packages, setup

SHIPPED = ("targets", "scenarios", "locustfiles")
DATA_FILES = ["*.toml", "*.md", "*.txt", "*.json", "*.sql", "*.conf"]


def _shipped() -> dict[str, str]:
    """brownout._data.<package> -> its folder in the repository, for every folder under SHIPPED."""
    include = [pattern for top in SHIPPED for pattern in (top, f"{top}.*")]
    found = find_namespace_packages(include=include, exclude=["*.__pycache__", "*.__pycache__.*"])
    return {f"brownout._data.{name}": name.replace(".", "/") for name in found}


shipped = _shipped()
setup(
    packages=[*find_packages(include=["brownout", "brownout.*"]), *shipped],
    package_dir=shipped,
    package_data={name: DATA_FILES for name in shipped},
)
