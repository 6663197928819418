#!/usr/bin/env python3
# Run `softiommu ARGS...`, check its exit status, and check the JSON report it wrote.
#
#   check_run.py TOOL RC JSON_FILE [CHECK...] -- ARGS...
#
# Each CHECK is a Python expression over `r`, the parsed JSON report (docs/softiommu.1,
# JSON REPORT), with helpers:
#   dma(device, pasid)  the dma row of that device; pasid None (no PASID), 'kernel', or a number
#   inv(type, gran=None, device=None)  invalidations of that type (and granularity, device)
#   cache(name, device=None)  the caches row of that name (and device TLB of that device)
# A CHECK that is false (or raises) fails the test, printed with the values it saw.
# JSON_FILE "-" skips the JSON checks (the exit status alone is checked).
import json
import subprocess
import sys


def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    tool, rc, json_file, checks, args = argv[0], int(argv[1]), argv[2], argv[3:sep], argv[sep + 1:]
    p = subprocess.run([tool] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    if p.returncode != rc:
        print(f"exit status {p.returncode}, expected {rc}")
        return 1
    if json_file == "-":
        return 0
    with open(json_file) as f:
        r = json.load(f)

    def dma(device, pasid=None):
        for row in r["dma"]:
            if row["device"] != device:
                continue
            if pasid == "kernel" and row["kernel_pasid"]:
                return row
            if pasid is None and row["pasid"] is None:
                return row
            if isinstance(pasid, int) and row["pasid"] == pasid:
                return row
        raise KeyError(f"no dma row for {device} pasid {pasid}")

    def inv(type, gran=None, device=None):
        table = r["invalidations"]["by_type"] if device is None else \
            r["invalidations"]["by_device"][device]["by_type"]
        t = table.get(type, {})
        return sum(t.values()) if gran is None else t.get(gran, 0)

    def cache(name, device=None):
        for row in r["caches"]:
            if row["cache"] == name and row["device"] == device:
                return row
        raise KeyError(f"no cache row {name} for device {device}")

    failed = 0
    for c in checks:
        try:
            ok = eval(c, {"r": r, "dma": dma, "inv": inv, "cache": cache, "sum": sum, "len": len})
        except Exception as e:  # a missing key is a failed check
            ok = False
            print(f"check {c!r} raised {e!r}")
        if not ok:
            print(f"check failed: {c}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
