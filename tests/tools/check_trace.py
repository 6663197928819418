#!/usr/bin/env python3
# Check that a `softiommu run --trace` file is what trace viewers (Perfetto,
# chrome://tracing) accept: JSON with a "traceEvents" array whose events each have name, ph,
# ts, pid and tid; complete events (X) have a duration >= 0 and nest on each lane;
# begin/end events (B/E) balance per thread; instant events have a scope; every pid used is named by a process_name
# metadata event; and the events this run must produce are there.
#
#   check_trace.py FILE [NAME...]     each NAME must occur as an event name
import json
import sys
from collections import defaultdict


def main():
    path, want = sys.argv[1], sys.argv[2:]
    with open(path) as f:
        doc = json.load(f)
    errors = []
    events = doc.get("traceEvents")
    if not isinstance(events, list) or not events:
        print("no traceEvents array")
        return 1
    named_pids, used_pids, names = set(), set(), set()
    depth = defaultdict(int)
    for i, e in enumerate(events):
        for k in ("name", "ph", "ts", "pid", "tid"):
            if k not in e:
                errors.append(f"event {i} has no {k}: {e}")
        ph = e.get("ph")
        if ph not in ("X", "i", "M", "B", "E"):
            errors.append(f"event {i} has phase {ph!r}")
        if not isinstance(e.get("ts"), (int, float)) or e.get("ts", 0) < 0:
            errors.append(f"event {i} has a bad timestamp")
        if ph == "X" and (not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0):
            errors.append(f"complete event {i} has no duration >= 0")
        if ph == "i" and e.get("s") not in ("t", "p", "g"):
            errors.append(f"instant event {i} has no scope")
        if ph == "B":
            depth[(e["pid"], e["tid"])] += 1
        if ph == "E":
            depth[(e["pid"], e["tid"])] -= 1
            if depth[(e["pid"], e["tid"])] < 0:
                errors.append(f"event {i} ends what did not begin")
        if ph == "M" and e.get("name") == "process_name":
            named_pids.add(e["pid"])
        elif ph != "M":
            used_pids.add(e.get("pid"))
            names.add(e.get("name"))
    for lane, d in depth.items():
        if d:
            errors.append(f"lane {lane}: {d} begin events never end")
    # Complete events on one lane must nest (a viewer stacks them): each one that starts
    # inside another ends inside it too.
    spans = defaultdict(list)
    for e in events:
        if e.get("ph") == "X":
            spans[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"], e["name"]))
    for lane, v in spans.items():
        v.sort(key=lambda x: (x[0], -x[1]))
        stack = []
        for start, end, name in v:
            while stack and stack[-1][1] <= start:
                stack.pop()
            if stack and end > stack[-1][1] + 1e-3:
                errors.append(f"lane {lane}: {name} at {start} overlaps {stack[-1][2]} "
                              "without nesting")
                break
            stack.append((start, end, name))
    for pid in used_pids - named_pids:
        errors.append(f"pid {pid} has events but no process_name")
    for n in want:
        if n not in names:
            errors.append(f"no event named {n!r}")
    if "displayTimeUnit" in doc and doc["displayTimeUnit"] not in ("ms", "ns"):
        errors.append("displayTimeUnit must be ms or ns")
    for e in errors[:20]:
        print(e)
    print(f"{len(events)} events, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
