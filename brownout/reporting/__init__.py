"""Rendering a verdict: tables, chart, Markdown, HTML, JUnit."""
