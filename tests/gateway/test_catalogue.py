"""The catalogue's texts (gateway/catalogue.py) in Finnish and Swedish: the right words for a
waist-worn sensor and for common rooms (issue 14)."""

from __future__ import annotations

from gateway.catalogue import render


def test_a_waist_worn_sensor_is_not_called_a_wrist_device() -> None:
    for kind in ("wearable_not_worn", "wearable_out_of_range"):
        texts = render(kind, {"sensor": "wearable", "minutes": 20})
        assert "ranne" not in texts["fi"].lower() and "armband" not in texts["sv"].lower()


def test_finnish_and_swedish_texts_name_common_rooms_in_their_language() -> None:
    texts = render("fall", {"room": "living"}, {})
    assert texts == {"fi": "Kaatuminen havaittu (olohuone).", "sv": "Fall upptäckt (vardagsrum).",
                     "en": "Fall detected (living room)."}
    named = render("fall", {"room": "living"}, {"living": {"fi": "tupa"}})
    assert named["fi"] == "Kaatuminen havaittu (tupa)."
