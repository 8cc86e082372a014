"""The reference alarm centre: a receiver that applies the MQTT contract's rules
(docs/mqtt-api.md). `Centre` is the library (and the integration tests' peer);
`safehome centre` (gateway/commands/centre.py) puts a live view in front of it."""

from gateway.centre.receiver.client import Centre, CentreError
from gateway.centre.receiver.state import AlarmRecord, CentreState, GatewayRow

__all__ = ["Centre", "CentreError", "AlarmRecord", "CentreState", "GatewayRow"]
