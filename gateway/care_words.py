"""The day features (detectors/day_features.py) in words a home-care nurse reads, in
Finnish, Swedish and English: their names, their values with units, and a change told in
one sentence. One place for the `routine_change` texts and the weekly care report.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from detectors.day_features import FEATURES

NAMES: dict[str, dict[str, str]] = {
    "up_time": {"fi": "aamun alkaminen", "sv": "morgonens början", "en": "start of the morning"},
    "bed_time": {"fi": "illan päättyminen", "sv": "kvällens slut", "en": "end of the evening"},
    "rest_hours": {"fi": "yölepo", "sv": "nattvila", "en": "night's rest"},
    "night_up": {"fi": "yöllä ylösnousut", "sv": "uppstigningar på natten", "en": "getting up at night"},
    "night_bathroom": {"fi": "yölliset WC-käynnit", "sv": "toalettbesök på natten", "en": "night-time bathroom visits"},
    "active_hours": {"fi": "aktiiviset tunnit", "sv": "aktiva timmar", "en": "active hours"},
    "away_hours": {"fi": "aika poissa kotoa", "sv": "tid borta hemifrån", "en": "time away from home"},
    "kitchen_visits": {"fi": "keittiökäynnit", "sv": "köksbesök", "en": "kitchen visits"},
    "meal_kitchen_minutes": {"fi": "keittiössä ruoka-aikoina", "sv": "i köket vid måltider", "en": "kitchen time at mealtimes"},
    "transitions": {"fi": "siirtymät huoneesta toiseen", "sv": "förflyttningar mellan rum", "en": "moves between rooms"},
    "walking_speed": {"fi": "kävelynopeus", "sv": "gånghastighet", "en": "walking speed"},
    "meals_no_kitchen": {"fi": "ateria-ajat ilman keittiön käyttöä", "sv": "måltider utan köksbesök",
                         "en": "mealtimes without kitchen use"},
    "outing_hours": {"fi": "ulkona käynnin kesto", "sv": "en utevistelses längd", "en": "length of an outing"},
}

UNITS: dict[str, dict[str, str]] = {
    "hours": {"fi": "h", "sv": "h", "en": "h"},
    "per_day": {"fi": "/vrk", "sv": "/dygn", "en": "/day"},
    "per_night": {"fi": "/yö", "sv": "/natt", "en": "/night"},
    "minutes": {"fi": "min", "sv": "min", "en": "min"},
}
KIND = {"up_time": "clock", "bed_time": "clock", "rest_hours": "hours", "night_up": "per_night",
        "night_bathroom": "per_night", "active_hours": "hours", "away_hours": "hours",
        "kitchen_visits": "per_day", "meal_kitchen_minutes": "minutes", "transitions": "per_day",
        "walking_speed": "speed", "meals_no_kitchen": "per_day", "outing_hours": "hours"}
#: direction of a change in words, for clock features (later/earlier) and amounts
MORE = {"fi": "enemmän", "sv": "mer", "en": "more"}
LESS = {"fi": "vähemmän", "sv": "mindre", "en": "less"}
LATER = {"fi": "myöhemmin", "sv": "senare", "en": "later"}
EARLIER = {"fi": "aikaisemmin", "sv": "tidigare", "en": "earlier"}
FASTER = {"fi": "nopeampi", "sv": "snabbare", "en": "faster"}
SLOWER = {"fi": "hitaampi", "sv": "långsammare", "en": "slower"}


def value_text(feature: str, v: float | None, lang: str) -> str:
    """A feature's value as a nurse reads it: 07:40, 8.5 h, 1.3 /night, 0.62 m/s."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    kind = KIND[feature]
    v = v + 0.0 if v != 0 else 0.0   # never "-0,0"
    dec = "," if lang in ("fi", "sv") else "."
    if kind == "clock":
        m = int(round(v)) % 1440
        sep = "." if lang in ("fi", "sv") else ":"
        return f"{m // 60:02d}{sep}{m % 60:02d}"
    if kind == "speed":
        return f"{v:.2f}".replace(".", dec) + " m/s"
    if kind == "minutes":
        return f"{v:.0f} {UNITS['minutes'][lang]}"
    return f"{v:.1f}".replace(".", dec).replace("-0" + dec + "0", "0" + dec + "0") + f" {UNITS[kind][lang]}"


def change_words(values: Mapping[str, Any], lang: str) -> dict[str, str]:
    """Words for a routine_change text: the feature's name, its direction, and the usual
    and recent values with units."""
    try:
        feature = FEATURES[int(values["feature"])]
    except (KeyError, ValueError, TypeError, IndexError):
        return {}
    up = float(values.get("direction", 1)) > 0
    kind = KIND[feature]
    word = ((LATER if up else EARLIER) if kind == "clock" else (FASTER if up else SLOWER)
            if kind == "speed" else (MORE if up else LESS))
    return {"feature_name": NAMES[feature][lang], "direction_word": word[lang],
            "usual_text": value_text(feature, _num(values.get("usual")), lang),
            "recent_text": value_text(feature, _num(values.get("recent")), lang)}


def _num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
