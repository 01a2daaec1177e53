#!/usr/bin/env python3
"""Checks proto/ against itself and against the Swift message types.

- every schema is a valid draft 2020-12 schema;
- every MessageType case (parsed from Sources/SnapfleetProtocol/MessageType.swift) has
  schemas/<type>.json and at least one examples/valid/<type>[-variant].json, and every
  schema names a MessageType;
- common.json's error_code and backup_phase enums list exactly the Swift cases;
- every valid example validates against the schema of its type;
- every invalid example's frame FAILS the schema of its type (or every schema, when its
  type is missing or unknown, or when it is not a JSON object), and its expected_code is
  an ErrorCode.

Prints one line per check and `N passed, M failed`; exits 1 on any failure.
Needs Python 3.11 and `pip install jsonschema` (which brings `referencing`).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

PROTO = Path(__file__).resolve().parent
ROOT = PROTO.parent
SCHEMAS = PROTO / "schemas"
VALID = PROTO / "examples" / "valid"
INVALID = PROTO / "examples" / "invalid"
SWIFT = ROOT / "Sources" / "SnapfleetProtocol"
ERROR_CODE_SWIFT = ROOT / "Sources" / "SnapfleetCore" / "ErrorCode.swift"

CASE = re.compile(r'^\s*case\s+`?(\w+)`?(?:\s*=\s*"([^"]*)")?\s*$')


def enum_cases(path: Path, name: str) -> list[str]:
    """The raw values of a Swift String enum's cases (its own, not those of nested types)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.search(rf"\benum\s+{name}\b", line))
    values, depth = [], 0
    for line in lines[start:]:
        code = line.split("//", 1)[0]
        if depth == 1 and (match := CASE.match(code)):
            values.append(match.group(2) if match.group(2) is not None else match.group(1))
        depth += code.count("{") - code.count("}")
        if depth == 0 and "}" in code:
            break
    return values


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok    {what}")
        else:
            self.failed += 1
            print(f"FAIL  {what}" + (f": {detail}" if detail else ""))


def load_schemas() -> tuple[dict[str, dict], Registry]:
    schemas = {path.stem: json.loads(path.read_text()) for path in sorted(SCHEMAS.glob("*.json"))}
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return schemas, registry


def errors(validator: Draft202012Validator, instance: object) -> list[str]:
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in found]


def example_type(path: Path) -> str:
    """`backup_state-failed.json` → `backup_state` (type names never contain '-')."""
    return path.stem.split("-", 1)[0]


def main() -> int:
    report = Report()
    types = enum_cases(SWIFT / "MessageType.swift", "MessageType")
    codes = enum_cases(ERROR_CODE_SWIFT, "ErrorCode")
    phases = enum_cases(SWIFT / "Backup.swift", "BackupPhase")
    report.check(len(types) > 0 and len(codes) > 0 and len(phases) > 0, "parsed MessageType, ErrorCode and BackupPhase cases")

    schemas, registry = load_schemas()
    for name, schema in schemas.items():
        try:
            Draft202012Validator.check_schema(schema)
            report.check(True, f"schemas/{name}.json is a valid draft 2020-12 schema")
        except Exception as error:  # noqa: BLE001 - any schema error is a failure to report
            report.check(False, f"schemas/{name}.json is a valid draft 2020-12 schema", str(error))

    message_schemas = {name: s for name, s in schemas.items() if name != "common"}
    validators = {name: Draft202012Validator(s, registry=registry) for name, s in message_schemas.items()}
    valid_examples = sorted(VALID.glob("*.json"))
    for message_type in types:
        report.check(message_type in message_schemas, f"MessageType '{message_type}' has schemas/{message_type}.json")
        report.check(
            any(example_type(p) == message_type for p in valid_examples),
            f"MessageType '{message_type}' has a valid example",
        )
    for name in message_schemas:
        report.check(name in types, f"schemas/{name}.json names a MessageType")

    defs = schemas["common"]["$defs"]
    report.check(defs["error_code"]["enum"] == codes, "common.json error_code lists every ErrorCode in order",
                 f"schema {defs['error_code']['enum']} vs Swift {codes}")
    report.check(defs["backup_phase"]["enum"] == phases, "common.json backup_phase lists every BackupPhase in order",
                 f"schema {defs['backup_phase']['enum']} vs Swift {phases}")

    for path in valid_examples:
        label = f"valid/{path.name}"
        try:
            frame = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            report.check(False, label, f"not JSON: {error}")
            continue
        declared = example_type(path)
        if not isinstance(frame, dict) or frame.get("type") != declared:
            report.check(False, label, f"type must be '{declared}' (the file name's prefix)")
            continue
        if declared not in validators:
            report.check(False, label, f"no schema for type '{declared}'")
            continue
        problems = errors(validators[declared], frame)
        report.check(not problems, label, "; ".join(problems))

    for path in sorted(INVALID.glob("*.json")):
        label = f"invalid/{path.name}"
        try:
            example = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            report.check(False, label, f"example file is not JSON: {error}")
            continue
        keys = set(example) if isinstance(example, dict) else set()
        if not (keys == {"expected_code", "frame"} or keys == {"expected_code", "frame_text"}):
            report.check(False, label, "must be {expected_code, frame} or {expected_code, frame_text}")
            continue
        if example["expected_code"] not in codes:
            report.check(False, label, f"expected_code '{example['expected_code']}' is not an ErrorCode")
            continue
        if "frame_text" in example:
            try:
                frame = json.loads(example["frame_text"])
            except json.JSONDecodeError:
                report.check(True, f"{label} (not JSON)")
                continue
            if isinstance(frame, dict):
                report.check(False, label, "frame_text is a JSON object: put it in 'frame'")
                continue
        else:
            frame = example["frame"]
            if not isinstance(frame, dict):
                report.check(False, label, "frame is not an object: put its text in 'frame_text'")
                continue
        declared = frame.get("type") if isinstance(frame, dict) else None
        if isinstance(declared, str) and declared in validators:
            accepted_by = [declared] if not errors(validators[declared], frame) else []
        else:
            accepted_by = [name for name, v in validators.items() if not errors(v, frame)]
        report.check(not accepted_by, f"{label} (refused: {example['expected_code']})",
                     f"accepted by schemas/{', '.join(accepted_by)}.json")

    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
