"""Helpers the tests share (real brokers, the real daemon as a process, databases, receivers) and
the doubles at the radio and GPIO boundary (doubles/). Nothing here is collected as a test."""
