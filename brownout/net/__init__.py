"""Loopback plumbing shared by every part: auth for control endpoints, the loopback HTTP session, ports."""
