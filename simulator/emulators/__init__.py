"""Byte-exact emulators of the serial devices Safehome drives, served over pseudo-terminals
(see `simulator/emulators/pty.py`), so tests run the real drivers end to end."""
