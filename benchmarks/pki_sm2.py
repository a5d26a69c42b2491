"""SM2 throughput of the emulated PKI application (operations per second, in-process).

The reference card has no signing command (spec §10, open question 10), so "sign/verify through
the card" cannot be measured. What is measured instead, and labelled as such:
  * 8040 GENERATE SM2 KEY PAIR through Card.transmit (d from the card's random source, d·G in
    simulator.sm2's own integer arithmetic, both key files written);
  * 804E SM2 DECRYPT ENVELOPE through Card.transmit (a 16-byte SM4 key, C1 ‖ C3 ‖ C2, gmssl-pyx);
  * SM2 sign and verify of simulator.sm2, the adapter the card and the certificate builder use
    (gmssl-pyx, not a card command).
"""

from __future__ import annotations

import time

from simulator import Card, sm2
from simulator.samples import sample_image

SECONDS = 0.5  # per figure, after one warm-up call
PKI, ADF1 = "504B492EC9E7BBE1B1A3D5CF", "53532E434552542E41444631"


def _rate(fn, seconds: float = SECONDS) -> float:
    fn()  # warm-up (and a check that it works)
    n, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        fn()
        n += 1
    return n / elapsed


def _card() -> Card:
    """The gen3 sample card in t1 mode (804E answers directly), in ADF1 with both PINs verified."""
    from simulator import schemes

    image = sample_image("gen3")
    image["switches"] = {"transport": "t1"}
    card = Card.from_dict(image)
    card.power_on()
    for apdu in ("00A4040C0C" + PKI, "00A4040C0C" + ADF1):
        assert card.transmit(bytes.fromhex(apdu)) == b"\x90\x00"
    for p2, pin in ((0x81, "123456"), (0x00, "12345678")):
        challenge = card.transmit(bytes.fromhex("0084000010"))[:-2]
        ct = schemes.pki_verify_cryptogram(schemes.pin_bcd(pin), challenge)
        assert card.transmit(bytes([0x00, 0x20, 0x01, p2, 0x10]) + ct) == b"\x90\x00"
    return card


def measure() -> dict[str, float]:
    card = _card()
    t = card.transmit
    generate = bytes.fromhex("8040000008C0020012C2020013")
    figures = {"8040 generate key pair (card APDU)": _rate(lambda: t(generate))}

    assert t(bytes.fromhex("80C9820008C0020012C2020013")) == b"\x90\x00"
    pub = t(bytes.fromhex("80C9828000"))[2:-2]
    key = bytes(range(16))
    envelope = sm2.encrypt(pub, key)
    data = bytes.fromhex("C2020013C182") + len(envelope).to_bytes(2, "big") + envelope
    decrypt = bytes([0x80, 0x4E, 0x00, 0x01, len(data)]) + data
    assert t(decrypt) == key + b"\x90\x00"
    figures["804E decrypt envelope (card APDU)"] = _rate(lambda: t(decrypt))

    d, pub = sm2.generate_keypair()
    message = b"x" * 64
    signature = sm2.sign(d, pub, message)
    figures["SM2 sign (adapter, no card command)"] = _rate(lambda: sm2.sign(d, pub, message))
    figures["SM2 verify (adapter, no card command)"] = _rate(lambda: sm2.verify(pub, message, signature))
    return figures


def run(report=print) -> dict[str, float]:
    figures = measure()
    report("PKI / SM2, in-process (operations per second; gen3 sample card in memory, t1 mode):")
    report("  the reference card has no sign command (spec §10 q.10): sign/verify are the SM2")
    report("  adapter the card uses (simulator.sm2 over gmssl-pyx), the APDU figures are card commands")
    for name, rate in figures.items():
        report(f"  {name:<40} {rate:9.1f} /s")
    return figures


if __name__ == "__main__":
    run()
