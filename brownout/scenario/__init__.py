"""The scenario file: its schema, load plan, `[audit]`, room and shipped lookups, and `brownout init`."""
