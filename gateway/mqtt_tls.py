"""TLS parameters for an MQTT connection from the `[mqtt]` table's files: one place for the
uplink, the doctor, the reference centre and the DC-09 bridge."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiomqtt

if TYPE_CHECKING:
    from gateway.config import MqttConfig


def tls_parameters(m: MqttConfig) -> aiomqtt.TLSParameters:
    return aiomqtt.TLSParameters(
        ca_certs=str(m.ca_file) if m.ca_file else None,
        certfile=str(m.cert_file) if m.cert_file else None,
        keyfile=str(m.key_file) if m.key_file else None)
