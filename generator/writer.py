"""Write an in-memory file system {relative path: text} to disk."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath


class OutputExistsError(FileExistsError):
    """The output folder exists and is not empty (and --force was not given)."""


def write_files(files: dict[str, str], out_dir: Path, force: bool = False) -> list[Path]:
    """Write ``files`` below ``out_dir``; refuse a non-empty ``out_dir`` unless ``force`` (then it is cleared)."""
    out_dir = Path(out_dir)
    for relative in files:
        pure = PurePosixPath(relative)
        if pure.is_absolute() or ".." in pure.parts:
            raise ValueError(f"refusing to write outside the output folder: {relative!r}")
    if out_dir.exists():
        if not out_dir.is_dir():
            raise OutputExistsError(f"output path {out_dir} exists and is not a folder")
        if any(out_dir.iterdir()):
            if not force:
                raise OutputExistsError(
                    f"output folder {out_dir} exists and is not empty; use --force (force=True) to overwrite it"
                )
            shutil.rmtree(out_dir)
    written = []
    for relative, text in files.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
