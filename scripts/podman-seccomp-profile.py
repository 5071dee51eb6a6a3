#!/usr/bin/env python3
"""Prints Podman's default seccomp profile (containers-common's
/usr/share/containers/seccomp.json, Docker's format) as the runtime spec's
linux.seccomp for x86_64 and Podman's default capabilities, the way Podman
turns it into config.json. Used by the benchmark."""
import json
import sys

SOURCE = "/usr/share/containers/seccomp.json"
ARCH = "SCMP_ARCH_X86_64"
CAPS = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
        "CAP_SYS_CHROOT"}

profile = json.load(open(sys.argv[1] if len(sys.argv) > 1 else SOURCE))
arches = []
for entry in profile.get("archMap") or []:
    if entry["architecture"] == ARCH:
        arches = [ARCH] + entry.get("subArchitectures", [])


def applies(rule):
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if inc.get("arches") and "amd64" not in inc["arches"]:
        return False
    if inc.get("caps") and not set(inc["caps"]) <= CAPS:
        return False
    if exc.get("arches") and "amd64" in exc["arches"]:
        return False
    if exc.get("caps") and set(exc["caps"]) & CAPS:
        return False
    return True


syscalls = []
for rule in profile["syscalls"]:
    if not applies(rule):
        continue
    out = {"names": rule["names"], "action": rule["action"]}
    if rule.get("args"):
        out["args"] = [{k: a[k] for k in ("index", "value", "valueTwo", "op") if k in a}
                       for a in rule["args"]]
    if rule.get("errnoRet") is not None:
        out["errnoRet"] = rule["errnoRet"]
    syscalls.append(out)
seccomp = {"defaultAction": profile["defaultAction"], "architectures": arches,
           "syscalls": syscalls}
if profile.get("defaultErrnoRet") is not None:
    seccomp["defaultErrnoRet"] = profile["defaultErrnoRet"]
json.dump(seccomp, sys.stdout)
