"""BLE wearables through bleak (imported lazily): heart rate, Polar PMD, iTAG button."""
