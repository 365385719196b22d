"""Transports: one interface to run a command on a server, over SSH or WinRM (or locally)."""
