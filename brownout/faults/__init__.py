"""Faults: kind-specific drivers (inject / heal), the scheduler that fires them, and the journal."""
