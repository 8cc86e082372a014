#!/usr/bin/env bash
# Screenshots of the weekly care report (safehome report) at phone (390x844) and desktop
# (1280x800) width, in build/screenshots/ (or the folder given as $1): the browser test
# simulates a home whose routine changes, writes its report and saves each view it checks.
source "$(dirname "$0")/bootstrap.sh"
[ -x /usr/bin/chromium ] || apt_install chromium
ensure_venv test
out="$(realpath -m "${1:-build/screenshots}")"
mkdir -p "$out"
SAFEHOME_SCREENSHOTS="$out" .venv/bin/python -m pytest -q -n 0 -p no:cacheprovider tests/gateway/report/test_care_report_browser.py
echo "screenshots in $out:" && ls "$out"
