"""Bridges from the Safehome MQTT contract to other alarm-centre software (runs at the centre).

`dc09`: SIA DC-09 (Contact ID in ADM-CID messages) to an alarm receiver, so that a centre
running existing receiver software gets Safehome alarms without writing code. The protocol
itself (framing, CRC, AES, Contact ID reports, the durable queue, the TCP link, the
delivery rules) is gateway/dc09/, shared with the home's second alarm path; here:
mqtt_side.py (MQTT in and out), service.py (`Bridge`, the rules that tie them),
config.py (validated settings). See docs/contact-id.md.
"""

from gateway.centre.bridge.config import BridgeConfig, load_bridge_config, parse_bridge_config
from gateway.centre.bridge.service import Bridge

__all__ = ["Bridge", "BridgeConfig", "load_bridge_config", "parse_bridge_config"]
