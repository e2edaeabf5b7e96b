"""Small pages of the tests view: a test's results folder, and "not there (yet)"."""

_HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>brownout: {{ title }}</title>
<style>body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem; color: #222; }
code { background: #f3f3f3; }</style>
</head><body>
<p><a href="{{ base }}/brownout/faults">brownout faults page</a> &middot; <a href="{{ base }}/">back to Locust</a></p>
"""

FOLDER = _HEAD.replace("{{ title }}", "test {{ run.number }}") + """
<h1>Test {{ run.number }}: {{ state }}</h1>
<p>Results folder <code>{{ run.out }}</code>{% if run.report %}; verdict <b>{{ run.report.verdict }}</b>{% endif %}</p>
<ul>
{% for name in files %}<li><a href="{{ link }}/{{ name }}">{{ name }}</a></li>
{% else %}<li>no files yet</li>{% endfor %}
</ul>
</body></html>
"""

WAITING = _HEAD.replace("{{ title }}", "not there") + """
<h1>Not there (yet)</h1>
<p role="alert">{{ message }}</p>
<p><a href="{{ base }}/brownout/faults#tests">every test of this session</a></p>
</body></html>
"""
