"""The security review of docs/security.md, enforced."""

from __future__ import annotations

import hmac
import os
import stat

import pytest

from simulator import Card, crypto, schemes
from simulator.image import save_image
from simulator.samples import sample_image

SSSE = bytes.fromhex("00A404000F7378312E73682EC9E7BBE1B1A3D5CF")


def _secrets(card: Card) -> list[bytes]:
    """Every key value and PIN of the card, and the SM2 private keys of the PKI application."""
    out = []
    for df in card.model.dfs.values():
        out += [v for key in df.keys.values() for v in key.versions.values()]
        out += [pin.value for pin in df.pins.values() if len(pin.value) >= 3]
    for path in ("PKI/SS.CERT.ADF1/0013", "PKI/SS.CERT.ADF1/0015"):
        ef = card.model.efs.get(path)
        if ef is not None and any(ef.data):
            out.append(bytes(ef.data))
    return out


def _all_reads(card: Card) -> list[bytes]:
    """Read everything a terminal can reach, authenticated with every key the image has."""
    t = card.transmit
    responses = []
    image = card.export_image()
    algorithm = card.model.scheme
    for df_select in [SSSE] + [bytes.fromhex("00A4040006") + df.aid for df in card.model.dfs.values()
                               if df.aid and df.aid.startswith(bytes.fromhex("D156"))] + \
            [bytes.fromhex("00A404000C53532E434552542E41444631")]:
        responses.append(t(df_select))
        responses.append(t(bytes.fromhex("00C0000000")))
        df = card.current_df
        for ref, value in (image["keys"].get("SSSE", {}) if df.app == "SSSE" else {}).items():
            value = value["value"] if isinstance(value, dict) else value
            ch = t(bytes.fromhex("0084000008"))[:-2]
            c = schemes.external_cryptogram(algorithm, bytes.fromhex(value), ch)
            answer = t(bytes.fromhex(f"008200{ref}10") + c + ch)
            # the reads below are only "authenticated" if this worked: external keys must
            # answer 9000, the others (internal, MAC keys) 6985, never a wrong cryptogram
            role = card.model.dfs["SSSE"].keys[int(ref, 16)].role
            assert answer == (b"\x90\x00" if role == "external" else b"\x69\x85"), \
                f"{df.path} EXTERNAL AUTHENTICATE key {ref} ({role}): {answer.hex().upper()}"
            responses.append(answer)
        responses.append(t(bytes.fromhex("0020000003975310")))
        for ef in list(df.children.values()):
            if hasattr(ef, "data") or getattr(ef, "is_record", False):
                responses.append(t(bytes.fromhex("00A40000") + b"\x02" + ef.fid.to_bytes(2, "big")))
                for offset in range(0, 8192, 256):
                    responses.append(t(bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, 0x00])))
                for n in range(1, 12):
                    responses.append(t(bytes([0x00, 0xB2, n, 0x04, 0x00])))
                responses.append(t(bytes.fromhex("00C0000000")))
        responses.append(t(bytes.fromhex("80C9828000")))
    return responses


@pytest.mark.parametrize("gen", ["gen1", "gen2", "gen3"])
def test_no_command_returns_key_or_pin_material(gen):
    image = sample_image(gen)
    # PINs that occur nowhere in the sample data, so a match can only be a leak
    image["pins"] = {"SSSE": {"value": "975310"}}
    if gen == "gen3":
        image["pins"].update({"PKI/user": {"value": "864209"}, "PKI/admin": {"value": "75318642"}})
    card = Card.from_dict(image)
    card.power_on()
    secrets = _secrets(card)
    assert len(secrets) > 10
    responses = _all_reads(card)
    assert sum(len(r) > 2 for r in responses) > 20  # the reads did return data
    for response in responses:
        for secret in secrets:
            assert secret not in response, f"{secret.hex()} leaked in {response.hex()}"


def test_cryptograms_and_macs_are_compared_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(crypto.hmac, "compare_digest", spy)
    card = Card.builtin("gen2", random=lambda n: bytes(range(1, n + 1)))
    keys = card.export_image()["keys"]["SSSE"]
    t = card.transmit
    t(SSSE)
    ch = t(bytes.fromhex("0084000008"))[:-2]
    c = schemes.external_cryptogram("des-session", bytes.fromhex(keys["04"]["value"]), ch)
    assert t(bytes.fromhex("0082000410") + c + ch) == b"\x90\x00"
    assert (c, c) in calls or any(c in pair for pair in calls)
    calls.clear()
    assert t(bytes.fromhex("0020000003123456")) == b"\x90\x00"
    assert any(bytes.fromhex("123456") in pair for pair in calls)
    calls.clear()
    t(bytes.fromhex("0084000008"))
    assert t(bytes.fromhex("841E000004DEADBEEF")) == b"\x69\x88"
    assert any(bytes.fromhex("DEADBEEF") in pair for pair in calls)


def test_image_files_are_created_0600(tmp_path):
    path = tmp_path / "card.yaml"
    save_image(path, sample_image("gen2"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    card = Card.from_image(path)
    card.transmit(SSSE)
    card.transmit(bytes.fromhex("0020000003999999"))  # a counter change rewrites the image
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_vpcd_client_refuses_other_hosts_than_loopback():
    from benchmarks.echo import EchoCard
    from simulator.vpcd import VirtualReaderSlot
    with pytest.raises(ValueError):
        VirtualReaderSlot(EchoCard(), host="192.0.2.7")
    VirtualReaderSlot(EchoCard(), host="127.0.0.1")
