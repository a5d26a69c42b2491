"""The PC/SC reader list the start and terminal screens keep fresh: a scan in a worker thread at
each poll (never two at once, a failed scan shown as its reason), and the readers as options."""

from __future__ import annotations

from rich.text import Text
from textual.widgets.option_list import Option

from conformance.textsafe import printable

from .targets import ReaderScan


class ReaderPolling:
    """Mixin for a Screen with `self.scan` (the last ReaderScan): `_start_polling()` on mount;
    `_readers_changed()` runs on the UI thread when a scan differs from the last one."""

    _polling = False
    poll_group = "readers"

    def _start_polling(self) -> None:
        """Poll now and at every `app.poll_interval` while the screen is mounted."""
        self.set_interval(self.app.poll_interval, self._poll_readers)
        self._poll_readers()

    def _poll_readers(self) -> None:
        if not self._polling:
            self._polling = True
            self.run_worker(self._scan_readers, thread=True, group=self.poll_group, exit_on_error=False)

    def _scan_readers(self) -> None:
        try:
            scan = self.app.reader_scan()
        except Exception as exc:  # the scan is advisory: show why and try again at the next poll
            scan = ReaderScan((), f"PC/SC error: {exc}")
        self.app.call_from_thread(self._show_readers, scan)

    def _show_readers(self, scan: ReaderScan) -> None:
        self._polling = False
        if scan == self.scan:
            return
        self.scan = scan
        self._readers_changed()

    def _readers_changed(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def reader_options(scan: ReaderScan, none_id: str) -> list[Option]:
    """One option per reader (`pcsc:NAME`, with its card present or not), or one disabled line
    (`none_id`) saying why there are none."""
    if not scan.readers:
        return [Option(Text(f"PC/SC: {printable(scan.status)}", style="dim"), id=none_id, disabled=True)]
    return [Option(Text.assemble(("PC/SC ", "bold"), printable(name), "  ",
                                 ("card present", "green") if present else ("empty", "dim")), id=f"pcsc:{name}")
            for name, present in scan.readers]
