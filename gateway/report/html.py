"""The weekly care report as one self-contained HTML page (inline CSS and SVG, no external
resources), readable on a phone, printable on one A4 page.

Why this layout: a nurse reads it in a minute before a visit. So first the changes in
plain words, then a table of this week against the usual, then one small chart per
feature with the usual range shaded, so a picture backs every number.
"""

from __future__ import annotations

from datetime import date
from html import escape

from gateway.care_words import NAMES, change_words, value_text
from gateway.report.data import ReportData, Row
from gateway.report.svg import chart

T: dict[str, dict[str, str]] = {
    "title": {"fi": "Viikkoraportti", "sv": "Veckorapport", "en": "Weekly care report"},
    "home": {"fi": "Koti", "sv": "Hem", "en": "Home"},
    "week": {"fi": "Viikko", "sv": "Vecka", "en": "Week"},
    "against": {"fi": "verrattuna {n} päivään ennen {end}", "sv": "jämfört med {n} dagar före {end}",
                "en": "compared with {n} days before {end}"},
    "changes": {"fi": "Huomatut muutokset", "sv": "Förändringar som märkts", "en": "Changes noticed"},
    "none": {"fi": "Ei merkittäviä muutoksia tavalliseen viikkoon verrattuna.",
             "sv": "Inga märkbara förändringar jämfört med en vanlig vecka.",
             "en": "No notable changes compared with a usual week."},
    "learning": {"fi": "Tavallista viikkoa on opittu vasta {n} päivää; vertailu on suuntaa-antava.",
                 "sv": "Den vanliga veckan är inlärd från bara {n} dagar; jämförelsen är preliminär.",
                 "en": "The usual week is learned from only {n} days; the comparison is tentative."},
    "table": {"fi": "Tämä viikko ja tavallinen", "sv": "Den här veckan och det vanliga",
              "en": "This week and the usual"},
    "feature": {"fi": "Mittari", "sv": "Mått", "en": "Measure"},
    "this_week": {"fi": "Tämä viikko", "sv": "Denna vecka", "en": "This week"},
    "usual": {"fi": "Tavallisesti", "sv": "Vanligen", "en": "Usually"},
    "charts": {"fi": "Päivä päivältä", "sv": "Dag för dag", "en": "Day by day"},
    "legend": {"fi": "Harmaa alue: tavallinen vaihtelu. Viiva: päivän arvo. Pisteet ja sininen tausta: tämä viikko.",
               "sv": "Grått område: vanlig variation. Linje: dagens värde. Punkter och blå bakgrund: denna vecka.",
               "en": "Grey band: usual variation. Line: each day's value. Dots on blue: this week."},
    "privacy": {"fi": "Laskettu kodin antureista kotona; raakatietoja ei lähetetä kodin ulkopuolelle.",
                "sv": "Beräknat i hemmet från hemmets sensorer; inga rådata lämnar hemmet.",
                "en": "Computed in the home from its sensors; no raw data leaves the home."},
    "raised": {"fi": "Kodin ilmoittamat muutokset (4 viikkoa)", "sv": "Förändringar hemmet meddelat (4 veckor)",
               "en": "Changes the home reported (last 4 weeks)"},
    "week_mean": {"fi": "tällä viikolla {week}, tavallisesti {usual}",
                  "sv": "denna vecka {week}, vanligen {usual}",
                  "en": "this week {week}, usually {usual}"},
}
ARROW = {1: "▲", -1: "▼", 0: ""}

CSS = """
*{box-sizing:border-box}
body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;margin:0;background:#fff}
main{max-width:980px;margin:0 auto;padding:16px}
h1{font-size:1.45em;margin:0 0 2px}
h2{font-size:1.1em;margin:18px 0 6px;border-bottom:1px solid #d0d7de;padding-bottom:2px}
.sub{color:#57606a;margin:0}
.note{background:#fff8c5;border-left:4px solid #d4a72c;padding:6px 10px;margin:10px 0}
ul.changes{padding-left:0;list-style:none;margin:0}
ul.changes li{border-left:4px solid #cf222e;background:#fff0ee;padding:6px 10px;margin:6px 0}
ul.changes li.ok{border-color:#1a7f37;background:#effaf1}
ul.raised{padding-left:18px;margin:0}ul.raised li{margin:3px 0}
table{border-collapse:collapse;width:100%}
td,th{padding:4px 6px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;white-space:nowrap}
tr.up td,tr.down td{font-weight:600}
.arrow{color:#cf222e}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:10px}
figure{margin:0;border:1px solid #eaeef2;border-radius:6px;padding:6px}
figcaption{font-weight:600;font-size:.92em}
svg.chart{width:100%;height:auto;display:block}
.band{fill:#d8dee4}.usual{stroke:#8c959f;stroke-dasharray:3 3}
.week{fill:#ddf4ff}.line{fill:none;stroke:#24292f;stroke-width:1.4}
.dot{fill:#0969da}.tick{font-size:10px;fill:#57606a}
.legend,.privacy{color:#57606a;font-size:.85em}
@media print{body{font-size:11px}main{max-width:none;padding:0}
.grid{grid-template-columns:repeat(3,1fr)}figure{break-inside:avoid}
h2{break-after:avoid}@page{size:A4;margin:12mm}}
"""


def _fmt_date(d: date, lang: str) -> str:
    return f"{d.day}.{d.month}.{d.year}" if lang in ("fi", "sv") else d.isoformat()


def _short(d: date, lang: str) -> str:
    return f"{d.day}.{d.month}." if lang in ("fi", "sv") else f"{d.month}/{d.day}"


def _sentence(row: Row, lang: str) -> str:
    w = change_words({"feature": _index(row.feature), "direction": row.changed,
                      "usual": row.usual, "recent": row.week}, lang)
    return (f"{_cap(w['feature_name'])}: {w['direction_word']} "
            + {"fi": "kuin tavallisesti", "sv": "än vanligt", "en": "than usual"}[lang]
            + " (" + T["week_mean"][lang].format(week=w["recent_text"], usual=w["usual_text"]) + ").")


def _index(feature: str) -> int:
    from detectors.day_features import FEATURES
    return FEATURES.index(feature)


def render_html(data: ReportData, lang: str = "fi") -> str:
    t = {k: v[lang] for k, v in T.items()}
    n_usual = data.usual_days
    out = [f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{escape(t['title'])} {escape(_fmt_date(data.week_end, lang))}</title>",
           f"<style>{CSS}</style></head><body><main>",
           f"<h1>{escape(t['title'])}</h1>",
           f'<p class="sub">{escape(t["home"])} {escape(data.home)} · {escape(t["week"])} '
           f"{escape(_fmt_date(data.week_start, lang))}–{escape(_fmt_date(data.week_end, lang))} · "
           f"{escape(t['against'].format(n=n_usual, end=_fmt_date(data.usual_end or data.week_start, lang)))}</p>"]
    if n_usual < 14:
        out.append(f'<p class="note">{escape(t["learning"].format(n=n_usual))}</p>')
    out.append(f"<h2>{escape(t['changes'])}</h2><ul class=\"changes\">")
    items = [_sentence(row, lang) for row in data.rows if row.changed]
    for text in items:
        out.append(f"<li>{escape(text)}</li>")
    if not items:
        out.append(f'<li class="ok">{escape(t["none"])}</li>')
    out.append("</ul>")
    raised = [e for e in data.changes if _recent(e.occurred_at, data, 28)]
    if raised:
        out.append(f"<h2>{escape(t['raised'])}</h2><ul class=\"raised\">")
        for e in sorted(raised, key=lambda e: e.occurred_at):
            out.append(f"<li><b>{escape(_short(_local_day(e.occurred_at, data), lang))}</b> "
                       f"{escape(e.text.get(lang, ''))}</li>")
        out.append("</ul>")
    out.append(f"<h2>{escape(t['table'])}</h2><table><thead><tr><th>{escape(t['feature'])}</th>"
               f'<th class="n">{escape(t["this_week"])}</th><th class="n">{escape(t["usual"])}</th>'
               "</tr></thead><tbody>")
    for row in data.rows:
        cls = {1: ' class="up"', -1: ' class="down"', 0: ""}[row.changed]
        arrow = f' <span class="arrow">{ARROW[row.changed]}</span>' if row.changed else ""
        out.append(f"<tr{cls}><td>{escape(_cap(NAMES[row.feature][lang]))}{arrow}</td>"
                   f'<td class="n">{escape(value_text(row.feature, row.week, lang))}</td>'
                   f'<td class="n">{escape(value_text(row.feature, row.usual, lang))}</td></tr>')
    out.append("</tbody></table>")
    out.append(f"<h2>{escape(t['charts'])}</h2><div class=\"grid\">")
    for row in data.rows:
        feature = row.feature

        def label(v: float, f: str = feature) -> str:
            return value_text(f, v, lang)

        svg = chart(data.series(feature), row.usual, row.spread, data.week_start, label,
                    NAMES[feature][lang], lambda d: _short(d, lang))
        if svg:
            out.append(f"<figure><figcaption>{escape(_cap(NAMES[row.feature][lang]))}</figcaption>"
                       f"{svg}</figure>")
    out.append("</div>")
    out.append(f'<p class="legend">{escape(t["legend"])}</p>')
    out.append(f'<p class="privacy">{escape(t["privacy"])}</p></main></body></html>')
    return "\n".join(out)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _local_day(t: float, data: ReportData) -> date:
    import datetime as dt
    from zoneinfo import ZoneInfo
    return dt.datetime.fromtimestamp(t, ZoneInfo(data.timezone)).date()


def _recent(t: float, data: ReportData, days: int) -> bool:
    """Raised within `days` before the week's end (a day's change is raised at 13:00 the
    day after it, so the day after the week still counts)."""
    import datetime as dt
    day = _local_day(t, data)
    return data.week_end - dt.timedelta(days=days - 1) <= day <= data.week_end + dt.timedelta(days=1)
