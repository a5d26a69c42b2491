"""What a card and a PSAM share at their contacts: power on (or warm reset) clears what lives in
RAM and answers the ATR; power off clears it too. Each says what its RAM holds (`_clear_volatile`)
and has an `atr`."""

from __future__ import annotations


class Contacts:
    powered = False

    def power_on(self) -> bytes:
        self._clear_volatile()
        self.powered = True
        return self.atr

    def reset(self) -> bytes:
        return self.power_on()

    def power_off(self) -> None:
        self._clear_volatile()
        self.powered = False

    def close(self) -> None:
        self.powered = False

    def _clear_volatile(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError
