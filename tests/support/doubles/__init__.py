"""Test doubles at the radio and GPIO boundary, behind the same interfaces as the real libraries."""
