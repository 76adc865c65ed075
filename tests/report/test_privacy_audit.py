"""Logs and error messages never contain patient names: a scan of the whole package.

Every exception raised, every logging call and every message the window or the command
line shows (status bar, problems list, warnings, errors) is checked for a patient field
formatted into it: the patient's name, ID or birth date, a study's label (discovery
makes it the patient's name) or a study title. Messages name files and reasons instead.
The dynamic side (real messages from real failures) is in tests/cli/test_report_reading.py
and tests/gui/test_report_export.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mammoview

PACKAGE = Path(mammoview.__file__).resolve().parent
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}
LOGGERS = {"log", "logger", "logging", "_log"}
# Functions whose text reaches the user as a message (not as the listing they asked for).
MESSAGE_SINKS = {"_warn", "_fail", "add_problem", "_set_work", "_report", "showMessage", "set_worklist_problem"}
PATIENT_FIELDS = {"patient_name", "patient_id", "patient_birth_date", "birth_date"}
TITLE_FUNCTIONS = {"study_title", "_study_title", "_study_name"}


def identifying_part(node: ast.AST) -> str | None:
    """The source of a patient field used inside ``node``, or None."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute):
            if sub.attr in PATIENT_FIELDS:
                return ast.unparse(sub)
            if sub.attr in ("name", "id") and isinstance(sub.value, ast.Attribute) and sub.value.attr == "patient":
                return ast.unparse(sub)
            if sub.attr == "label" and "study" in ast.unparse(sub.value).lower():
                return ast.unparse(sub)
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in TITLE_FUNCTIONS:
            return ast.unparse(sub)
    return None


def _is_sink(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute):
        if func.attr in LOG_METHODS and isinstance(func.value, ast.Name) and func.value.id in LOGGERS:
            return True
        return func.attr in MESSAGE_SINKS
    return isinstance(func, ast.Name) and func.id in MESSAGE_SINKS


def message_leaks(source: str, name: str = "<source>") -> list[str]:
    """"file:line: field" for every message built from a patient field in ``source``."""
    leaks = []
    for node in ast.walk(ast.parse(source)):
        calls = []
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            calls.append(node.exc)
        if isinstance(node, ast.Call) and _is_sink(node):
            calls.append(node)
        for call in calls:
            for arg in (*call.args, *(k.value for k in call.keywords)):
                found = identifying_part(arg)
                if found:
                    leaks.append((call.lineno, f"{name}:{call.lineno}: {found}"))
    return [text for _, text in sorted(leaks)]


def test_the_scan_finds_a_patient_field_in_a_message():
    bad = (
        "def f(ref, study, log, problems):\n"
        "    log.warning('cannot read %s', ref.patient.name)\n"
        "    problems.add_problem(ref.path, f'{study.label}: broken')\n"
        "    raise ValueError(f'bad birth date {ref.patient.birth_date}')\n"
        "    raise ValueError(f'{study_title(study)} has no images')\n"
    )
    assert [leak.split(": ")[1] for leak in message_leaks(bad)] == [
        "ref.patient.name", "study.label", "ref.patient.birth_date", "study_title(study)"]
    fine = "def f(ref, log):\n    log.warning('cannot read %s', ref.display_name)\n"
    assert message_leaks(fine) == []


def test_no_log_or_error_message_in_the_package_carries_a_patient_field():
    leaks = []
    for path in sorted(PACKAGE.rglob("*.py")):
        leaks += message_leaks(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    assert leaks == []
