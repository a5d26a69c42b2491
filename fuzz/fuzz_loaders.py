"""Fuzz the readers of files from outside: vector files, recorded sessions, saved JSON reports.

    python -m fuzz.fuzz_loaders -runs=200000 [--target=vectors|sessions|report] [libFuzzer flags]

The first byte of an input picks the reader (unless --target fixes it); the rest is the file's
bytes, written to a temporary file on /dev/shm because the readers take paths. Contracts:

- `load_suite`: only VectorError, every problem naming the file and a line >= 1. A suite it
  accepts runs on an emulated gen3 card without an "internal error" (a tool crash in a case).
- `load_session` (JSON, apdu4j, apdutool): only ValueError (bad UTF-8 and bad JSON are
  ValueErrors too); a session holds (bytes, bytes) exchanges or None for a reset, and
  `vectors from-session` turns it into a vector file that loads, or says ValueError.
- `load_json_report` / `load_json_reports`: only ValueError; a report that loads renders again
  (JSON, JUnit, HTML), as the TUI's viewer does.

Without a corpus directory on the command line, a seed corpus is built on /dev/shm: one file per
case of vectors/*.yaml, the sessions and reports of a short run, apdutool examples; and a
dictionary of the formats' keys. Half of the mutations are libFuzzer's byte mutations, half
change the parsed YAML/JSON document (`custom_mutator`), so inputs get past the syntax.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

# SSCARD_FUZZ_TMP: where the work folder goes (tests give their tmp_path)
_BASE = Path(os.environ.get("SSCARD_FUZZ_TMP") or ("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()))


def _sweep() -> None:
    """Work folders of earlier runs that have ended (libFuzzer exits without cleaning up)."""
    for old in _BASE.glob("sscard-fuzz-*-*"):
        pid = old.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)


_sweep()
_WORK = Path(tempfile.mkdtemp(prefix=f"sscard-fuzz-{os.getpid()}-", dir=_BASE))
os.environ["XDG_CACHE_HOME"] = str(_WORK / "cache")  # the loader remembers valid files: not in ~/.cache

with atheris.instrument_imports(include=["conformance"]):
    from conformance import sessions, yaml_lines
    from conformance.card_under_test import CardUnderTest
    from conformance.from_session import to_yaml
    from conformance.reports import html, json_report, junit
    from conformance.runner import Runner
    from conformance.transport import EmulatedTransport
    from conformance.vectors import DEFAULT_VECTORS, VectorError, load_suite

from simulator import Card

TARGETS = ("vectors", "sessions", "report")
COUNT = {"inputs": 0, "runs": -1, "loaded": dict.fromkeys(TARGETS, 0), "rejected": dict.fromkeys(TARGETS, 0)}
FIXED: dict = {"target": None}
_card: dict = {}


def _random(n: int) -> bytes:
    return bytes(range(0x31, 0x31 + n))


def _fresh_card() -> Card:
    if "gen3" not in _card:
        _card["gen3"] = pickle.dumps(Card.from_dict(Card.builtin("gen3").export_image(), random=_random))
    return pickle.loads(_card["gen3"])


def _write(name: str, data: bytes) -> Path:
    path = _WORK / name
    path.write_bytes(data)
    return path


# --- the three readers ------------------------------------------------------------------------


def fuzz_vectors(data: bytes) -> None:
    path = _write("v.yaml", data)
    try:
        suite = load_suite(path)
    except VectorError as exc:
        COUNT["rejected"]["vectors"] += 1
        assert exc.problems, "VectorError without problems"
        for problem in exc.problems:
            assert problem.file == str(path) and problem.line >= 1 and problem.message, problem
        return
    COUNT["loaded"]["vectors"] += 1
    _run(suite)


def _run(suite) -> None:
    """The accepted cases on an emulated card: the runner turns a crash into ERROR 'internal error'."""
    card = _fresh_card()
    transport = EmulatedTransport(card, "fuzz")
    result = Runner(suite, transport, CardUnderTest(card.image, label="gen3"), timeout=20).run()
    for case in result.cases:
        assert not case.reason.startswith("internal error"), f"{case.case_id}: {case.reason}"


def fuzz_sessions(data: bytes) -> None:
    path = _write("s.txt", data)
    try:
        session = sessions.load_session(path)
    except ValueError:
        COUNT["rejected"]["sessions"] += 1
        return
    COUNT["loaded"]["sessions"] += 1
    assert isinstance(session.atr, bytes) and isinstance(session.protocol, str) and isinstance(session.reader, str)
    for item in session.exchanges:
        assert item is None or (len(item) == 2 and all(isinstance(x, bytes) for x in item)), item
    try:
        text = to_yaml(session)
    except ValueError:
        return
    try:
        load_suite(_write("g.yaml", text.encode("utf-8")))
    except VectorError as exc:
        raise AssertionError(f"from-session wrote a vector file that does not load:\n{exc}\n{text}") from None


def fuzz_report(data: bytes) -> None:
    path = _write("r.json", data)
    try:
        result = json_report.load_json_report(path)
        several = json_report.load_json_reports(path)
    except ValueError:
        COUNT["rejected"]["report"] += 1
        return
    COUNT["loaded"]["report"] += 1
    for one in [result, *several]:
        json.dumps(json_report.to_dict(one))
        junit.to_element([one])
        html.render([one])


_WORDS: list[str] = []
READERS = {"vectors": fuzz_vectors, "sessions": fuzz_sessions, "report": fuzz_report}


def one_input(data: bytes) -> None:
    COUNT["inputs"] += 1
    if data:
        target = FIXED["target"] or TARGETS[data[0] % len(TARGETS)]
        READERS[target](data[1:])
    if COUNT["inputs"] == COUNT["runs"] or COUNT["inputs"] % 50000 == 0:
        _report()  # libFuzzer leaves with _exit: atexit handlers never run


def _report() -> None:
    parts = ", ".join(f"{t} {COUNT['loaded'][t]} loaded/{COUNT['rejected'][t]} rejected" for t in TARGETS)
    print(f"fuzz_loaders: {COUNT['inputs']} inputs ({parts}), no failure", file=sys.stderr)


# --- structure-aware mutation ------------------------------------------------------------------
# Byte mutations of YAML or JSON mostly give syntax errors; half the time we mutate the document
# instead: a value replaced (by another part of the same document, an edge value, a computed
# call with odd arguments), a key or item dropped or doubled, a known key added.

_EDGES = [0, -1, 1, 255, 256, 65535, 65536, 10**9, 10**30, 1.5, "", "x", "00", "9000", "61xx", "6Cxx", "FF" * 300,
          None, True, [], {}, "SSSE", "PKI", "DF01", "MF", "SSSE/EF05", "ADF1/00", "04", "data[-9:2]", "sw", "atr",
          "${challenge}", "'pki' in features", "generation >= 2 and transport == 't1'", "A>>", "Infinity", "NaN"]
_ARGS = ['"04"', '"SSSE"', '"SS1E"', '"DF01/EF05"', "challenge", "pin", "generation", "atr", "0", "-1", "300",
         "100000000", '""', '"ZZ"', "challenge[0:4]", 'join("00", "FF")', "user_pin", '"user"']


def _call(rng) -> str:
    from conformance.compute import FUNCTIONS

    args = ", ".join(rng.choice(_ARGS) for _ in range(rng.randrange(4)))
    return "${" + rng.choice(sorted(FUNCTIONS)) + f"({args})" + "}" + rng.choice(["", "[0:2]", "[9]"])


def _nodes(doc, out):
    out.append(doc)
    children = doc.values() if isinstance(doc, dict) else doc if isinstance(doc, list) else ()
    for child in children:
        _nodes(child, out)
    return out


def _mutate_doc(doc, rng, words):
    nodes = _nodes(doc, [])
    containers = [n for n in nodes if isinstance(n, (dict, list)) and n]
    if not containers:
        return doc
    target = rng.choice(containers)
    key = rng.choice(list(target)) if isinstance(target, dict) else rng.randrange(len(target))
    action = rng.randrange(5)
    pick = [lambda: json.loads(json.dumps(rng.choice(nodes))), lambda: rng.choice(_EDGES), lambda: _call(rng)]
    if action == 0 and isinstance(target, dict):
        target[rng.choice(words)] = rng.choice(pick)()
    elif action == 1:
        del target[key]
    elif action == 2 and isinstance(target, list):
        target.insert(key, json.loads(json.dumps(target[key])))
    else:
        target[key] = rng.choice(pick)()
    return doc


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    import random

    import yaml

    rng = random.Random(seed)
    if len(data) < 2 or rng.random() < 0.5:
        return atheris.Mutate(data, max_size)
    text = data[1:].decode("utf-8", "replace")
    try:
        if text.lstrip().startswith(("{", "[")):
            out = json.dumps(_mutate_doc(json.loads(text), rng, _WORDS)).encode()
        else:
            out = yaml.safe_dump(_mutate_doc(yaml_lines.load(text).data, rng, _WORDS), allow_unicode=True,
                                 sort_keys=False).encode()
    except Exception:  # not a document we can parse (or dump): plain byte mutation
        return atheris.Mutate(data, max_size)
    return (data[:1] + out)[:max_size]


# --- seed corpus and dictionary ---------------------------------------------------------------


def _seeds() -> dict[str, list[bytes]]:
    seeds: dict[str, list[bytes]] = {t: [] for t in TARGETS}
    for path in sorted(DEFAULT_VECTORS.glob("*.yaml")):  # each case alone, under its file's header
        text = path.read_text(encoding="utf-8")
        head, _, body = text.partition("\ncases:\n")
        for chunk in body.split("\n  - id: ")[1:]:
            seeds["vectors"].append(f"{head}\ncases:\n  - id: {chunk.rstrip()}\n".encode())
    suite = load_suite([DEFAULT_VECTORS / "select.yaml"])
    runs = []
    for name in ("gen2", "gen3"):
        card = Card.builtin(name)
        runs.append(Runner(suite, EmulatedTransport(card, name), CardUnderTest(card.image, label=name),
                           selection="001 or 004 or 013").run())
    from conformance.reports import apdu4j

    trace = runs[0].trace
    seeds["sessions"] += [sessions.dumps(trace).encode(), apdu4j.dumps(trace).encode(),
                          apdu4j.dumps(trace, style="dump").encode(),
                          b'[["00A4040002EF05", "9000"], ["0084000008", "11223344556677889000"]]',
                          b"powerup;\n// select\n0x00 0xA4 0x04 0x00 0x02 0xEF 0x05 0x7F;\n0x00 0x84 0x00 0x00 0x00 0x08;\npowerdown;\n",
                          b"CLA: 00, INS: 84, P1: 00, P2: 00, Lc: 00, Le: 08, 11, 22, 33, 44, 55, 66, 77, 88, SW1: 90, SW2: 00\n"]
    for one in runs:
        seeds["report"].append(_small(json_report.to_dict(one)))
    seeds["report"].append(_small(json_report.to_dict_many(runs)))
    return seeds


def _small(doc: dict) -> bytes:
    doc = json.loads(json.dumps(doc))
    for key in ("suite",):  # the file hashes of every vector file only make seeds long
        (doc.get("provenance") or {}).pop(key, None)
    return json.dumps(doc, ensure_ascii=False).encode()


def _dictionary() -> list[str]:
    schema = json.loads((DEFAULT_VECTORS / "schema.json").read_text(encoding="utf-8"))
    words: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            words.update(k for k in node.get("properties", {}) if isinstance(k, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    words.update(["${", "}", "xx", "reset", "select", "authenticate", "verify_pin", "data[0:8]", "- ", ": ",
                  "exchanges", "command", "response", "atr", "format", "sscard-session/1", "A>> T=0 (4+0005)",
                  "A<< (0000+2) (0.10ms)", "# Sent", "# Received in 1ms", "# RESET ATR: 3B00", "# ATR: ", "0x",
                  "CLA: ", "SW1: ", "Le: ", "Lc: ", "cases", "steps", "verdict", "PASS", "FAIL", "phase", "index",
                  "exchanges", "kind", "summary", "cards", "provenance", "sscard-report/1"])
    return sorted(words)


def _prepare(argv: list[str]) -> list[str]:
    """Our flags out, the seed corpus and dictionary in (unless given)."""
    args = []
    for arg in argv[1:]:
        if arg.startswith("--target="):
            FIXED["target"] = arg.split("=", 1)[1]
            if FIXED["target"] not in TARGETS:
                raise SystemExit(f"--target: one of {', '.join(TARGETS)}")
        else:
            if arg.startswith("-runs="):
                COUNT["runs"] = int(arg.split("=", 1)[1])
            args.append(arg)
    if not any(not a.startswith("-") for a in args):
        corpus = _WORK / "corpus"
        corpus.mkdir()
        for index, (target, items) in enumerate((t, i) for t, items in _seeds().items() for i in items):
            if FIXED["target"] in (None, target):
                (corpus / f"seed-{index:04d}").write_bytes(bytes([TARGETS.index(target)]) + items)
        args.append(str(corpus))
    if not any(a.startswith("-dict=") for a in args):
        path = _WORK / "loaders.dict"
        path.write_text("".join(json.dumps(w) + "\n" for w in _dictionary()), encoding="utf-8")
        args.append(f"-dict={path}")
    return [argv[0], *args]


def main(argv: list[str]) -> None:
    _WORDS.extend(_dictionary())
    atheris.Setup(_prepare(argv), one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
