"""The written contract (docs/) matches the code that publishes it (issue 3, item 5).

The event type table in docs/mqtt-api.md and the type rules in docs/schemas/event.json
are generated from gateway/catalogue.py; run `python -m tests.system.test_contract_docs` to
rewrite both after changing the catalogue (the tests fail until then).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from gateway.catalogue import CATALOGUE, render
from gateway.events import Event, iso, new_event_id

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
SCHEMAS = DOCS / "schemas"
API_MD = DOCS / "mqtt-api.md"
BEGIN, END = "<!-- catalogue:begin -->", "<!-- catalogue:end -->"
T0 = 1_790_000_000.0


def catalogue_table() -> str:
    rows = ["| type | class | severity | Contact ID (qualifier code) | text template (en) |",
            "|---|---|---|---|---|"]
    for t in CATALOGUE.values():
        cid = f"{t.qualifier} {t.contact_id:03d}" if t.contact_id else "none"
        rows.append(f"| `{t.name}` | {t.kind} | {t.severity} | {cid} | {t.text['en']} |")
    return "\n".join(rows)


def _code_rule(t) -> dict:
    if not t.contact_id:
        return {"properties": {"contact_id": {"const": 0}, "qualifier": False}}
    return {"properties": {"contact_id": {"const": t.contact_id}, "qualifier": {"const": t.qualifier}},
            "required": ["contact_id", "qualifier"]}


def type_rules() -> list[dict]:
    """The per-type rules of event.json: each type's class, Contact ID and qualifier."""
    return [{"if": {"properties": {"type": {"const": t.name}}, "required": ["type"]},
             "then": {"properties": {"class": {"const": t.kind}, "code": _code_rule(t)}}}
            for t in CATALOGUE.values()]


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text())


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name), format_checker=FormatChecker())


# ---- AsyncAPI --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def asyncapi() -> dict:
    return yaml.safe_load((DOCS / "asyncapi.yaml").read_text())


def _refs(node, out: list[str]) -> list[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                out.append(v)
            else:
                _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)
    return out


def _resolve(doc: dict, ref: str):
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_asyncapi_is_version_3_and_every_reference_resolves(asyncapi):
    assert re.fullmatch(r"3\.0\.\d+", str(asyncapi["asyncapi"]))
    refs = _refs(asyncapi, [])
    assert refs
    for ref in refs:
        if ref.startswith("#/"):
            _resolve(asyncapi, ref)                       # KeyError when dangling
        else:
            assert (DOCS / ref).is_file(), f"{ref} does not exist"


def test_every_asyncapi_message_has_a_json_schema_payload(asyncapi):
    messages = asyncapi["components"]["messages"]
    used = set()
    for name, msg in messages.items():
        ref = msg["payload"]["$ref"]
        assert ref.startswith("./schemas/") and (DOCS / ref).is_file(), name
        used.add(Path(ref).name)
    assert used == {p.name for p in SCHEMAS.glob("*.json")}   # no undocumented schema


def test_every_channel_message_and_operation_binding_is_consistent(asyncapi):
    channels, ops = asyncapi["channels"], asyncapi["operations"]
    for name, ch in channels.items():
        assert ch["address"].startswith("safehome/v1/{gateway_id}/"), name
        for msg in ch["messages"].values():
            _resolve(asyncapi, msg["$ref"])
    for name, op in ops.items():
        assert op["action"] in ("send", "receive")
        _resolve(asyncapi, op["channel"]["$ref"])
        mqtt = op["bindings"]["mqtt"]
        assert mqtt["qos"] in (0, 1, 2) and isinstance(mqtt["retain"], bool), name
    retained = {op["channel"]["$ref"].split("/")[-1] for op in ops.values()
                if op["bindings"]["mqtt"]["retain"]}
    assert retained == {"status"}          # only the status is retained, never an alarm


# ---- JSON Schemas ----------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda p: p.name)
def test_every_schema_is_a_valid_2020_12_schema(path):
    s = json.loads(path.read_text())
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(s)


def test_event_schema_lists_exactly_the_catalogue_types_classes_and_codes():
    event = schema("event.json")
    hint = "run: python -m tests.system.test_contract_docs"
    assert event["properties"]["type"]["enum"] == list(CATALOGUE), hint
    assert event["allOf"] == type_rules(), hint


def _event(type_name: str, **kw) -> Event:
    values = {"room": "kitchen", "sensor": "radar-1", "hours_inactive": 13.5, "minutes": 42,
              "usual": "07:30", "seconds": 600, "bpm": 38, "active_hours": 6.2, "attempts": 5,
              "command": "reboot", "problem": "unknown command 'reboot'"}
    return Event(new_event_id(), 17, type_name, CATALOGUE[type_name].severity, T0, T0 + 0.4,
                 render(type_name, values), room="kitchen", sensor="radar-1", confidence=0.87,
                 evidence={"peak_g": 3.1, "still_s": 12, "upright": False}, **kw)


@pytest.mark.parametrize("type_name", list(CATALOGUE))
def test_every_catalogue_type_builds_a_payload_that_validates(type_name):
    v = validator("event.json")
    v.validate(_event(type_name).payload("gw-0001", "site-7f3a"))
    v.validate(_event(type_name, ref=new_event_id(), test=True).payload("gw-0001", "site-7f3a", 3))


@pytest.mark.parametrize("break_it, why", [
    (lambda p: p.update(type="teleport"), "unknown type"),
    (lambda p: p.update({"class": "event"}), "a fall is an alarm"),
    (lambda p: p["code"].update(contact_id=999), "wrong Contact ID"),
    (lambda p: p["code"].update(qualifier=3), "a fall is a new event, not a restore"),
    (lambda p: p["code"].pop("qualifier"), "a coded type names its qualifier"),
    (lambda p: p["text"].pop("sv"), "a language missing"),
    (lambda p: p.update(occurred_at="yesterday"), "time not ISO 8601"),
    (lambda p: p.update(attempt=0), "attempt starts at 1"),
    (lambda p: p.update(id="not-a-uuid"), "id not a UUIDv7"),
    (lambda p: p.update(raw=[1, 2, 3]), "undocumented field"),
    (lambda p: p["evidence"].update(samples=[0.1, 0.2]), "raw samples as evidence"),
])
def test_the_event_schema_rejects_what_the_contract_forbids(break_it, why):
    payload = _event("fall").payload("gw-0001", "site-7f3a")
    break_it(payload)
    with pytest.raises(ValidationError):
        validator("event.json").validate(payload)


def test_the_other_payload_schemas_accept_their_documented_examples():
    status = {"state": "offline", "gateway_id": "gw-0001", "site_id": "site-7f3a",
              "since": iso(T0), "version": "0.1.0", "reason": "connection lost"}
    validator("status.json").validate(status)
    heartbeat = {"schema": 1, "gateway_id": "gw-0001", "site_id": "site-7f3a", "seq": 42,
                 "at": iso(T0), "interval": 60, "uptime": 2520.5, "pending": 0,
                 "unacknowledged": 1, "storage": "ok",
                 "sensors": {"radar-1": {"state": "ok", "last_seen": iso(T0), "battery": None,
                                         "rssi": None},
                             "band-1": {"state": "silenced", "last_seen": None, "battery": 14,
                                        "rssi": -71}}}
    validator("heartbeat.json").validate(heartbeat)
    validator("ack.json").validate({"id": new_event_id(), "by": "op-7", "at": iso(T0)})
    validator("command_test_alarm.json").validate({"id": "c-1"})
    validator("command_status.json").validate({"id": "c-2"})
    validator("command_silence_sensor.json").validate(
        {"id": "c-3", "sensor": "radar-1", "until": iso(T0 + 3600)})
    with pytest.raises(ValidationError):
        validator("command_result.json").validate({"id": "c-3", "ok": False})   # no error


def test_the_examples_in_the_api_document_validate():
    """Every ```json block in docs/mqtt-api.md headed by `<!-- example: SCHEMA -->`."""
    text = API_MD.read_text()
    examples = re.findall(r"<!-- example: (\S+) -->\s*```json\n(.*?)```", text, re.S)
    assert len(examples) >= 8
    for name, body in examples:
        validator(name).validate(json.loads(body))


# ---- the document for people --------------------------------------------------------------

def test_the_api_document_lists_every_type_with_its_contact_id_as_the_catalogue_says():
    text = API_MD.read_text()
    assert BEGIN in text and END in text
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == catalogue_table(), "run: python -m tests.system.test_contract_docs"


def test_the_api_document_names_every_topic_and_command():
    text = API_MD.read_text()
    for leaf in ("status", "heartbeat", "alarm", "event", "ack", "cmd/test_alarm", "cmd/status",
                 "cmd/silence_sensor", "cmd/{name}/result"):
        assert f"safehome/v1/{{gateway_id}}/{leaf}" in text, leaf


def _rewrite() -> None:
    event_path = SCHEMAS / "event.json"
    event = json.loads(event_path.read_text())
    event["properties"]["type"]["enum"] = list(CATALOGUE)
    event["allOf"] = type_rules()
    event_path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n")
    text = API_MD.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    API_MD.write_text(f"{head}{BEGIN}\n{catalogue_table()}\n{END}{tail}")
    print(f"rewrote {event_path} and the event type table in {API_MD}", file=sys.stderr)


if __name__ == "__main__":
    _rewrite()
