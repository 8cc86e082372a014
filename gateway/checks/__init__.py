"""Health checks shared by `safehome doctor` (commissioning) and the running daemon's
console: the `Check` item and the clock, storage and recording checks. Below both, so
the console does not import the doctor."""
