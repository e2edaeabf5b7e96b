"""Plumbing shared by every part: auth for control endpoints, the loopback HTTP session, ports, and the one
poll-until-deadline wait (`polling.wait_until`)."""
