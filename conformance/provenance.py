"""Provenance: what produced a report, so a verdict can be reproduced and audited later —
tool and suite versions, the sha256 of every vector file and of the card image, ATR, reader and
the run's start and end times. Every report starts with it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path


def tool_version() -> str:
    try:
        return metadata.version("sscard")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def image_identity(card, image_path: str | None) -> tuple[str, str]:
    """(where the card image came from, its sha256): the file's bytes, or the in-memory image."""
    if image_path and Path(image_path).is_file():
        return str(image_path), hashlib.sha256(Path(image_path).read_bytes()).hexdigest()
    canonical = json.dumps(card.image, sort_keys=True, default=str, ensure_ascii=False).encode()
    return image_path or f"builtin:{card.label}", hashlib.sha256(canonical).hexdigest()


def build(suite, card, transport, *, image_path: str | None = None, selection: str = "",
          timeout: float | None = None, started: str | None = None) -> dict:
    image, image_hash = image_identity(card, image_path)
    files = suite.hashes()
    return {
        "tool": {"name": "sscard", "version": tool_version(), "python": platform.python_version(),
                 "platform": platform.platform(terse=True)},
        "suite": {"version": suite.version, "git": _git_commit(files), "sha256": vectors_hash(files), "files": files,
                  "cases": len(suite.cases)},
        "card": {"label": card.label, "image": image, "image_sha256": image_hash,
                 "generation": card.generation, "transport": card.transport, "features": sorted(card.features),
                 "atr": _atr(transport)},
        "reader": getattr(transport, "name", ""),
        "protocol": getattr(transport, "protocol", ""),
        "selection": selection,
        "timeout": timeout,
        "started": started or now(),
        "ended": None,
    }


def changing(allowed, rebuilt: bool) -> dict:
    """Which cases that change the card the run allowed (runner.CHANGING), and why: an emulated
    card is rebuilt after each; a card in a reader takes only what `--destructive` /
    `--irreversible` allowed. `ran` is filled in when the run ends (changing_ran)."""
    how = ("the card is rebuilt after each (emulated)" if rebuilt
           else "allowed: " + " and ".join(f"--{k}" for k in sorted(allowed)) if allowed
           else "none allowed on this card (sscard run --destructive / --irreversible)")
    return {"allowed": sorted(allowed), "rebuilt": rebuilt, "how": how,
            "ran": {k: [] for k in sorted(allowed)}, "summary": how}


def changing_ran(record: dict, kinds_and_results) -> None:
    """Adds the ids of the changing cases that ran (any verdict but NOT_APPLICABLE) and a one-line summary."""
    for kind, result in kinds_and_results:
        if kind and result.verdict.name != "NOT_APPLICABLE":
            record["ran"].setdefault(kind, []).append(result.case_id)
    counts = ", ".join(f"{len(ids)} {kind}" for kind, ids in sorted(record["ran"].items()))
    record["summary"] = f"{counts or 'none'} ran; {record['how']}"


def vectors_hash(files: dict) -> str:
    """One sha256 over every vector file's name and sha256 (in name order): the suite's fingerprint,
    the same wherever the vectors are checked out."""
    listing = "".join(f"{name}\0{digest}\n" for name, digest in sorted((Path(p).name, d) for p, d in files.items()))
    return hashlib.sha256(listing.encode()).hexdigest()


def _atr(transport) -> str:
    try:
        return transport.atr.hex().upper()
    except Exception:  # a dead reader still gets a report
        return ""


def _git_commit(files: dict) -> str | None:
    """The commit of the repository holding the vectors, when there is one (else None)."""
    if not files:
        return None
    folder = Path(next(iter(files))).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
