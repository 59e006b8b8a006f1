#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Validates a CITATION.cff against the Citation File Format 1.2.0 JSON schema (Debian's PyYAML and
jsonschema, with format checks), then prints the parsed document as JSON for the C++ test to read.

usage: cff_check.py SCHEMA_JSON CITATION_CFF   -> exit 0 and the document as JSON; exit 1 and the
                                                 validation errors when the file is not valid CFF
"""
import datetime
import json
import sys

import jsonschema
import yaml

schema_path, cff_path = sys.argv[1], sys.argv[2]
with open(schema_path, encoding="utf-8") as f:
    schema = json.load(f)
with open(cff_path, encoding="utf-8") as f:
    doc = yaml.safe_load(f)

# YAML reads unquoted dates as date objects; the schema (like cffconvert) expects strings.
def plain(value):
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value

doc = plain(doc)
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
if errors:
    for e in errors:
        print("%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(root)", e.message))
    sys.exit(1)
print(json.dumps(doc))
