"""The active half of the pytest plugin (pytest_plugin.py; its items in pytest_items.py): the suite loaded, the cards chosen and
opened, the items collected, each case run through the runner's per-case API, and the JSON/HTML
reports gathered from every process (under xdist each case's result travels in its test report).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from . import provenance as prov
from .cli_run import _safe
from .pytest_items import CardTarget, CaseItem, VectorFile, marker_name
from .runner import DEFAULT_TIMEOUT, Runner
from .targets import BUILTIN, TargetSpec, open_target
from .textsafe import printable
from .transport import TransportError
from .vectors import VectorError, load_suite
from .verdict import ORDER, CaseResult, Verdict

_READER_GROUP = re.compile(r"sscard-reader-(\d+)")


class Conformance:
    """Registered by pytest_configure when a card option is given."""

    def __init__(self, config):
        self.config = config
        self.controller = not hasattr(config, "workerinput")  # the process that writes reports
        self.suite = _load(config)
        self.cards = _cards(config)
        self.files = {Path(f.path).resolve(): f for f in self.suite.files}
        self.order = {case.id: i for i, case in enumerate(self.suite.cases)}
        self.gathered: dict[str, dict] = {}    # card label -> {"provenance": ..., "cases": {id: dict}}
        self.written: list[Path] = []
        self.report_error = ""
        self._check_reports()
        self._register_markers()
        self._check_xdist()
        if config.args_source is not pytest.Config.ArgsSource.ARGS:
            # no path given: the vectors only (their directories, so node ids keep the file name)
            config.args[:] = sorted({str(path.parent) for path in self.files})

    # --- collection ----------------------------------------------------------------------------

    def pytest_collect_file(self, file_path, parent):
        found = self.files.get(Path(file_path).resolve())
        if found is None:
            return None
        return VectorFile.from_parent(parent, path=Path(file_path), cases=found.cases, cards=self.cards, run=self.run)

    # --- running -------------------------------------------------------------------------------

    def run(self, card: CardTarget, case) -> CaseResult:
        """The case on the card through Runner.case_events; a card that cannot be reached makes
        every case of it an ERROR naming why (once tried, not again for each case)."""
        if not card.state:
            self._open(card)
        if "error" in card.state:
            return CaseResult(case.id, case.title, case.ref, case.labels, Verdict.ERROR, card.state["error"],
                              file=case.file, line=case.line)
        events = card.state["runner"].case_events(case, card.state["context"])
        while True:
            try:
                next(events)
            except StopIteration as done:
                return done.value

    def _open(self, card: CardTarget) -> None:
        image = card.description if card.kind == "reader" else (card.source if card.kind == "image" else None)
        try:
            # No image lock: under xdist every worker may open the same image, each its own copy.
            spec = TargetSpec(card.kind, card.source, describe=card.description if card.kind == "reader" else None,
                              lock=False)
            transport, under_test = open_target(spec)
        except (TransportError, OSError, ValueError) as exc:
            card.state["error"] = f"{card.label}: cannot reach the card: {exc}"
            return
        image_path = getattr(under_test, "image_path", None) or image
        timeout = self.config.getoption("sscard_timeout") or DEFAULT_TIMEOUT
        runner = Runner(self.suite, transport, under_test, timeout=timeout, image_path=image_path)
        provenance = prov.build(self.suite, under_test, transport, image_path=image_path,
                                selection=self._selection(), timeout=runner.timeout)
        card.state.update(runner=runner, transport=transport, context=runner.applicability_context(),
                          provenance=provenance, unsent=True)

    def _selection(self) -> str:
        chosen = [f"-{o} {self.config.getoption(n)}" for o, n in (("k", "keyword"), ("m", "markexpr"))
                  if self.config.getoption(n)]
        return " ".join(chosen)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if not isinstance(item, CaseItem) or item.result is None:
            return
        errored = item.result.verdict is Verdict.ERROR
        if call.when == ("setup" if errored else "call"):  # the report that carries the verdict
            from .reports.json_report import case_dict

            data = {"card": item.card.label, "case": case_dict(item.result)}
            if item.card.state.pop("unsent", False):  # once per card and process: what ran it
                data["provenance"] = item.card.state["provenance"]
            report.sscard = data

    def pytest_runtest_logreport(self, report):
        data = getattr(report, "sscard", None)
        if not data or not self.controller:
            return
        card = self.gathered.setdefault(data["card"], {"provenance": None, "cases": {}})
        if data.get("provenance") and card["provenance"] is None:
            card["provenance"] = data["provenance"]
        card["cases"][data["case"]["id"]] = data["case"]

    # --- the end -------------------------------------------------------------------------------

    def pytest_sessionfinish(self, session):
        for card in self.cards:
            if "runner" in card.state:
                card.state["runner"].close()
                card.state["transport"].close()
        if not self.controller or not self.gathered:
            return
        paths = [(p, kind) for p, kind in ((self.config.getoption("sscard_json"), "json"),
                                           (self.config.getoption("sscard_html"), "html")) if p]
        if not paths:
            return
        from .reports import html, json_report, writing

        results = self.results()
        render = {"json": lambda: json_report.dumps(results), "html": lambda: html.render(results)}
        try:
            self.written = writing.write_all([(path, render[kind]()) for path, kind in paths])
        except writing.ReportError as exc:
            from sscard.exitcodes import NOT_WRITTEN

            self.report_error = str(exc)
            session.exitstatus = NOT_WRITTEN

    def results(self) -> list:
        """Every card's run as SuiteResults, cases in suite order (the reports' input)."""
        from .reports.json_report import from_dict

        out = []
        for card in self.cards:
            gathered = self.gathered.get(card.label)
            if not gathered:
                continue
            cases = sorted(gathered["cases"].values(), key=lambda c: self.order.get(c["id"], len(self.order)))
            unopened = {"card": {"label": card.source if card.kind == "reader" else card.label},
                        "reader": card.source if card.kind == "reader" else ""}  # as a run would name it
            provenance = dict(gathered["provenance"] or unopened)
            provenance.update(ended=prov.now(), deselected=len(self.suite.cases) - len(cases))
            label = (provenance.get("card") or {}).get("label") or card.label
            out.append(from_dict({"provenance": provenance, "cases": cases, "summary": {"card": label}},
                                 f"cases of {card.label}"))
        return out

    def pytest_terminal_summary(self, terminalreporter):
        if not self.controller or not self.gathered:
            return
        terminalreporter.section("sscard conformance")
        for result in self.results():
            counts = result.counts()
            shown = ", ".join(f"{counts[v.value]} {v.value}" for v in ORDER if counts[v.value])
            terminalreporter.write_line(f"{printable(result.card)}: {result.verdict.value} ({shown})")
        if self.written:
            terminalreporter.write_line("reports: " + ", ".join(map(str, self.written)))
        if self.report_error:
            terminalreporter.write_line(f"reports not written: {printable(self.report_error)}", red=True)

    # --- xdist: one worker per reader ------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_xdist_make_scheduler(self, config, log):
        readers = {c.label: c.group for c in self.cards if c.group}
        if not readers:
            return None  # emulated cards only: each worker builds its own, any distribution does
        return reader_scheduling(config, log, readers)

    def _check_xdist(self) -> None:
        if any(c.group for c in self.cards) and self.config.getoption("dist", "no") == "each":
            raise pytest.UsageError("--sscard-reader cannot run with --dist each: every worker would talk "
                                    "to every reader; use -n N (the plugin gives each reader one worker)")

    # --- configuration checks ------------------------------------------------------------------

    def _check_reports(self) -> None:
        from .reports import writing

        for name in ("sscard_json", "sscard_html"):
            path = self.config.getoption(name)
            if path and self.controller:
                try:
                    writing.check(path)
                except writing.ReportError as exc:
                    raise pytest.UsageError(f"--{name.replace('_', '-')}: {exc}") from None

    def _register_markers(self) -> None:
        add = self.config.addinivalue_line
        add("markers", "sscard: a conformance vector case (sscard pytest plugin)")
        for area in sorted({c.area for c in self.suite.cases}):
            add("markers", f"{marker_name('area', area)}: vector cases SSC.{area}.*")
        for label in sorted({label for c in self.suite.cases for label in c.labels}):
            add("markers", f"{marker_name('label', label)}: vector cases labelled {label}")
        if not self.config.pluginmanager.hasplugin("xdist"):
            add("markers", "xdist_group(name): the reader a case needs (used by pytest-xdist)")


def reader_scheduling(config, log, readers: dict[str, str]):
    """xdist's scope scheduling with a reader's items as one unit, the unit of reader N offered
    first to worker gwN (N mod the workers). A worker with no unit of its own takes a free one,
    or any left: a reader still goes to exactly one worker, and no worker waits for ever."""
    from xdist.scheduler import LoadScopeScheduling

    class ReaderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            plain = nodeid.rsplit("@", 1)[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid
            match = re.search(r"\[([^\[\]]*)\]$", plain)
            return readers.get(match.group(1), nodeid) if match else nodeid

        def _assign_work_unit(self, node) -> None:
            worker = int(node.gateway.id[2:]) if re.fullmatch(r"gw\d+", node.gateway.id) else -1

            def owner(scope: str):
                found = _READER_GROUP.fullmatch(scope)
                return int(found.group(1)) % self.numnodes if found else None

            scopes = list(self.workqueue)
            choice = next((s for s in scopes if owner(s) == worker), None) \
                or next((s for s in scopes if owner(s) is None), scopes[0])
            self.workqueue.move_to_end(choice, last=False)
            super()._assign_work_unit(node)

    return ReaderScheduling(config, log)


def _load(config):
    try:
        return load_suite(_vector_source(config))
    except VectorError as exc:
        raise pytest.UsageError(f"the vector suite has {len(exc.problems)} problem(s):\n{exc}") from None


def _vector_source(config):
    """--sscard-vectors; else the vector files and directories named on the command line (a
    node id's file part); else None, the project's vectors/."""
    named = list(config.getoption("sscard_vectors"))
    if not named and config.args_source is pytest.Config.ArgsSource.ARGS:
        for arg in config.args:
            path = Path(arg.split("::")[0])
            if path.suffix in (".yaml", ".yml") or (path.is_dir() and any(path.glob("*.y*ml"))):
                named.append(str(path))
    if not named:
        return None
    files = []
    for path in map(Path, named):
        if not path.exists():
            raise pytest.UsageError(f"--sscard-vectors: {path} does not exist")
        files += sorted(p for p in path.glob("*.y*ml") if p.is_file()) if path.is_dir() else [path]
    return files


def _cards(config) -> list[CardTarget]:
    """The cards of the options, labels unique: builtins, then emulated images or readers."""
    from simulator.image import ImageError, load_image

    images, readers = config.getoption("sscard_image"), config.getoption("sscard_reader")
    for image in images:
        try:
            load_image(image)  # a bad image is a usage error naming file:line, before any item
        except (ImageError, OSError) as exc:
            raise pytest.UsageError(f"--sscard-image: {exc}") from None
    if readers and len(images) not in (0, 1, len(readers)):
        raise pytest.UsageError(f"{len(images)} --sscard-image for {len(readers)} --sscard-reader: give one "
                                "description for every reader, or one per reader in order")
    cards = []
    for name in config.getoption("sscard_builtin"):
        for profile in filter(None, (p.strip() for p in name.split(","))):
            if profile not in BUILTIN:
                raise pytest.UsageError(f"--sscard-builtin: {profile!r} is not one of {', '.join(BUILTIN)}")
            cards.append(CardTarget(profile, "builtin", profile))
    if readers:
        described = images * len(readers) if len(images) == 1 else images or [None] * len(readers)
        cards += [CardTarget(_safe(r), "reader", r, d, i) for i, (r, d) in enumerate(zip(readers, described))]
    else:
        cards += [CardTarget(_safe(Path(i).stem), "image", i) for i in images]
    seen: dict[str, int] = {}
    for card in cards:  # the same card twice, or two images of one name: gen2, gen2-2
        seen[card.label] = seen.get(card.label, 0) + 1
        if seen[card.label] > 1:
            card.label = f"{card.label}-{seen[card.label]}"
    return cards
