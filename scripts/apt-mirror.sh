# Sourced by the scripts that debootstrap (bench-pull.sh,
# make-debian-rootfs.sh): defines apt_mirror, which prints a mirror URI.
# SUITE names the suite to look for (bookworm by default).
SUITE=${SUITE:-bookworm}

# The Debian mirror this machine already uses, so no script names one:
# the first enabled `deb` source serving $SUITE's main component, in apt's
# reading order (sources.list, then sources.list.d/*.list and *.sources by
# name; one-line and deb822 formats). Security, updates and third-party
# sources carry other suites and are passed over.
apt_mirror() {
  local list=/etc/apt/sources.list parts=/etc/apt/sources.list.d
  # apt-config gives the paths apt itself reads (Dir::Etc, APT_CONFIG).
  if command -v apt-config >/dev/null; then
    eval "$(apt-config shell list Dir::Etc::sourcelist/f parts Dir::Etc::sourceparts/d)"
  fi
  python3 - "$SUITE" "$list" "${parts%/}" <<'PY'
import glob, sys
suite, main_list, parts = sys.argv[1:]
files = [main_list] + sorted(glob.glob(parts + "/*.list") + glob.glob(parts + "/*.sources"))

def one_line(text):
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # [arch=... signed-by=...]
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 3:
            yield ["deb"], [words[0]], [words[1]], words[2:]

def deb822(text):
    stanzas, fields, key = [], {}, None
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if fields:
                stanzas.append(fields)
            fields, key = {}, None
        elif line[0] in " \t" and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
    for f in stanzas:
        if f.get("enabled", "yes").lower() == "no":
            continue
        yield (f.get("types", "").split(), f.get("uris", "").split(),
               f.get("suites", "").split(), f.get("components", "").split())

for path in files:
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except FileNotFoundError:
        continue
    for types, uris, suites, components in (deb822 if path.endswith(".sources") else one_line)(text):
        if "deb" in types and suite in suites and "main" in components and uris:
            print(uris[0])
            sys.exit(0)
sys.exit(f"apt-mirror: no enabled `deb` source for {suite} main in {main_list} or "
         f"{parts}/*.list, *.sources; set MIRROR to a Debian mirror's URI")
PY
}

