"""The gen3 PKI application (card §4.19): PINs with challenge, SM2 keys, envelopes, certificates."""

from __future__ import annotations

from simulator import codecs, schemes

from .session import Session, apdu

PKI_NAME = bytes.fromhex("504B492EC9E7BBE1B1A3D5CF")    # "PKI.社会保障"
ADF1_NAME = bytes.fromhex("53532E434552542E41444631")   # "SS.CERT.ADF1"
PIN_REF = {"user": 0x81, "admin": 0x00}
PIECE = 112  # bytes per UPDATE BINARY of a certificate (card §4.9: what field tools do)


def _refs(pub: int, priv: int) -> bytes:
    return codecs.KeyPairRefs.build({"public": {"fid": pub}, "private": {"fid": priv}})


class PkiSession(Session):
    def select(self) -> bytes:
        """SELECT the PKI DF, then SS.CERT.ADF1, by name."""
        self.select_name(PKI_NAME, "PKI")
        return self.select_name(ADF1_NAME, "ADF1")

    def verify_pin(self, who: str, pin: str) -> None:
        """PKI VERIFY (card §4.19.2, §5.4.9): GET CHALLENGE 16, then SM4(SM3(PIN)[0:16], R16)."""
        challenge = self.get_challenge(16)
        ct = schemes.pki_verify_cryptogram(schemes.pin_bcd(pin), challenge)
        self.send(apdu(0x00, 0x20, 0x01, PIN_REF[who], ct), f"VERIFY {who} PIN")

    def change_pin(self, who: str, old: str, new: str) -> None:
        """CHANGE PIN with MAC `84 5E 01 P2 14` (card §4.19.8)."""
        challenge = self.get_challenge(16)
        body, tag = schemes.pki_change_pin(schemes.pin_bcd(old), schemes.pin_bcd(new), PIN_REF[who], challenge)
        self.send(apdu(0x84, 0x5E, 0x01, PIN_REF[who], body + tag), f"CHANGE {who} PIN")

    def generate_key_pair(self, pub: int = 0x0012, priv: int = 0x0013) -> None:
        self.send(apdu(0x80, 0x40, 0x00, 0x00, _refs(pub, priv)), "GENERATE SM2 KEY PAIR")

    def export_public_key(self, pub: int = 0x0012, priv: int = 0x0013) -> bytes:
        """EXPORT PUBLIC KEY (card §4.19.4): the 64-byte X ‖ Y, the 2-byte prefix dropped."""
        self.send(apdu(0x80, 0xC9, 0x82, 0x00, _refs(pub, priv)), "EXPORT PUBLIC KEY")
        return self.send(apdu(0x80, 0xC9, 0x82, 0x80, le=0), "EXPORT PUBLIC KEY (data)")[2:]

    def decrypt_envelope(self, envelope: bytes, priv: int = 0x0013) -> bytes:
        """SM2 DECRYPT ENVELOPE (card §4.19.5): the key the envelope carries."""
        body = codecs.Envelope.build({"private": {"fid": priv}, "envelope": envelope})
        return self.send(apdu(0x80, 0x4E, 0x00, 0x01, body), "SM2 DECRYPT ENVELOPE")

    def load_sm4_key(self, key: bytes) -> None:
        self.send(apdu(0x80, 0x4A, 0x02, 0x10, codecs.SM4Key.build({"key": key})), "LOAD SM4 KEY")

    def import_public_key(self, pub64: bytes, fid: int = 0x0014) -> None:
        key = {"x": pub64[:32], "y": pub64[32:]}
        self.send(apdu(0x80, 0xC2, 0x40, 0x00, codecs.PublicKeyImport.build({"file": {"fid": fid}, "key": key})),
                  "IMPORT KEY (public)")

    def import_private_key(self, wrapped: bytes, fid: int = 0x0015) -> None:
        self.send(apdu(0x80, 0xC2, 0xC0, 0x01, codecs.PrivateKeyImport.build({"file": {"fid": fid}, "wrapped": wrapped})),
                  "IMPORT KEY (private)")

    def write_file(self, fid: int, content: bytes) -> None:
        """SELECT the EF (P2 0C) and UPDATE BINARY its content in 112-byte pieces."""
        self.send(apdu(0x00, 0xA4, 0x00, 0x0C, fid.to_bytes(2, "big")), f"SELECT {fid:04X}")
        self.update_binary(0, content, PIECE)
