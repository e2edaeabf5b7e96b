"""brownout's version, in a module of its own so that parts of brownout can name it without importing the
package's public surface (which, for its type hints, names the Locust plugin)."""

__version__ = "0.1.0"
