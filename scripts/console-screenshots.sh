#!/usr/bin/env bash
# Screenshots of every console page at phone (390x844) and desktop (1280x800) width, in
# build/screenshots/ (or the folder given as $1): the browser tests run the demo home with a
# real broker and an acknowledging centre, and save each page as they check it.
source "$(dirname "$0")/bootstrap.sh"
[ -x /usr/bin/chromium ] || apt_install chromium
ensure_venv test,plot,demo
out="$(realpath -m "${1:-build/screenshots}")"
mkdir -p "$out"
SAFEHOME_SCREENSHOTS="$out" .venv/bin/python -m pytest -q -p no:cacheprovider tests/gateway/console/test_console_browser.py
echo "screenshots in $out:" && ls "$out"
