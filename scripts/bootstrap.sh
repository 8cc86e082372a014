# Sourced by scripts/demo.sh and scripts/test.sh: a virtualenv in .venv with the project
# installed editable, plus the Debian packages it needs when they are missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root for: $*" >&2; return 1; fi; }

apt_install() {  # apt_install PKG... : install Debian packages, updating the lists once
  if [ -z "${_SAFEHOME_APT_UPDATED:-}" ]; then as_root apt-get update -qq; _SAFEHOME_APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_venv() {  # ensure_venv EXTRAS : .venv with safehome[EXTRAS] installed
  local extras="$1"
  if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "safehome needs Python 3.11 or newer (Debian 12 / Raspberry Pi OS bookworm have it)" >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv 2>/dev/null || { apt_install python3-venv && python3 -m venv .venv; }
  fi
  local stamp=".venv/.safehome-$extras-$(cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
    # setuptools announces every flat-layout editable install with a BuildBackendWarning
    # ("Editable installation ... folders with the same name"); it is information, and it
    # would be the first thing `scripts/demo.sh` shows. The filter reaches the build backend
    # through the environment pip passes on.
    PYTHONWARNINGS="ignore:Editable installation" \
      .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]" 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/python -c 'import gateway, aiomqtt, aiosqlite' && touch "$stamp"
  fi
}
