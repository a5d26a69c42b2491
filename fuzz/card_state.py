"""A cheap digest of everything persistent on an emulated card, to prove rejected commands change nothing."""

from __future__ import annotations

import hashlib


def state_digest(card) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for path, ef in card.model.efs.items():
        h.update(path.encode())
        if ef.is_record:
            for rec in ef.records:
                h.update(bytes(rec))
                h.update(b"|")
        else:
            h.update(bytes(ef.data))
    for path, df in card.model.dfs.items():
        for number, key in sorted(df.keys.items()):
            h.update(f"{path}/{number}:{key.tries}:{key.attributes.hex()}".encode())
            for ver, value in sorted(key.versions.items()):
                h.update(bytes([ver]) + value)
        for ref, pin in sorted(df.pins.items()):
            h.update(f"{path}/pin{ref}:{pin.tries}:".encode() + pin.value)
    h.update(repr(sorted(card.blocks.items())).encode())
    return h.digest()
