"""Human-readable evaluation report with rich tables (the JSON form is the same dict): the
command's printing, so the evaluation library (gateway/evaluation/) never imports a command."""

from __future__ import annotations

from typing import Any


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def print_report(report: dict[str, Any], outcomes: list[Any], files: str | None) -> None:
    from rich.table import Table

    from gateway.commands.common import console
    con = console()   # not cut at 80 columns in a log or a pipe
    s = report["summary"]
    if files is None:
        files = "all" if len(outcomes) <= 200 else "errors"
    if files != "none":
        t = Table(title="Per file")
        for c in ("file", "activity", "kind", "result", "delay s", "peak g", "posture deg",
                  "suspected/cancelled"):
            t.add_column(c)
        for o in outcomes:
            if files == "errors" and o.correct and not o.false_alarm:
                continue
            if o.rec.is_fall:
                res = "detected" if o.detected else "MISSED"
                if o.false_alarm:
                    res += " +false alarm"
            else:
                res = "FALSE ALARM" if o.false_alarm else "ok"
            ev = o.evidence
            t.add_row(o.rec.name, o.rec.activity, "fall" if o.rec.is_fall else "adl", res,
                      "-" if o.delay_s is None else f"{o.delay_s:.2f}",
                      f'{ev["peak_g"]:.1f}' if "peak_g" in ev else "-",
                      f'{ev["posture_change_deg"]:.0f}' if "posture_change_deg" in ev else "-",
                      f"{o.suspected}/{o.cancelled}")
        con.print(t)
    t = Table(title="Per activity")
    for c in ("activity", "files", "falls detected", "ADL false alarms", "rate"):
        t.add_column(c)
    for act, v in report["per_activity"].items():
        t.add_row(act, str(v["files"]), f'{v["detected"]}/{v["falls"]}' if v["falls"] else "-",
                  f'{v["false_positives"]}/{v["adls"]}' if v["adls"] else "-",
                  _pct(v["sensitivity"] if v["falls"] else v["specificity"]))
    con.print(t)
    t = Table(title="Per subject (one fixed setting: the spread is the cross-subject check)")
    for c in ("subject", "sensitivity", "specificity", "falls", "ADLs"):
        t.add_column(c)
    for subj, v in report["per_subject"].items():
        t.add_row(subj, _pct(v["sensitivity"]), _pct(v["specificity"]), str(v["falls"]),
                  str(v["adls"]))
    con.print(t)
    d = s["delay_s"]
    con.print(f"[bold]{report['format']} ({report['placement']})[/bold]: {s['files']} files, "
              f"{s['falls']} falls, {s['adls']} ADLs")
    con.print(f"sensitivity {_pct(s['sensitivity'])} ({s['detected']}/{s['falls']}), "
              f"specificity {_pct(s['specificity'])} ({s['adls'] - s['false_positives']}/"
              f"{s['adls']}), false alarms in fall files {s['false_alarms_in_fall_files']}")
    tm = report.get("timing", {})
    con.print(f"sample timing: {tm.get('samples_repeated_time', 0)} samples shared the previous "
              f"sample's time, {tm.get('samples_stepped_back', 0)} stepped back (left off the "
              "time axis, their peaks kept)")
    fpg = ", ".join(f"{g} {_pct(v)}" for g, v in s["false_positive_rate_by_group"].items())
    con.print(f"ADL false positive rate by group: {fpg}; "
              f"{s['false_alarms_per_adl_hour'] or 0:.2f} false alarms per hour of ADL recordings")
    if d:
        con.print(f"delay from labelled onset to fall_suspected: median {d['median']:.2f} s, "
                  f"p90 {d['p90']:.2f} s, max {d['max']:.2f} s (n={d['n']})")
    for rate, v in report["subject_spread"].items():
        con.print(f"per-subject {rate}: min {_pct(v['min'])} ({v['worst_subject']}), median "
                  f"{_pct(v['median'])}, max {_pct(v['max'])} over {v['subjects']} subjects")
    cs = report.get("cross_subject")
    if cs:
        h = cs["held_out"]
        con.print(f"leave-one-subject-out (settings picked on the other subjects): sensitivity "
                  f"{_pct(h['sensitivity'])}, specificity {_pct(h['specificity'])}; defaults "
                  f"picked for {cs['defaults_chosen']}/{len(cs['chosen'])} subjects")
        for rate, v in cs["subject_spread"].items():
            con.print(f"  held-out per-subject {rate}: min {_pct(v['min'])} "
                      f"({v['worst_subject']}), median {_pct(v['median'])}, max {_pct(v['max'])}")
    if "plots" in report:
        con.print(f"plots: {report['plots']['roc']}, {report['plots']['activities']}")
