"""zigbee2mqtt's settings (drivers/zigbee2mqtt.py) name the device, as docs/device-drivers.md
shows; older configs that called it a role still load (issue 14)."""

from __future__ import annotations

import re

from tests.support.cli import REPO


def test_zigbee_settings_name_the_device_not_a_second_role() -> None:
    from drivers.zigbee2mqtt import Settings
    doc = (REPO / "docs" / "device-drivers.md").read_text()
    section = doc[doc.index("## `zigbee2mqtt`"):doc.index("## `gpio_pir`")]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    assert example.count("role =") == 1 and 'device = "contact"' in example
    assert Settings(friendly_name="d", device="contact").device == "contact"
    assert Settings(friendly_name="d", role="contact").device == "contact"   # older configs
