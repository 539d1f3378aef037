"""JUnit XML: one test suite per phase, one test case per unit, one failure element per failure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html import escape
from itertools import groupby

from rooms_kit.contract.report.table import cause_details
from rooms_kit.contract.report.xml_text import xml_document
from rooms_kit.contract.results import FailureRecord, Results
from rooms_kit.contract.secrets import NOTE, placeholder


def add_failure(case: ET.Element, record: FailureRecord) -> None:
    """One ``failure`` element under ``case``: the check, its title, the message and exchange."""
    failure = ET.SubElement(
        case, "failure", message=f"[{record.check}] {record.title}", type=record.check
    )
    details = [record.message] if record.message else []
    if record.exchange is not None:
        details += [record.exchange.describe(), NOTE]
    failure.text = "\n".join(details)


def render_junit(results: Results) -> str:
    """The JUnit XML; the whole document goes through ``results.secrets.scrub`` (no token)."""
    return results.secrets.scrub(_junit(results), lambda number: escape(placeholder(number)))


def _junit(results: Results) -> str:
    root = ET.Element("testsuites", name="rooms-kit contract")
    # Nothing checked: no root causes either (the deadline's failure stays on its unit's case).
    causes = [] if results.nothing_checked else results.root_causes()
    if causes:
        suite = ET.SubElement(
            root, "testsuite", name="root causes", tests=str(len(causes)), failures=str(len(causes))
        )
        for index, cause in enumerate(causes, 1):
            case = ET.SubElement(
                suite, "testcase", classname="contract.root_causes", name=f"{index}. {cause.title}"
            )
            failure = ET.SubElement(
                case, "failure", message=cause.title, type=",".join(cause.checks)
            )
            failure.text = "\n".join([*cause_details(cause), NOTE])
    units = sorted(results.units, key=lambda unit: unit.phase)
    for phase, group in groupby(units, key=lambda unit: unit.phase):
        members = list(group)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=phase,
            tests=str(len(members)),
            failures=str(sum(1 for unit in members if unit.failures)),
            errors=str(sum(1 for unit in members if unit.error)),
            time=f"{sum(unit.seconds for unit in members):.3f}",
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="seed", value=str(results.seed))
        ET.SubElement(properties, "property", name="profile", value=results.profile)
        for unit in members:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"contract.{phase}",
                name=unit.name,
                time=f"{unit.seconds:.3f}",
            )
            for record in unit.failures:
                add_failure(case, record)
            if unit.error:
                ET.SubElement(case, "error", message=unit.error)
    if results.not_run:
        suite = ET.SubElement(
            root,
            "testsuite",
            name="not run",
            tests=str(len(results.not_run)),
            skipped=str(len(results.not_run)),
        )
        for name in results.not_run:
            case = ET.SubElement(suite, "testcase", classname="contract.not_run", name=name)
            ET.SubElement(
                case, "skipped", message="not run: the run reached its deadline (--max-time)"
            )
    return xml_document(root)
