"""The SIA DC-09 protocol (Contact ID in ADM-CID messages) as a leaf: framing, CRC and AES
(`frame`), event -> Contact ID report (`contact_id`), one TCP connection to a receiver
(`link`), the durable SQLite queue (`queue`) and the delivery rules (`sender`).

Used by both the home's second alarm path (gateway/dc09_path.py) and the centre-side
bridge (gateway/centre/bridge/), so it imports neither. See docs/contact-id.md."""
