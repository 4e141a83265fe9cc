"""Stage ``readme``: rewrite README.md's numbers block from the result files."""

from __future__ import annotations

from pathlib import Path

from foxdog.config import Params


def run(params: Params, readme: Path = Path("README.md")) -> bool:
    """Refresh the block; return whether the file changed."""
    from foxdog.site.readme import update_readme

    changed = update_readme(params, Path(readme))
    print(f"{readme}: numbers {'updated' if changed else 'already current'}")
    return changed
