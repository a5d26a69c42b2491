"""`sscard doctor`: is PC/SC ready for a served card? Each problem comes with the command that fixes it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import click

from .exitcodes import FAILED, PASSED

PIDFILE = Path("/run/pcscd/pcscd.pid")
VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
VPCD_PORTS = (35963, 35964)  # the two slots Debian's vpcd opens
_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _script(name: str, fallback: str) -> str:
    path = _SCRIPTS / name
    if path.exists():
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
    return fallback


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def pcscd_pid() -> int | None:
    """The pid of the running pcscd, from its pid file (which ends in a NUL byte)."""
    try:
        pid = int(PIDFILE.read_bytes().replace(b"\0", b"").strip() or b"0")
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    # A killed pcscd may stay a zombie (pid 1 in a container does not always reap it).
    return pid if comm == "pcscd" and state not in ("Z", "X") else None


def listening_ports() -> set[int]:
    """TCP ports in LISTEN state, read from /proc (connecting would look like a card to vpcd)."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":  # 0A = LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _vpcd_libpath() -> Path | None:
    try:
        for line in VPCD_CONF.read_text().splitlines():
            if line.strip().startswith("LIBPATH"):
                return Path(line.split(None, 1)[1].strip())
    except (OSError, IndexError):
        pass
    return None


def card_states(readers: list[str]) -> dict[str, bytes | None]:
    """ATR of the card in each reader, None when empty; asks pcscd without connecting."""
    from smartcard import scard

    hresult, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise RuntimeError(scard.SCardGetErrorMessage(hresult))
    try:
        hresult, states = scard.SCardGetStatusChange(
            ctx, 0, [(r, scard.SCARD_STATE_UNAWARE) for r in readers]
        )
        if hresult != scard.SCARD_S_SUCCESS:
            raise RuntimeError(scard.SCardGetErrorMessage(hresult))
        return {
            name: bytes(atr) if state & scard.SCARD_STATE_PRESENT and atr else None
            for name, state, atr in states
        }
    finally:
        scard.SCardReleaseContext(ctx)


def run_checks() -> list[Check]:
    checks: list[Check] = []
    up, down = _script("pcscd-up", "sudo pcscd"), _script("pcscd-down", "sudo pkill -x pcscd")

    try:
        import smartcard  # noqa: F401
        from smartcard.System import readers as list_readers
        checks.append(Check("pyscard", True, "importable"))
    except ImportError as exc:
        checks.append(Check("pyscard", False, f"not importable ({exc})",
                            "sudo apt-get install -y libpcsclite-dev gcc python3-dev && "
                            ".venv/bin/pip install pyscard   (or: scripts/setup --test)"))
        list_readers = None

    exe = shutil.which("pcscd") or next((p for p in ("/usr/sbin/pcscd",) if os.path.exists(p)), None)
    if not exe:
        checks.append(Check("pcscd", False, "not installed", "sudo apt-get install -y pcscd"))
        return checks
    pid = pcscd_pid()
    if pid is None:
        checks.append(Check("pcscd", False, f"installed ({exe}) but not running", up))
    else:
        checks.append(Check("pcscd", True, f"running (pid {pid})"))

    lib = _vpcd_libpath()
    if lib is None:
        checks.append(Check("vpcd driver", False, f"{VPCD_CONF} missing",
                            f"sudo apt-get install -y vsmartcard-vpcd && {down} && {up}"))
        return checks
    if not lib.exists():
        checks.append(Check("vpcd driver", False, f"{VPCD_CONF} points at missing {lib}",
                            "sudo apt-get install --reinstall -y vsmartcard-vpcd"))
        return checks
    checks.append(Check("vpcd driver", True, f"configured ({VPCD_CONF})"))
    if pid is None:
        return checks

    listening = listening_ports()
    missing = [p for p in VPCD_PORTS if p not in listening]
    if missing:
        checks.append(Check("vpcd ports", False, f"not listening on {missing} (pcscd did not load vpcd)",
                            f"{down} && {up}"))
        return checks
    checks.append(Check("vpcd ports", True, "listening on " + ", ".join(map(str, VPCD_PORTS))))

    if list_readers is None:
        return checks
    try:
        names = [str(r) for r in list_readers()]
    except Exception as exc:
        checks.append(Check("readers", False, f"pyscard cannot list readers: {exc}", f"{down} && {up}"))
        return checks
    virtual = [n for n in names if n.startswith("Virtual PCD")]
    if not virtual:
        checks.append(Check("readers", False, f"no 'Virtual PCD' reader among {names}", f"{down} && {up}"))
        return checks
    checks.append(Check("readers", True, ", ".join(virtual)))

    try:
        states = card_states(virtual)
    except Exception as exc:
        checks.append(Check("card", False, f"cannot read reader state: {exc}", f"{down} && {up}"))
        return checks
    present = {n: atr for n, atr in states.items() if atr}
    if not present:
        checks.append(Check("card", False, "no card in any Virtual PCD reader",
                            "sscard serve --builtin gen2   (in another terminal; or --image CARD.yaml)"))
    else:
        checks.append(Check("card", True, "; ".join(f"{n}: ATR {a.hex().upper()}" for n, a in present.items())))
    return checks


@click.command("doctor")
def doctor():
    """Check pyscard, pcscd, the vpcd driver, its ports, the readers and a served card."""
    checks = run_checks()
    for c in checks:
        mark = click.style(" ok ", fg="green") if c.ok else click.style("FAIL", fg="red")
        click.echo(f"[{mark}] {c.name}: {c.detail}")
        if not c.ok and c.fix:
            click.echo(f"       fix: {c.fix}")
    if all(c.ok for c in checks) and len(checks) == 6:
        click.echo("all is well")
        raise SystemExit(PASSED)
    raise SystemExit(FAILED)  # a check failed (sscard/exitcodes.py)
