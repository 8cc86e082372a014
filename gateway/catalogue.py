"""Every event type the gateway can publish: its class, severity, reference code and text.

The catalogue is the single place where an event type is defined. The MQTT contract
(docs/mqtt-api.md, docs/schemas/) lists exactly these types, and every alarm carries
human text in Finnish, Swedish and English rendered from the templates here.

Reference codes are SIA/Ademco Contact ID event codes, a vocabulary alarm receiving
centres already map to their own procedures (see ../shared/reference/alarm-centre.md).
Each coded type also has its Contact ID event qualifier: 1 a new event, 3 a restore (the
condition ended), 6 a status report (a condition reported before is still present). The
full mapping, and why some types carry no code, is in docs/contact-id.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter
from typing import Any, Mapping

ALARM = "alarm"  # goes to the `alarm` topic, needs the centre's acknowledgement
EVENT = "event"  # goes to the `event` topic: technical, restore, information

CRITICAL, WARNING, INFO = "critical", "warning", "info"
LANGS = ("fi", "sv", "en")

# Contact ID event qualifiers (SIA DC-05): what the code says about the condition.
NEW_EVENT, RESTORE, STATUS_REPORT = 1, 3, 6
QUALIFIERS = (NEW_EVENT, RESTORE, STATUS_REPORT)


@dataclass(frozen=True)
class EventType:
    name: str
    kind: str
    severity: str
    contact_id: int               # 0: no Contact ID code (not forwarded as Contact ID)
    text: Mapping[str, str]
    qualifier: int = NEW_EVENT    # meaningful only when contact_id is not 0


def _t(name: str, kind: str, severity: str, cid: int, fi: str, sv: str, en: str,
       qualifier: int = NEW_EVENT) -> EventType:
    return EventType(name, kind, severity, cid, {"fi": fi, "sv": sv, "en": en}, qualifier)


_TYPES = [
    # --- alarms: a person may need help now ---------------------------------------------
    _t("fall", ALARM, CRITICAL, 120,
       "Kaatuminen havaittu ({room}).", "Fall upptäckt ({room}).", "Fall detected ({room})."),
    _t("sos", ALARM, CRITICAL, 101,
       "Hätäpainiketta painettu ({room}).", "Larmknappen har tryckts ({room}).",
       "Emergency button pressed ({room})."),
    _t("inactivity", ALARM, CRITICAL, 641,
       "Ei liikettä kotona {hours_inactive:.1f} tuntiin.",
       "Ingen rörelse i hemmet på {hours_inactive:.1f} timmar.",
       "No movement in the home for {hours_inactive:.1f} hours."),
    _t("dwell_exceeded", ALARM, CRITICAL, 641,
       "Asukas on ollut huoneessa {room} poikkeuksellisen kauan ({minutes:.0f} min).",
       "Den boende har varit i rummet {room} ovanligt länge ({minutes:.0f} min).",
       "The resident has been in the {room} unusually long ({minutes:.0f} min)."),
    _t("not_up", ALARM, CRITICAL, 641,
       "Asukas ei ole noussut tavalliseen aikaan (tavallisesti klo {usual_hour:.0f}.{usual_minute:02.0f}).",
       "Den boende har inte stigit upp som vanligt (vanligen kl. {usual_hour:.0f}.{usual_minute:02.0f}).",
       "The resident is not up at the usual time (usually {usual_hour:02.0f}:{usual_minute:02.0f})."),
    _t("door_night_not_back", ALARM, CRITICAL, 641,
       "Ulko-ovi avattiin yöllä, eikä asukas ole palannut {minutes:.0f} minuutissa.",
       "Ytterdörren öppnades på natten och den boende har inte kommit tillbaka på {minutes:.0f} min.",
       "The outer door opened at night and the resident is not back after {minutes:.0f} min."),
    _t("test_alarm", ALARM, INFO, 601,
       "Testihälytys.", "Testlarm.", "Test alarm."),
    # --- events: information and technical ----------------------------------------------
    # No code: a suspected fall is the gateway's own pre-alarm, cancellable for a while;
    # the Contact ID for the fall (120) goes out with the `fall` alarm only.
    _t("fall_suspected", EVENT, WARNING, 0,
       "Epäilty kaatuminen ({room}); hälytys lähtee, ellei sitä peruta.",
       "Misstänkt fall ({room}); larmet skickas om det inte återkallas.",
       "Suspected fall ({room}); the alarm goes out unless cancelled."),
    # No code: it cancels a suspected fall the centre never got as Contact ID; a 406 there
    # could close an unrelated open case of the same account.
    _t("alarm_cancelled", EVENT, INFO, 0,
       "Epäilty kaatuminen peruttu ({room}).", "Misstänkt fall återkallat ({room}).",
       "Suspected fall cancelled ({room})."),
    _t("sensor_silent", EVENT, WARNING, 381,
       "Anturi {sensor} ei ole lähettänyt tietoja {seconds:.0f} sekuntiin.",
       "Sensorn {sensor} har inte skickat data på {seconds:.0f} sekunder.",
       "Sensor {sensor} has sent nothing for {seconds:.0f} s."),
    _t("sensor_restored", EVENT, INFO, 381,
       "Anturi {sensor} toimii taas.", "Sensorn {sensor} fungerar igen.",
       "Sensor {sensor} is working again.", RESTORE),
    _t("sensor_stuck", EVENT, WARNING, 380,
       "Anturi {sensor} on jumittunut päälle ({minutes:.0f} min); se ei havaitse liikettä ennen korjausta.",
       "Sensorn {sensor} har fastnat i läge på ({minutes:.0f} min); den ser ingen rörelse förrän den lagas.",
       "Sensor {sensor} is stuck ON ({minutes:.0f} min); it sees no movement until it is fixed."),
    _t("battery_low", EVENT, WARNING, 384,
       "Anturin {sensor} paristo on vähissä.", "Batteriet i sensorn {sensor} är svagt.",
       "Battery low in sensor {sensor}."),
    _t("heart_rate_abnormal", EVENT, WARNING, 100,
       "Syke poikkeava ({bpm:.0f}/min) {seconds:.0f} sekunnin ajan.",
       "Avvikande puls ({bpm:.0f}/min) i {seconds:.0f} sekunder.",
       "Heart rate out of range ({bpm:.0f}/min) for {seconds:.0f} s."),
    _t("wearable_not_worn", EVENT, WARNING, 381,
       "Puettava anturi {sensor} ei ole käytössä.", "Den bärbara sensorn {sensor} bärs inte.",
       "Wearable {sensor} is not being worn."),
    _t("wearable_out_of_range", EVENT, WARNING, 381,
       "Puettavasta anturista {sensor} ei ole kuulunut {minutes:.0f} minuuttiin "
       "(kantaman ulkopuolella?).",
       "Den bärbara sensorn {sensor} har inte hörts av på {minutes:.0f} minuter (utom räckhåll?).",
       "Wearable {sensor} not heard for {minutes:.0f} min (out of range?)."),
    _t("daily_summary", EVENT, INFO, 0,
       "Päivän yhteenveto: aktiivisena {active_hours:.1f} h.",
       "Dagens sammanfattning: aktiv {active_hours:.1f} h.",
       "Daily summary: active {active_hours:.1f} h."),
    # No code: a slow change of routine is for the care team's next visit, not for the
    # receiver's operator (docs/care-insight.md); words come from gateway/care_words.py.
    _t("routine_change", EVENT, INFO, 0,
       "Muutos päivärytmissä – {feature_name}: {direction_word} kuin tavallisesti "
       "(viime viikko {recent_text}, tavallisesti {usual_text}).",
       "Förändring i dygnsrytmen – {feature_name}: {direction_word} än vanligt "
       "(senaste veckan {recent_text}, vanligen {usual_text}).",
       "Change in daily routine – {feature_name}: {direction_word} than usual "
       "(last week {recent_text}, usually {usual_text})."),
    # No code: the week's aggregates for the care team, sent only with [care_report] share.
    _t("care_report", EVENT, INFO, 0,
       "Viikkoraportti: {changed:.0f} mittaria poikkeaa tavallisesta.",
       "Veckorapport: {changed:.0f} mått avviker från det vanliga.",
       "Weekly care report: {changed:.0f} measures differ from the usual."),
    _t("storage_failure", EVENT, WARNING, 300,
       "Yhdyskäytävän tallennus ei toimi; tapahtumat välitetään muistista.",
       "Gatewayens lagring fungerar inte; händelser skickas från minnet.",
       "Gateway storage has failed; events are forwarded from memory."),
    _t("detector_failure", EVENT, WARNING, 300,
       "Tunnistin {detector} on vikatilassa; sen havaitsemia tilanteita ei ehkä huomata.",
       "Detektorn {detector} har ett fel; det den upptäcker kan missas.",
       "Detector {detector} has failed; what it detects may be missed."),
    _t("alarm_unacknowledged", EVENT, WARNING, 350,
       "Hälytystä ei ole kuitattu {attempts:.0f} yrityksen jälkeen.",
       "Larmet har inte kvitterats efter {attempts:.0f} försök.",
       "Alarm not acknowledged after {attempts:.0f} attempts."),
    _t("command_error", EVENT, INFO, 0,
       "Komentoa {command} ei voitu suorittaa: {problem}.",
       "Kommandot {command} kunde inte utföras: {problem}.",
       "Command {command} could not be carried out: {problem}."),
    _t("gateway_started", EVENT, INFO, 305,
       "Yhdyskäytävä käynnistyi.", "Gatewayen startade.", "Gateway started."),
    _t("periodic_test", EVENT, INFO, 602,
       "Määräaikainen testiraportti.", "Periodisk testrapport.", "Periodic test report."),
    _t("sensor_still_silent", EVENT, WARNING, 381,
       "Anturi {sensor} ei edelleenkään lähetä tietoja ({seconds:.0f} s).",
       "Sensorn {sensor} skickar fortfarande inga data ({seconds:.0f} s).",
       "Sensor {sensor} is still sending nothing ({seconds:.0f} s).", STATUS_REPORT),
]

CATALOGUE: dict[str, EventType] = {t.name: t for t in _TYPES}


def describe(type_name: str) -> EventType:
    """The catalogue entry, or KeyError naming the known types."""
    try:
        return CATALOGUE[type_name]
    except KeyError:
        raise KeyError(f"unknown event type {type_name!r}; known: {', '.join(CATALOGUE)}") from None


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


class _SafeFormatter(Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        try:
            return str(super().format_field(value, format_spec))
        except (ValueError, TypeError):
            return str(value)


_FMT = _SafeFormatter()


#: Names of common room ids, for rooms the config gives no name in a language (a replay
#: built from a trace, a config with ids only): a Finnish text must not say "living".
#: A name in the config always wins.
COMMON_ROOMS: dict[str, dict[str, str]] = {
    "living": {"fi": "olohuone", "sv": "vardagsrum", "en": "living room"},
    "living_room": {"fi": "olohuone", "sv": "vardagsrum", "en": "living room"},
    "kitchen": {"fi": "keittiö", "sv": "kök", "en": "kitchen"},
    "bedroom": {"fi": "makuuhuone", "sv": "sovrum", "en": "bedroom"},
    "bathroom": {"fi": "kylpyhuone", "sv": "badrum", "en": "bathroom"},
    "bath": {"fi": "kylpyhuone", "sv": "badrum", "en": "bathroom"},
    "toilet": {"fi": "WC", "sv": "toalett", "en": "toilet"},
    "wc": {"fi": "WC", "sv": "toalett", "en": "toilet"},
    "hall": {"fi": "eteinen", "sv": "hall", "en": "hall"},
    "hallway": {"fi": "eteinen", "sv": "hall", "en": "hallway"},
    "entrance": {"fi": "eteinen", "sv": "entré", "en": "entrance"},
    "sauna": {"fi": "sauna", "sv": "bastu", "en": "sauna"},
    "dining": {"fi": "ruokailutila", "sv": "matsal", "en": "dining room"},
    "study": {"fi": "työhuone", "sv": "arbetsrum", "en": "study"},
    "balcony": {"fi": "parveke", "sv": "balkong", "en": "balcony"},
    "utility": {"fi": "kodinhoitohuone", "sv": "grovkök", "en": "utility room"},
}


def room_name(room: str, lang: str, names: Mapping[str, Mapping[str, str]] | None) -> str:
    """A room's name in `lang`: the config's, else a common room's, else the config's
    name in another language, else the id."""
    given = (names or {}).get(room, {})
    if lang in given:
        return given[lang]
    common = COMMON_ROOMS.get(room.lower())
    if common is not None:
        return common[lang]
    return next(iter(given.values()), room)


def render(type_name: str, values: Mapping[str, Any],
           room_names: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, str]:
    """Texts in fi, sv and en. `room_names` maps a room id to its name per language."""
    info = describe(type_name)
    out = {}
    for lang in LANGS:
        v = _Lenient(values)
        if type_name == "routine_change":
            from gateway.care_words import change_words
            v.update(change_words(values, lang))
        room = values.get("room")
        if room is not None:
            v["room"] = room_name(room, lang, room_names)
            if values.get("room_inferred"):
                v["room"] = {"fi": "todennäköisesti ", "sv": "troligen ", "en": "probably "}[lang] + v["room"]
        else:
            v["room"] = {"fi": "huone tuntematon", "sv": "okänt rum", "en": "room unknown"}[lang]
        out[lang] = _FMT.vformat(info.text[lang], (), v)
    return out
