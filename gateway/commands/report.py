"""`safehome report TRACE... [--lang fi|sv|en] [--from DATE] [--to DATE] -o report.html
[--pdf report.pdf]`: the weekly care report of a home, from its traces.

The traces replay through the ordinary pipeline (anything `safehome replay` runs); the
report is the last 7 days up to `--to` (default: the last whole day in the traces)
against the days before it from `--from` on. One self-contained HTML page; `--pdf` also
prints it to PDF with a headless chromium when one is installed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="weekly care report (HTML) of a home from its traces")
    p.add_argument("traces", nargs="+", metavar="TRACE")
    p.add_argument("--lang", choices=("fi", "sv", "en"), default="fi", help="language (default fi)")
    p.add_argument("--from", dest="first", metavar="DATE", help="first day learned as usual (YYYY-MM-DD)")
    p.add_argument("--to", dest="last", metavar="DATE",
                   help="last day of the reported week (YYYY-MM-DD; default the last whole day)")
    p.add_argument("-o", "--output", required=True, metavar="HTML", help="report file to write")
    p.add_argument("--pdf", metavar="PDF", help="also print the report to this PDF (needs chromium)")
    p.set_defaults(func=run)


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"{option} {text!r} is not a date like 2026-03-30") from None


def run(args: argparse.Namespace) -> int:
    from gateway.report.data import from_traces
    from gateway.report.html import render_html
    from sensordata.trace.reader import TraceError

    try:
        first, last = _date(args.first, "--from"), _date(args.last, "--to")
    except SystemExit as exc:
        print(f"error: {exc}; fix the option", file=sys.stderr)
        return 2
    if first and last and first > last:
        print(f"error: --from {first} is after --to {last}; swap them", file=sys.stderr)
        return 2
    try:
        data = from_traces(list(args.traces), first=first, last=last)
    except (OSError, TraceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    html = render_html(data, args.lang)
    out = Path(args.output)
    out.write_text(html, encoding="utf-8")
    print(f"{out}: {len(html.encode()):,} bytes, week {data.week_start}..{data.week_end}, "
          f"{data.usual_days} usual days, {sum(1 for r in data.rows if r.changed)} changed measures")
    if args.pdf:
        return print_pdf(out, Path(args.pdf))
    return 0


def print_pdf(html: Path, pdf: Path) -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        print("error: --pdf needs chromium (apt-get install chromium); the HTML is written",
              file=sys.stderr)
        return 2
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf.resolve()}", html.resolve().as_uri()],
                   check=False, capture_output=True, timeout=120)
    if not pdf.exists():
        print(f"error: chromium did not write {pdf}", file=sys.stderr)
        return 1
    print(f"{pdf}: {pdf.stat().st_size:,} bytes")
    return 0
