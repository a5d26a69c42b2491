"""JUnit XML for CI systems. Mapping (design.md): FAIL -> <failure>, ERROR -> <error>, every other
non-PASS verdict -> <skipped> whose message starts with the verdict. One <testsuite> per card.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from ..textsafe import xml_safe
from ..verdict import CaseResult, SuiteResult, Verdict
from .writing import write_text


def to_element(results: list[SuiteResult] | SuiteResult) -> ET.Element:
    results = [results] if isinstance(results, SuiteResult) else list(results)
    root = ET.Element("testsuites", name="sscard")
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    total_time = 0.0
    for result in results:
        suite = _suite(result)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key))
        total_time += float(suite.get("time"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    return root


def dumps(results) -> str:
    root = to_element(results)
    for element in root.iter():  # vector titles, reasons and card data are outside text
        element.text = None if element.text is None else xml_safe(element.text)
        for name, value in element.attrib.items():
            element.set(name, xml_safe(value))
    ET.indent(root)
    return "<?xml version='1.0' encoding='utf-8'?>\n" + ET.tostring(root, encoding="unicode") + "\n"


def write(results, path, create_under=None) -> None:
    """The XML written atomically, mode 0600 (reports/writing.py)."""
    write_text(path, dumps(results), create_under)


def _suite(result: SuiteResult) -> ET.Element:
    counts = result.counts()
    skipped = sum(n for v, n in counts.items() if v not in ("PASS", "FAIL", "ERROR"))
    duration = sum(c.duration for c in result.cases)
    suite = ET.Element("testsuite", name=f"sscard {result.card}", tests=str(len(result.cases)),
                       failures=str(counts["FAIL"]), errors=str(counts["ERROR"]), skipped=str(skipped),
                       time=f"{duration:.3f}", timestamp=str(result.provenance.get("started", "")))
    properties = ET.SubElement(suite, "properties")
    for name, value in _flat(result.provenance):
        ET.SubElement(properties, "property", name=name, value=value)
    for case in result.cases:
        suite.append(_testcase(case))
    return suite


def _testcase(case: CaseResult) -> ET.Element:
    element = ET.Element("testcase", classname=f"SSC.{case.area}" if case.area else "SSC",
                         name=f"{case.case_id} {case.title}", time=f"{case.duration:.3f}")
    if case.file:
        element.set("file", case.file)
        element.set("line", str(case.line))
    message = case.reason or case.verdict.value
    if case.verdict is Verdict.FAIL:
        ET.SubElement(element, "failure", message=message, type="FAIL").text = _details(case)
    elif case.verdict is Verdict.ERROR:
        ET.SubElement(element, "error", message=message, type="ERROR").text = _details(case)
    elif case.verdict is not Verdict.PASS:
        ET.SubElement(element, "skipped", message=f"{case.verdict.value}: {case.reason}".rstrip(": "))
    if case.steps:
        ET.SubElement(element, "system-out").text = _details(case)
    return element


def _details(case: CaseResult) -> str:
    lines = [f"ref: {', '.join(case.ref)}   label: {', '.join(case.labels)}"]
    for step in case.steps:
        lines.append(f"[{step.verdict.value}] {step.phase} {step.index + 1}: {step.title}")
        if step.command is not None:
            lines.append(f"  >> {step.command.hex().upper()}")
        if step.response is not None:
            lines.append(f"  << {step.response.hex().upper()}")
        if step.expected:
            lines.append(f"  expected: {step.expected}")
        if step.reason:
            lines.append(f"  {step.reason}")
    lines += [f"warning: {w}" for w in case.warnings]
    return "\n".join(lines)


def _flat(value, prefix: str = ""):
    """Provenance as name=value pairs (JUnit properties are flat)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flat(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        yield prefix, ", ".join(str(v) for v in value)
    elif value is not None:
        yield prefix, str(value)
