"""Builds the BENCHMARKS.md crypto table from criterion's estimates and the MIT program's
output (both produced in the same run by benches/crypto-compare)."""

import json
import os
import platform
import sys


def criterion_medians(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        if os.path.basename(dirpath) == "new" and "benchmark.json" in files:
            with open(os.path.join(dirpath, "benchmark.json")) as f:
                full_id = json.load(f)["full_id"]
            with open(os.path.join(dirpath, "estimates.json")) as f:
                out[full_id] = json.load(f)["median"]["point_estimate"]
    return out


def mit_medians(path):
    out = {}
    with open(path) as f:
        for line in f:
            name, ns = line.split()
            out[name] = float(ns)
    return out


def fmt_time(ns):
    if ns is None:
        return "—"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def fmt_rate(ns, size):
    if ns is None or size is None:
        return ""
    mib_s = size / (ns / 1e9) / (1 << 20)
    return f" ({mib_s:.0f} MiB/s)"


def ratio(a, b):
    return "—" if a is None or b is None else f"{a / b:.2f}×"


def main():
    ours = criterion_medians(sys.argv[1])
    mit = mit_medians(sys.argv[2])
    rows = []
    rows.append(("string-to-key aes256-cts-hmac-sha1-96, 4096 iter", None,
                 ours.get("s2k/azkrb/aes256-sha1-4096"), mit.get("s2k/mit/aes256-sha1-4096"), None,
                 ours.get("s2k/floor/sha1-16384-compressions"), "16,384 serial SHA-1 compressions"))
    rows.append(("string-to-key aes256-cts-hmac-sha384-192, 32768 iter", None,
                 ours.get("s2k/azkrb/aes256-sha384-32768"), mit.get("s2k/mit/aes256-sha384-32768"), None,
                 ours.get("s2k/floor/sha512-65536-compressions"), "65,536 serial SHA-512 compressions"))
    for etype in ("aes256-cts-hmac-sha1-96", "aes256-cts-hmac-sha384-192"):
        for op in ("encrypt", "decrypt"):
            for size in (64, 1024, 65536, 1048576):
                floor = None
                floor_name = ""
                if etype.endswith("sha1-96"):
                    floor = ours.get(f"floor-{op}/aes256-cbc+hmac-sha1/raw/{size}")
                    floor_name = f"AES-256-CBC {op} + HMAC-SHA1"
                rows.append((f"{op} {etype}, {size} B", size,
                             ours.get(f"{op}/{etype}/azkrb/{size}"),
                             mit.get(f"{op}/{etype}/mit-c/{size}"),
                             mit.get(f"{op}/{etype}/mit-k/{size}"),
                             floor, floor_name))
        rows.append((f"checksum {etype}, 1024 B", 1024,
                     ours.get(f"checksum/azkrb/{etype}/1024"),
                     mit.get(f"checksum/{etype}/mit-c/1024"),
                     mit.get(f"checksum/{etype}/mit-k/1024"), None, ""))

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{cpu_model()}; medians; lower is better.\n")
    print("| operation | azkrb | MIT `krb5_c_*` | MIT `krb5_k_*` (cached key) | azkrb ÷ fastest MIT | floor | azkrb ÷ floor |")
    print("|---|---|---|---|---|---|---|")
    for name, size, a, mc, mk, floor, floor_name in rows:
        best = min(x for x in (mc, mk) if x is not None) if (mc or mk) else None
        floor_cell = f"{fmt_time(floor)} ({floor_name})" if floor else "—"
        print(f"| {name} | {fmt_time(a)}{fmt_rate(a, size)} | {fmt_time(mc)} | {fmt_time(mk)} "
              f"| {ratio(a, best)} | {floor_cell} | {ratio(a, floor)} |")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
