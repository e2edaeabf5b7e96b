"""brownout: a load and degradation testbed built on Locust."""

__version__ = "0.1.0"
