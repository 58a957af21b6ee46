"""What the import page needs besides widgets: uploads spooled to disk, header mappings remembered per source."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from etl.mapping import norm
from etl.store import scratch_file, sweep_scratch

CHUNK = 1 << 20


def spool(upload: BinaryIO, name: str) -> Path:
    """Copy an uploaded file to a private scratch file in 1 MB chunks (never a second copy in memory); the
    suffix is kept so the reader knows CSV from XLSX. Copies left by a stopped or killed server, and
    uploads abandoned for a day, are removed first (etl.store.sweep_scratch)."""
    sweep_scratch()
    path = scratch_file(Path(name).suffix.lower(), "upload")
    upload.seek(0)
    with open(path, "wb") as out:
        shutil.copyfileobj(upload, out, CHUNK)
    return path


def signature(kind: str, headers: list[str]) -> str:
    """Identifies a source's layout: the kind and its normalised headers, in any order."""
    text = kind + "\n" + "\n".join(sorted(norm(h) for h in headers))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def mappings_dir(db: str | os.PathLike) -> Path:
    """Saved mappings live next to the database (data/mappings/ by default; git-ignored)."""
    return Path(db).resolve().parent / "mappings"


def load_mapping(directory: Path, kind: str, headers: list[str]) -> dict | None:
    """The mapping saved for this layout ({"mapping": {header: target or ""}, "source": ..., "saved_at": ...})."""
    path = directory / f"{signature(kind, headers)}.json"
    if not path.exists():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    mapping = {h: t for h, t in saved.get("mapping", {}).items() if h in headers}
    return {**saved, "mapping": mapping} if mapping else None


def save_mapping(directory: Path, kind: str, headers: list[str], mapping: dict[str, str], source: str) -> Path:
    """Remember a confirmed mapping (every header, "" for ignored) for the next file with these headers."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{signature(kind, headers)}.json"
    body = {"kind": kind, "headers": headers, "mapping": {h: mapping.get(h, "") for h in headers},
            "source": source, "saved_at": datetime.now().isoformat(timespec="seconds")}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path
