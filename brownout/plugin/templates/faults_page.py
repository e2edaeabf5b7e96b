"""The manual fault page (`/brownout/faults`): Jinja, rendered with Flask's autoescaping."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>brownout: faults ({{ scenario }})</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem; max-width: 80rem; color: #222; }
  table { border-collapse: collapse; width: 100%; }
  th, td { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
  tr.active, tr.injecting, tr.healing { background: #fff3cd; }
  tr.failed { background: #f8d7da; }
  tr.healed { color: #555; }
  .msg { background: #d1e7dd; padding: .5rem; }
  .err { background: #f8d7da; padding: .5rem; }
  fieldset { margin: 1rem 0; }
  label { margin-right: 1rem; }
</style>
</head>
<body>
<h1>brownout: faults <small>scenario {{ scenario }}</small></h1>
<p>
  <a href="{{ base }}/?tab=faults">back to Locust</a> &middot; <a href="{{ base }}/brownout/faults">refresh</a> &middot;
  {% if run %}run {{ "finished" if run.finished else "in progress" }}, results in <code>{{ run.out }}</code>
  {% else %}no run started yet: start one in Locust, then inject{% endif %}
  {% if faults_off %} &middot; scheduled faults off (--brownout-no-faults){% endif %}
</p>
{% if message %}<p class="msg" role="status">{{ message }}</p>{% endif %}
{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
<table>
  <thead><tr>{% for key, title in columns %}<th>{{ title }}</th>{% endfor %}<th></th></tr></thead>
  <tbody>
  {% for row in rows %}
    <tr class="{{ row.state }}">
      {% for key, title in columns %}<td>{{ row[key] }}</td>{% endfor %}
      <td>{% if row.state == "active" and token %}
        <form method="post" action="{{ base }}/brownout/faults/heal">
          <input type="hidden" name="csrf_token" value="{{ token }}">
          <input type="hidden" name="name" value="{{ row.name }}">
          <button>heal now</button>
        </form>{% endif %}</td>
    </tr>
  {% else %}
    <tr><td colspan="{{ columns | length + 1 }}">no faults in this run</td></tr>
  {% endfor %}
  </tbody>
</table>
{% if token %}
<h2>Inject now</h2>
<form method="post" action="{{ base }}/brownout/faults/inject">
  <fieldset>
    <legend>One of the scenario's faults</legend>
    <input type="hidden" name="csrf_token" value="{{ token }}">
    <input type="hidden" name="kind" value="scenario">
    <select name="fault">
      {% for fault in scenario_faults %}
      <option value="{{ fault.name }}">{{ fault.name }} ({{ fault.kind }} on {{ fault.target }})</option>
      {% endfor %}
    </select>
    <button {% if not scenario_faults %}disabled{% endif %}>inject now</button>
  </fieldset>
</form>
<form method="post" action="{{ base }}/brownout/faults/inject">
  <fieldset>
    <legend>Any fault</legend>
    <input type="hidden" name="csrf_token" value="{{ token }}">
    <label>kind <select name="kind">
      {% for kind, info in kinds.items() %}<option value="{{ kind }}">{{ kind }}: {{ info[0] }}</option>{% endfor %}
    </select></label>
    <label>target <input name="target" list="brownout-names" required placeholder="proxy or component"></label>
    <datalist id="brownout-names">{% for name in names %}<option value="{{ name }}">{% endfor %}</datalist>
    <p>network-latency:
      <label>latency ms <input name="latency_ms" type="number" min="1" value="1000"></label>
      <label>jitter ms <input name="jitter_ms" type="number" min="0" value="0"></label></p>
    <p>app-errors (target: the component with the admin API, e.g. the gateway):
      <label>dependency <select name="dependency">
        {% for dependency in dependencies %}<option>{{ dependency }}</option>{% endfor %}
      </select></label>
      <label>error rate <input name="error_rate" type="number" min="0" max="1" step="0.05" value="1"></label>
      <label>latency ms <input name="app_latency_ms" type="number" min="0" value="0"></label></p>
    <button>inject now</button>
    <small>A fault stays in force until you heal it here or the run stops; one fault per target at a time.</small>
  </fieldset>
</form>
{% endif %}
</body>
</html>
"""
