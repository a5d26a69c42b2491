"""The card under test as the tester knows it: its card image (design.md format) gives the
generation, the response mode, the features and the secrets (keys, PINs) that computed values need.

For an emulated card the image is the card's own; for a physical card it is the description the
user passes with `--image`. Nothing here talks to the card.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.layout import features as layout_features

GENERATIONS = {"gen1": 1, "gen2": 2, "gen3": 3}
SSSE_TREE = ("SSSE", "DF01", "DF02", "DF03", "DF04", "DF05", "DF06", "DF07")
PKI_TREE = ("PKI", "ADF1")
# Names under which a card image may hold the keys of a DF (design.md allows "SSSE/DF01").
_KEY_HOLDERS = {
    "ADF1": ("PKI", "SS.CERT.ADF1", "PKI/SS.CERT.ADF1", "ADF1"),
    "PKI": ("PKI/DF",),  # the PKI DF's own keys (R2-3); an image's "PKI" holds SS.CERT.ADF1's
}


class MissingSecret(LookupError):
    """The description lacks a key or PIN a vector needs: the case cannot be decided."""


@dataclass
class CardUnderTest:
    image: dict
    label: str = "card"  # "gen2", a reader name, an image file name
    features: frozenset = field(default_factory=frozenset)

    def __post_init__(self):
        self.features = frozenset(self.features) | self._derived_features()

    @property
    def generation(self) -> int:
        profile = str(self.image.get("profile", "gen2"))
        return GENERATIONS.get(profile, 2)

    @property
    def algorithm(self) -> str:
        return "sm4" if self.generation >= 3 else "3des"

    @property
    def session_scheme(self) -> str:
        return "sm4-session" if self.generation >= 3 else "des-session"

    @property
    def transport(self) -> str:
        return str((self.image.get("switches") or {}).get("transport", "t0")).lower()

    def applicability_context(self) -> dict:
        return {"generation": self.generation, "transport": self.transport, "features": self.features,
                "target": "card"}

    def _derived_features(self) -> frozenset:
        found = {f"gen{self.generation}", self.algorithm}
        if self.generation >= 2:
            found.add("name_extension")
        if self.generation >= 3:
            found |= {"pki", "ef0d", "g3_read_key"}
        switches = self.image.get("switches") or {}
        if str(switches.get("g3_read_key", "0A")).lower() == "none":
            found.discard("g3_read_key")
        if str(switches.get("select_mf", "accept")) == "reject":
            found.add("select_mf_reject")
        if self.generation >= 3 and str(switches.get("pki_write_pin", "either")) == "admin":
            found.add("pki_write_admin")  # revision-1 rule: PKI writes need the admin PIN (R2-4)
        found |= {str(f) for f in (self.image.get("features") or [])}
        found |= layout_features(self.image)  # layout, layout:DF03/EF19, layout:DF03/EF19/79 (§9.1)
        return frozenset(found)

    # --- secrets ---------------------------------------------------------------------------

    def key(self, ref: str, current_df: str = "SSSE", version: int = 1) -> tuple[bytes, str]:
        """(key value, scheme) for a key reference as an APDU carries it (PD-12).

        `ref` is 2 hex digits ("04", "86") resolved from `current_df`, or qualified ("DF01/86",
        "SSSE/04", "PKI/00"). b8 = 1 means a key of the current DF; b8 = 0 the SSSE key in the
        SSSE tree and the DF's own key elsewhere.
        """
        ref = str(ref).upper()
        if "/" in ref:
            holder, ref = ref.rsplit("/", 1)
            holder = {"SS.CERT.ADF1": "ADF1"}.get(holder, holder)
        elif int(ref, 16) & 0x80:
            holder = current_df
        else:
            holder = "SSSE" if current_df in SSSE_TREE or current_df == "MF" else current_df
        value = self._key_value(holder, ref, version)
        scheme = "sm4-direct" if holder in PKI_TREE else self.session_scheme
        return value, scheme

    def _key_value(self, holder: str, ref: str, version: int) -> bytes:
        keys = self.image.get("keys") or {}
        names = _KEY_HOLDERS.get(holder, (holder, f"SSSE/{holder}"))
        refs = (ref, f"{int(ref, 16) & 0x1F:02X}", f"{int(ref, 16) | 0x80:02X}" if holder != "SSSE" else ref)
        for name in names:
            table = keys.get(name) or {}
            for candidate in refs:
                if candidate in table:
                    return _key_bytes(table[candidate], version, f"{name}/{candidate}")
        raise MissingSecret(f"the card description has no key {holder}/{ref}")

    def pin(self, which: str = "SSSE") -> str:
        """The PIN digits: which = SSSE (cardholder), user or admin (PKI)."""
        name = {"user": "PKI/user", "admin": "PKI/admin", "ssse": "SSSE"}.get(which.lower(), which)
        entry = (self.image.get("pins") or {}).get(name)
        if entry is None:
            defaults = {"SSSE": "123456", "PKI/user": "123456", "PKI/admin": "12345678"}
            switches = self.image.get("switches") or {}
            overrides = {"SSSE": switches.get("default_pin"), "PKI/user": switches.get("pki_user_pin"),
                         "PKI/admin": switches.get("pki_admin_pin")}
            value = overrides.get(name) or defaults.get(name)
            if value is None:
                raise MissingSecret(f"the card description has no PIN {which!r}")
            return str(value)
        return str(entry["value"] if isinstance(entry, dict) else entry)


def _key_bytes(entry, version: int, where: str) -> bytes:
    if isinstance(entry, dict):
        if version != 1:
            versions = entry.get("versions") or {}
            text = versions.get(f"{version:02X}") or versions.get(version)
            if text is None:
                raise MissingSecret(f"the card description has no version {version:02X} of key {where}")
        else:
            text = entry.get("value")
    else:
        text = entry
    return bytes.fromhex("".join(str(text).split()))


class PsamUnderTest(CardUnderTest):
    """A PSAM as the tester knows it (ssc-terminal.md §2): its PSAM image gives the profile, the
    response mode and the root keys computed values need. `target` is "psam" in `applies`, so
    card cases are not applicable to it and PSAM cases not to a card. With no image (a physical
    PSAM nobody described) the roots are unknown: cases that need one are INCONCLUSIVE.
    """

    described: bool = True

    @property
    def generation(self) -> int:
        return 0  # no card generation

    @property
    def transport(self) -> str:
        return str(self.image.get("transport", "t0")).lower()

    def applicability_context(self) -> dict:
        return {**super().applicability_context(), "target": "psam"}

    def _psam(self):
        from simulator.psam import Psam

        return Psam.from_dict(dict(self.image), source=self.label)

    def _derived_features(self) -> frozenset:
        psam = self._psam()
        found = {"psam", f"psam:{psam.profile}"}
        found |= {f"psam_{df['app']}" for df in psam.dfs.values()}      # psam_des, psam_sm4
        if 0x11 in psam.roots:
            found.add("psam_rk")                                          # RKSSSE, index 11
        return frozenset(found | {str(f) for f in (self.image.get("features") or [])})

    def root(self, index) -> bytes:
        """The root key of a PSAM index (2 hex digits), as the description holds it."""
        if not self.described:
            raise MissingSecret("the PSAM description is missing: give --psam FILE with its root keys")
        value = self._psam().roots.get(int(str(index), 16))
        if value is None:
            raise MissingSecret(f"the PSAM description has no key record {str(index).upper()}")
        return value

    def key(self, ref: str, current_df: str = "SSSE", version: int = 1) -> tuple[bytes, str]:
        raise MissingSecret(f"a PSAM holds no card key {ref}")

    def pin(self, which: str = "SSSE") -> str:
        raise MissingSecret("a PSAM has no PIN")
