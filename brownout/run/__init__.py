"""`brownout run`: the stack, Locust with the plugin, the faults and the report, as one command."""
