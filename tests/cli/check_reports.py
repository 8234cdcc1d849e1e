#!/usr/bin/env python3
"""Checks ward's machine-readable output for the tests (tests/cli/*.sh):

  check_reports.py json FILE...        every line starting with '{' of each
      file must parse as a report object with ward's fields (a leak group's:
      no pointer, its bytes and objects); prints one line
      a report: "KIND|CALL|suppressed|first function:file:line of each stack"
  check_reports.py sarif FILE SCHEMA   FILE must validate against SCHEMA
      (jsonschema) and hold together (each ruleId a rule, ruleIndex right);
      prints one line a result: "RULEID URI:LINE"
Exits 1 with a message on the first failure."""
import json
import sys


def fail(msg):
    print("check_reports: " + msg)
    sys.exit(1)


def check_json(paths):
    n = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for ln, line in enumerate(f, 1):
                if not line.startswith("{"):
                    continue
                try:
                    r = json.loads(line)
                except ValueError as e:
                    fail(f"{path}:{ln}: not JSON: {e}")
                leak = r.get("kind") in ("direct leak", "indirect leak")
                for k, t in (("kind", str), ("call", str), ("pointer", type(None) if leak else str), ("detail", str),
                             ("thread", int), ("process", int), ("command", str), ("suppressed", bool),
                             ("stacks", list)) + ((("bytes", int), ("objects", int)) if leak else ()):
                    if not isinstance(r.get(k), t):
                        fail(f"{path}:{ln}: field {k} missing or not {t.__name__}: {r.get(k)!r}")
                if not leak and not r["pointer"].startswith("0x"):
                    fail(f"{path}:{ln}: pointer {r['pointer']}")
                where = []
                for s in r["stacks"]:
                    if not isinstance(s.get("title"), str) or not isinstance(s.get("frames"), list):
                        fail(f"{path}:{ln}: a stack without title or frames")
                    first = None
                    for fr in s["frames"]:
                        if not isinstance(fr.get("pc"), str) or not fr["pc"].startswith("0x"):
                            fail(f"{path}:{ln}: a frame without pc")
                        if "module" in fr and not isinstance(fr.get("offset"), str):
                            fail(f"{path}:{ln}: a frame with a module but no offset")
                        if "line" in fr and not isinstance(fr["line"], int):
                            fail(f"{path}:{ln}: a frame's line is not a number")
                        if first is None and "libward" not in fr.get("module", "") and "function" in fr:
                            first = f"{fr['function']}:{fr.get('file', '')}:{fr.get('line', 0)}"
                    where.append(f"{s['title']}={first}")
                print("|".join([r["kind"], r["call"], "suppressed" if r["suppressed"] else "reported"] + where))
                n += 1
    if n == 0:
        fail("no JSON report in " + " ".join(paths))


def check_sarif(path, schema_path):
    import jsonschema
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError as e:
        fail(f"{path}: not valid against {schema_path}: {e.message} at {list(e.absolute_path)}")
    for run in doc["runs"]:
        rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
        if len(set(rules)) != len(rules):
            fail(f"{path}: a rule id twice: {rules}")
        for res in run["results"]:
            if res["ruleId"] not in rules:
                fail(f"{path}: ruleId {res['ruleId']} is not a rule")
            if "ruleIndex" in res and rules[res["ruleIndex"]] != res["ruleId"]:
                fail(f"{path}: ruleIndex {res['ruleIndex']} is not {res['ruleId']}")
            loc = res["locations"][0]["physicalLocation"]
            base = loc["artifactLocation"].get("uriBaseId")
            if base and base not in run.get("originalUriBaseIds", {}):
                fail(f"{path}: uriBaseId {base} is not defined")
            print(f"{res['ruleId']} {loc['artifactLocation']['uri']}:{loc['region']['startLine']}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "json":
        check_json(sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "sarif":
        check_sarif(sys.argv[2], sys.argv[3])
    else:
        fail("usage: check_reports.py json FILE... | sarif FILE SCHEMA")
