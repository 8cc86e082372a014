#!/usr/bin/env bash
# Prove the wheel on arm64 (the Raspberry Pi's architecture) from an x86 Debian 12 machine:
# an arm64 Debian 12 userland built by debootstrap from this machine's configured Debian
# mirror, run under qemu-user emulation (binfmt_misc). In it: a fresh venv, the wheel
# installed with `pip install -c requirements.lock` (aarch64 wheels from the package index
# this machine's pip is configured with), then `uname -m`, `safehome --version`,
# `safehome config check` on the shipped examples and `safehome demo` to "Demo complete".
#
#   sudo bash scripts/arm64-check.sh            # prints timings, ends "arm64 check ok ..."
#   bash scripts/arm64-check.sh --mirror        # print the Debian mirror it would use, exit
#
# Needs root (debootstrap, chroot, mounts). Installs qemu-user-static, binfmt-support and
# debootstrap from Debian's packages when missing; downloads nothing from anywhere else.
# The userland is cached (SAFEHOME_ARM64_CACHE, default /var/cache/safehome-arm64) and
# rebuilt only when its package list changes, so a second run takes minutes, not tens of
# minutes. Each run builds the wheel afresh and installs it into a new venv.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUITE=bookworm                 # Debian 12, the base of Raspberry Pi OS bookworm
PACKAGES=python3,python3-venv,ca-certificates,mosquitto   # mosquitto: the demo's broker, as on a Pi
CACHE="${SAFEHOME_ARM64_CACHE:-/var/cache/safehome-arm64}"
ROOTFS="$CACHE/rootfs"
APT_ETC="${SAFEHOME_APT_ETC:-/etc/apt}"   # where the configured mirror is read from (tests point it elsewhere)

# The first `deb` source for the suite's main component, from sources.list (one-line format)
# and sources.list.d/*.list / *.sources (deb822). Security and -updates suites do not count:
# debootstrap wants the archive itself.
configured_mirror() {
  python3 - "$APT_ETC" "$SUITE" <<'PY'
import pathlib, re, sys
etc, suite = pathlib.Path(sys.argv[1]), sys.argv[2]
entries = []  # (types, uris, suites, components)
def one_line(path):
    for line in path.read_text().splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()  # drop [arch=... signed-by=...]
        if len(words) >= 4 and words[0] in ("deb", "deb-src"):
            entries.append(([words[0]], [words[1]], [words[2]], words[3:]))
def deb822(path):
    for stanza in path.read_text().split("\n\n"):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "uris" in fields:
            entries.append((fields.get("types", "deb").split(), fields["uris"].split(),
                            fields.get("suites", "").split(), fields.get("components", "").split()))
main_list = etc / "sources.list"
if main_list.is_file():
    one_line(main_list)
parts = etc / "sources.list.d"
for path in sorted(parts.glob("*")) if parts.is_dir() else []:
    if path.suffix == ".list":
        one_line(path)
    elif path.suffix == ".sources":
        deb822(path)
for types, uris, suites, components in entries:
    if "deb" in types and suite in suites and "main" in components:
        print(uris[0].rstrip("/"))
        sys.exit(0)
sys.exit(f"no 'deb' source for {suite} main in {etc}/sources.list or {etc}/sources.list.d/; "
         f"configure Debian's archive there (or set SAFEHOME_ARM64_MIRROR)")
PY
}

if [ "${1:-}" = "--mirror" ]; then
  if [ -n "${SAFEHOME_ARM64_MIRROR:-}" ]; then echo "$SAFEHOME_ARM64_MIRROR"; else configured_mirror; fi
  exit 0
fi

source "$REPO/scripts/bootstrap.sh"      # as_root, apt_install; cd's to the repository
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then exec sudo -E bash "$0" "$@"; fi
  echo "arm64-check needs root (debootstrap, chroot and mounts)" >&2
  exit 1
fi

T0=$EPOCHREALTIME
STEP_START=$T0
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
step() { STEP_START=$EPOCHREALTIME; printf '== %s\n' "$*"; }
took() { printf '   took %-30s %7s s\n' "$1" "$(since "$STEP_START")"; }
fail() { echo "arm64 check FAILED: $*" >&2; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock -n 9 || { echo "another arm64-check is running (lock $CACHE/lock); waiting" >&2; flock 9; }

# -- 1. host tools ---------------------------------------------------------------------
step "host tools: qemu-user-static, binfmt-support, debootstrap"
missing=()
[ -x /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static)
command -v update-binfmts >/dev/null || missing+=(binfmt-support)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
# binfmt_misc lets the kernel hand arm64 executables to qemu; containers often lack the mount.
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || fail "cannot mount binfmt_misc (a container without CAP_SYS_ADMIN?); run on the host"
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 \
  || fail "update-binfmts --enable qemu-aarch64 failed"
# F (fix binary): the kernel opened qemu at registration, so it works inside the chroot.
grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || fail "binfmt qemu-aarch64 is disabled"
grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 \
  || fail "binfmt qemu-aarch64 lacks the F flag; reinstall qemu-user-static (Debian registers it with F)"
took "host tools"

# -- 2. the arm64 userland (cached) ----------------------------------------------------
MIRROR="${SAFEHOME_ARM64_MIRROR:-$(configured_mirror)}"
WANT="suite=$SUITE packages=$PACKAGES variant=minbase"

mounted_under() { findmnt -rn -o TARGET | grep -E "^$1(/|$)" || true; }
unmount_all() {
  local m
  for m in $(mounted_under "$ROOTFS" | sort -r); do umount -l "$m" 2>/dev/null || true; done
  for m in $(mounted_under "$ROOTFS.new" | sort -r); do umount -l "$m" 2>/dev/null || true; done
}
trap unmount_all EXIT
unmount_all   # left over from an interrupted run

if [ -f "$ROOTFS/.safehome-arm64" ] && [ "$(cat "$ROOTFS/.safehome-arm64")" = "$WANT" ]; then
  step "arm64 Debian 12 userland: cached in $ROOTFS"
  took "userland (cached)"
else
  step "arm64 Debian 12 userland: debootstrap from the configured mirror (first run: 10-20 min)"
  [ -z "$(mounted_under "$ROOTFS.new")" ] || fail "something is still mounted under $ROOTFS.new"
  rm -rf "$ROOTFS.new"
  debootstrap --arch=arm64 --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS.new" "$MIRROR" \
    > "$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log" >&2; fail "debootstrap (log: $CACHE/debootstrap.log)"; }
  echo "$WANT" > "$ROOTFS.new/.safehome-arm64"
  [ -z "$(mounted_under "$ROOTFS")" ] || fail "something is still mounted under $ROOTFS"
  rm -rf "$ROOTFS"
  mv "$ROOTFS.new" "$ROOTFS"
  took "userland (debootstrap)"
fi

# -- 3. the wheel (built on the host: it is pure Python) -------------------------------
step "wheel: pip wheel --no-deps"
DIST="$CACHE/dist"
rm -rf "$DIST" && mkdir -p "$DIST"
python3 -m pip wheel -q --no-deps -w "$DIST" "$REPO" > "$CACHE/wheel.log" 2>&1 \
  || { tail -20 "$CACHE/wheel.log" >&2; fail "building the wheel (log: $CACHE/wheel.log)"; }
WHEEL="$(ls "$DIST"/safehome-*-py3-none-any.whl)"
took "wheel $(basename "$WHEEL")"

# -- 4. into the userland: pip's index config, DNS, the wheel and the lock --------------
# The chroot gets this machine's index settings (index-url, http(s) extra-index-url,
# timeout, CA bundle), so it reaches the same package index the host does; file:// indexes
# and find-links are the host's local caches (x86 wheels) and stay out.
python3 - "$ROOTFS" <<'PY'
import configparser, pathlib, shutil, subprocess, sys
root = pathlib.Path(sys.argv[1])
out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
settings = {}
for line in out.splitlines():
    key, _, value = line.partition("=")
    settings[key.rsplit(".", 1)[-1].replace("_", "-")] = value.strip().strip("'\"")
conf = configparser.ConfigParser()
conf["global"] = {}
g = conf["global"]
if settings.get("index-url"):
    g["index-url"] = settings["index-url"]
extra = [u for u in settings.get("extra-index-url", "").split() if u.startswith(("http://", "https://"))]
if extra:
    g["extra-index-url"] = " ".join(extra)
for key in ("timeout", "default-timeout", "proxy", "trusted-host", "retries"):
    if settings.get(key):
        g[key.replace("default-", "")] = settings[key]
cert = settings.get("cert")
if cert and pathlib.Path(cert).is_file():
    shutil.copyfile(cert, root / "etc/safehome-host-ca.crt")
    g["cert"] = "/etc/safehome-host-ca.crt"
g["disable-pip-version-check"] = "true"
with open(root / "etc/pip.conf", "w") as f:
    f.write("# Written by scripts/arm64-check.sh from the host's pip configuration.\n")
    conf.write(f)
PY
cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
rm -rf "$ROOTFS/opt/safehome-check" && mkdir -p "$ROOTFS/opt/safehome-check"
cp "$WHEEL" "$REPO/requirements.lock" "$ROOTFS/opt/safehome-check/"
mount -t proc proc "$ROOTFS/proc"
mount --bind /dev "$ROOTFS/dev"
mount --bind /dev/pts "$ROOTFS/dev/pts"
mount -t tmpfs tmpfs "$ROOTFS/tmp"

in_arm64() {  # in_arm64 CMD... : run in the userland with a clean environment
  chroot "$ROOTFS" /usr/bin/env -i PATH=/opt/safehome-check/venv/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb COLUMNS=100 \
    ${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy} \
    ${no_proxy:+no_proxy=$no_proxy} "$@"
}

step "under emulation: uname -m"
ARCH="$(in_arm64 uname -m)"
echo "   $ARCH"
[ "$ARCH" = aarch64 ] || fail "uname -m says '$ARCH', not aarch64"
in_arm64 python3 -c 'import platform, sys; print("   python", sys.version.split()[0], platform.machine())'
took "uname -m"

step "under emulation: fresh venv, pip install -c requirements.lock $(basename "$WHEEL")[gpio]"
in_arm64 python3 -m venv --clear /opt/safehome-check/venv
in_arm64 pip install -q -c /opt/safehome-check/requirements.lock \
  "/opt/safehome-check/$(basename "$WHEEL")[gpio]" 2>&1 | sed 's/^/   /' \
  || fail "pip install in the arm64 userland"
in_arm64 python3 - <<'PY' || fail "installed versions differ from requirements.lock"
import re
from importlib.metadata import version
wrong = []
for line in open("/opt/safehome-check/requirements.lock"):
    m = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line)
    if m and version(m[1]) != m[2]:
        wrong.append(f"{m[1]} {version(m[1])} (lock: {m[2]})")
print("   every locked package at its locked version" if not wrong else "\n".join(wrong))
raise SystemExit(1 if wrong else 0)
PY
in_arm64 python3 -c 'import numpy, pydantic_core, cryptography, platform
print("   numpy", numpy.__version__, "from", numpy.__file__.split("site-packages/")[1].split("/")[0],
      "| pydantic-core", pydantic_core.__version__, "| machine", platform.machine())'
took "venv + pip install"

step "under emulation: safehome --version"
VERSION="$(in_arm64 safehome --version)"
echo "   $VERSION"
took "safehome --version"

step "under emulation: safehome config check on the shipped examples"
# home.toml names its broker credentials by environment variable, as a real install's
# secrets.env provides them (docs/install.md step 3).
for name in home.toml demo-home.toml; do
  in_arm64 env SAFEHOME_MQTT_USERNAME=gw SAFEHOME_MQTT_PASSWORD=check \
    sh -c "safehome config example $name > /tmp/$name && safehome config check /tmp/$name" 2>&1 \
    | sed 's/^/   /' || fail "safehome config check $name"
done
took "config check"

step "under emulation: safehome demo"
DEMO_LOG="$CACHE/demo.log"
in_arm64 safehome demo --duration 600s > "$DEMO_LOG" 2>&1 || { cat "$DEMO_LOG" >&2; fail "safehome demo exited non-zero"; }
sed 's/^/   /' "$DEMO_LOG" | head -40
grep -q "Demo complete" "$DEMO_LOG" || fail "the demo did not print 'Demo complete'"
took "safehome demo"
DEMO_S="$(since "$STEP_START")"

TOTAL="$(since "$T0")"
printf 'arm64 check ok: %s, %s installed from the wheel with requirements.lock, demo complete in %.0f s (total %.0f s)\n' \
  "$ARCH" "$VERSION" "$DEMO_S" "$TOTAL"
