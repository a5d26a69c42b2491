"""Cards made from images written by hand to the design.md format (issue acceptance 2-4)."""

from __future__ import annotations

from pathlib import Path

import itertools

import pytest

from simulator import Card, crypto, schemes
from simulator.image import ImageError

SSSE_NAME = "7378312E73682EC9E7BBE1B1A3D5CF"
K04 = {2: "DB5B674DF79F759CC167148EAD5C8BFF", 3: "8983C37D0C7D89265B248077201F634B"}
RPK = {2: "EDC34BB9BD34A71F4A9E609A3DD4835D", 3: "0F0F42AE833B86E0493F1C21222B2814"}
PUK = {2: "4A0AB7363FA8F45A09B21E63D38AEC16", 3: "D38F3955D12FC434EBE12652A967B029"}
RK = "CD0CAED78710085E8A861B796F637D61"

EF05 = {"01": "440300D1560000055A3C1E0A00000000", "02": "3", "03": None, "04": "440300000000000012345678",
        "05": "20200101", "06": "20300101", "07": "B12345678"}
EF06 = {"08": "11010519491231002X", "09": "李四", "0A": "2", "0B": "03", "0C": "110105", "0D": "19491231"}


def write_image(tmp_path, gen: int, transport: str = "t0", pad: str = "00", atr: str | None = None,
                tries: int = 3) -> Path:
    ef05 = {**EF05, "03": f"{gen}.00"}
    lines = [f"profile: gen{gen}", "switches:", f"  transport: {transport}", f'  an_pad: "{pad}"']
    if atr:
        lines.append(f"  atr: {atr}")
    lines += ["data:",
              "  SSSE/EF05: {" + ", ".join(f'"{k}": "{v}"' for k, v in ef05.items()) + "}",
              "  SSSE/EF06: {" + ", ".join(f'"{k}": "{v}"' for k, v in EF06.items()) + "}",
              "keys:",
              f'  SSSE: {{"04": "{K04.get(gen, K04[2])}", "06": "{PUK.get(gen, PUK[2])}", '
              f'"07": "{RPK.get(gen, RPK[2])}", "0A": "{RK}"}}',
              f'pins: {{SSSE: {{value: "123456", tries: {tries}}}}}']
    text = "\n".join(lines) + "\n"
    path = tmp_path / f"card-g{gen}-{transport}-{pad}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def send(card: Card, hex_: str) -> tuple[bytes, int]:
    r = card.transmit(bytes.fromhex(hex_.replace(" ", "")))
    return r[:-2], int.from_bytes(r[-2:], "big")


def value_bytes(fmt_kind: str, value: str, n: int, pad: int) -> bytes:
    if fmt_kind == "an":
        raw = value.encode("gbk")
        return raw + bytes([pad]) * (n - len(raw))
    if fmt_kind == "cn":
        return bytes.fromhex(value + "F" * (2 * n - len(value)))
    return bytes.fromhex(value)


def authenticate(card: Card, gen: int, ref: str, key: str) -> None:
    challenge, sw = send(card, "0084000008")
    assert sw == 0x9000
    scheme = "sm4-session" if gen == 3 else "des-session"
    c = schemes.external_cryptogram(scheme, bytes.fromhex(key), challenge)
    _, sw = send(card, f"008200{ref}10{c.hex()}{challenge.hex()}")
    assert sw == 0x9000


@pytest.mark.parametrize("gen,transport,pad,explicit_atr",
                         list(itertools.product([1, 2, 3], ["t0", "t1"], ["00", "20"], [False, True])))
def test_items_read_back_in_all_four_forms(tmp_path, gen, transport, pad, explicit_atr):
    atr = "3B6800000073C84013009000" if explicit_atr else None
    card = Card.from_image(write_image(tmp_path, gen, transport, pad, atr))
    got_atr = card.power_on()
    if explicit_atr:
        assert got_atr.hex().upper() == atr
    else:
        hist = got_atr[4:17] if transport == "t0" else got_atr[5:18]  # t1 adds TD1 (and TCK at the end)
        assert got_atr[0] == 0x3B and hist[3:7] == b"SSC" + bytes([gen]) and hist[-4:] == bytes.fromhex("5A3C1E0A")
    data, sw = send(card, f"00A404000F{SSSE_NAME}")
    fci = bytes.fromhex("6F16840F" + SSSE_NAME + "A50388010B")
    if transport == "t0":
        assert (data, sw) == (b"", 0x6118)
        assert send(card, "00C0000018") == (fci, 0x9000)
    else:
        assert (data, sw) == (fci, 0x9000)
    if gen == 3:
        authenticate(card, gen, "0A", RK)  # g3: EF05 record 7 and EF06 need key 0A
    specs = {"SSSE/EF05": card.model.efs["SSSE/EF05"].spec, "SSSE/EF06": card.model.efs["SSSE/EF06"].spec}
    values = {"SSSE/EF05": {**EF05, "03": f"{gen}.00"}, "SSSE/EF06": EF06}
    for path, sfi in (("SSSE/EF05", 5), ("SSSE/EF06", 6)):
        for number, rec in enumerate(specs[path]["records"], 1):
            if rec["tag"] not in values[path]:
                continue
            kind, n = rec["fmt"][:2] if rec["fmt"][1] == "n" else "b", int(rec["fmt"].lstrip("abcn"))
            expected = bytes([int(rec["tag"], 16), n]) + value_bytes(kind, values[path][rec["tag"]], n, int(pad, 16))
            tag = rec["tag"]
            forms = [f"00B2{number:02X}{sfi << 3 | 4:02X}00",        # record number, SFI
                     f"00B2{tag}{sfi << 3:02X}00",                     # identifier, SFI
                     f"00B2{number:02X}0400",                          # record number, current EF
                     f"00B2{tag}0000"]                                 # identifier, current EF
            for form in forms:
                assert send(card, form) == (expected, 0x9000), (path, tag, form)
            # a Le larger than the record gives the record with 9000
            assert send(card, f"00B2{number:02X}{sfi << 3 | 4:02X}{len(expected) + 7:02X}") == (expected, 0x9000)
            # an exact Le too; a short one 6Cxx
            assert send(card, f"00B2{number:02X}{sfi << 3 | 4:02X}{len(expected):02X}")[1] == 0x9000
            assert send(card, f"00B2{number:02X}{sfi << 3 | 4:02X}01") == (b"", 0x6C00 | len(expected))


@pytest.mark.parametrize("gen", [2, 3])
def test_write_flow_persists_and_is_guarded(tmp_path, gen):
    path = write_image(tmp_path, gen)
    r = iter([bytes.fromhex("A0A1A2A3A4A5A6A7"), bytes.fromhex("B0B1B2B3B4B5B6B7")] * 10)
    card = Card.from_image(path, random=lambda n: next(r)[:n])
    send(card, f"00A404000F{SSSE_NAME}")
    new_rec = "0D0420010203"
    # without authentication: 6982, nothing written
    before = path.read_bytes()
    assert send(card, f"00DC0734{len(new_rec) // 2:02X}{new_rec}") == (b"", 0x6982)
    assert path.read_bytes() == before
    authenticate(card, gen, "04", K04[gen])
    assert send(card, f"00DC{7 if gen > 1 else 6:02X}3406{new_rec}") == (b"", 0x9000)
    reloaded = Card.from_image(path)
    send(reloaded, f"00A404000F{SSSE_NAME}")
    if gen == 3:
        authenticate(reloaded, gen, "0A", RK)
    assert send(reloaded, "00B20D3000") == (bytes.fromhex(new_rec), 0x9000)
    # a replayed challenge is rejected: the same cryptogram twice
    challenge, _ = send(card, "0084000008")
    scheme = "sm4-session" if gen == 3 else "des-session"
    apdu = f"0082000410{schemes.external_cryptogram(scheme, bytes.fromhex(K04[gen]), challenge).hex()}{challenge.hex()}"
    assert send(card, apdu)[1] == 0x9000
    assert send(card, apdu)[1] == 0x6984
    # wrong cryptograms: 63C2, 63C1, 63C0, then 6983, and the counter survives a reload
    for left in (2, 1, 0):
        send(card, "0084000008")
        assert send(card, "0082000410" + "00" * 16)[1] == 0x63C0 | left
    send(card, "0084000008")
    assert send(card, apdu)[1] == 0x6983
    blocked = Card.from_image(path)
    send(blocked, f"00A404000F{SSSE_NAME}")
    send(blocked, "0084000008")
    assert send(blocked, apdu)[1] == 0x6983


@pytest.mark.parametrize("gen", [1, 2, 3])
def test_pin_blocks_after_three_and_stays_blocked(tmp_path, gen):
    path = write_image(tmp_path, gen)
    card = Card.from_image(path, random=lambda n: bytes(range(1, n + 1)))
    send(card, f"00A404000F{SSSE_NAME}")
    assert [send(card, "0020000003999999")[1] for _ in range(3)] == [0x63C2, 0x63C1, 0x63C0]
    assert send(card, "0020000003123456")[1] == 0x6983
    card = Card.from_image(path)
    send(card, f"00A404000F{SSSE_NAME}")
    assert send(card, "0020000003123456")[1] == 0x6983
    assert send(card, "0020000000")[1] == 0x6983 or send(card, "00200000")[1] == 0x6983
    # RELOAD PIN: new PIN and MAC with the RPK, zero ICV; unblocks
    algorithm = "sm4" if gen == 3 else "3des"
    rpk = bytes.fromhex(RPK.get(gen, RPK[2]))
    new = schemes.pin_bcd("2468")
    assert send(card, f"805E0000{len(new) + 4:02X}{new.hex()}" + "00000000")[1] == 0x6988
    assert send(card, f"805E0000{len(new) + 4:02X}{new.hex()}{crypto.mac(algorithm, rpk, new).hex()}")[1] == 0x9000
    card = Card.from_image(path)
    send(card, f"00A404000F{SSSE_NAME}")
    assert send(card, "00200000022468")[1] == 0x9000
    # block again, then PIN UNBLOCK with a new PIN (ENC ‖ MAC over 84 24 00 00 Lc ‖ ENC, ICV = challenge)
    for _ in range(3):
        send(card, "00200000021111")
    assert send(card, "00200000022468")[1] == 0x6983
    puk = bytes.fromhex(PUK.get(gen, PUK[2]))
    enc = schemes.pin_unblock_enc(algorithm, puk, schemes.pin_bcd("135790"))
    challenge, _ = send(card, "0084000008")
    header = bytes.fromhex("84240000") + bytes([len(enc) + 4])
    mac = crypto.mac(algorithm, puk, header + enc, challenge)
    assert send(card, (header + enc + mac).hex())[1] == 0x9000
    card = Card.from_image(path)
    send(card, f"00A404000F{SSSE_NAME}")
    assert send(card, "0020000003135790")[1] == 0x9000


def test_bad_image_names_file_and_line(tmp_path):
    path = write_image(tmp_path, 2)
    lines = path.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if line.strip().startswith("SSSE/EF06"))
    lines[n] = lines[n].replace('"0B": "03"', '"0B": "XY"')
    path.write_text("\n".join(lines))
    with pytest.raises(ImageError) as err:
        Card.from_image(path)
    assert f"{path}:{n + 1}:" in str(err.value) and "0B" in str(err.value)


def test_unknown_switch_and_key_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("profile: gen2\nswitches:\n  transprot: t1\n")
    with pytest.raises(ImageError, match=r"c.yaml:3: unknown profile switch 'transprot'"):
        Card.from_image(path)
    path.write_text("profile: gen2\nkeys:\n  SSSE:\n    \"05\": 00112233445566778899AABBCCDDEEFF\n")
    with pytest.raises(ImageError, match=r"c.yaml:4: SSSE has no key 05"):
        Card.from_image(path)
