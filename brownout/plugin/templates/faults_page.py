"""The plugin's page (`/brownout/faults`): Jinja, rendered with Flask's autoescaping; the script refreshes
the header, the chart, the faults and the tests from `state.json` every two seconds (the forms stay as typed).
"""

from brownout.plugin.templates.page_script import SCRIPT

PAGE = (
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>brownout: {{ scenario.name }}</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 1.2rem 1.5rem; max-width: 84rem; color: #222; }
  h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.1rem; margin: 1.4rem 0 .4rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
  .tone-pending td:nth-child(2) { color: #555; }
  .tone-busy { background: #fff8e1; } .tone-active { background: #ffe8cc; }
  .tone-active td:nth-child(2) { color: #b35900; font-weight: 600; }
  .tone-healed td:nth-child(2) { color: #0a7a28; } .tone-cut td:nth-child(2) { color: #1f5fa8; }
  .tone-skipped { color: #777; } .tone-failed { background: #fde2e1; }
  .tone-failed td:nth-child(2) { color: #b00020; font-weight: 600; }
  .msg { background: #d1e7dd; padding: .5rem; } .err { background: #f8d7da; padding: .5rem; }
  .bar { background: #f3f5f8; padding: .5rem .7rem; border-radius: 4px; }
  .bar b { font-weight: 600; } .muted { color: #666; }
  fieldset { margin: .8rem 0; } label { margin-right: 1rem; }
  #chart svg { display: block; } #chart text { font: 11px system-ui, sans-serif; }
  .legend span { margin-right: 1rem; white-space: nowrap; } .swatch { display: inline-block; width: .9rem;
    height: .7rem; margin-right: .25rem; vertical-align: middle; }
  .verdict-PASS { color: #0a7a28; font-weight: 600; } .verdict-FAIL { color: #b00020; font-weight: 600; }
  .verdict-UNKNOWN { color: #9a6700; font-weight: 600; }
  .abort { background: #b00020; color: #fff; font-weight: 600; padding: .6rem .8rem; border-radius: 4px; }
</style>
</head>
<body>
<h1>brownout <span class="muted">scenario {{ scenario.name }}</span></h1>
<p><a href="{{ base }}/?tab=faults">back to Locust</a> &middot; <a href="{{ base }}/brownout/faults">reload</a>
 &middot; <a href="#tests">reports</a>{% if token %} &middot; <a href="#inject">inject by hand</a>{% endif %}</p>
<p class="bar" id="status" role="status">{% if state.test %}test {{ state.test.number }}: {{ state.test.state }}
{% else %}no test started yet: start one in Locust{% endif %}</p>
<p class="abort" id="abort" role="alert"{% if not (state.test and state.test.aborted) %} hidden{% endif %}>
{% if state.test and state.test.aborted %}test {{ state.test.number }} {{ state.test.aborted }}{% endif %}</p>
{% if message %}<p class="msg" role="status">{{ message }}</p>{% endif %}
{% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}
{% if token %}
<h2>Plan</h2>
<p>Load: {{ load_plan }}</p>
<p>Faults: {% for fault in scenario.faults %}<b>{{ fault.name }}</b> {{ fault_plan(fault) }}{{ "; " if not loop.last }}
{% else %}none{% endfor %}</p>

<h2>Chart</h2>
<div id="chart"><p class="muted">the chart appears when a test runs (it needs JavaScript)</p></div>
<p class="legend" id="legend"></p>

<h2>Faults of {{ "test " ~ state.test.number if state.test else "the next test" }}</h2>
<table>
  <thead><tr>{% for key, title in columns %}<th>{{ title }}</th>{% endfor %}<th></th></tr></thead>
  <tbody id="faults">
  {% for row in state.faults %}
    <tr class="tone-{{ row.tone }}">
      {% for key, title in columns %}<td>{{ row[key] }}</td>{% endfor %}
      <td>{% if row.tone == "active" %}
        <form method="post" action="{{ base }}/brownout/faults/heal">
          <input type="hidden" name="csrf_token" value="{{ token }}">
          <input type="hidden" name="name" value="{{ row.name }}">
          <button>heal now</button>
        </form>{% endif %}</td>
    </tr>
  {% else %}
    <tr><td colspan="{{ columns | length + 1 }}">no faults in this test</td></tr>
  {% endfor %}
  </tbody>
</table>

<h2 id="tests">Tests of this session</h2>
{% if state.store %}<p id="store">Each report places its test against the run store <code>{{ state.store }}</code>
  (its last releases: see "Against the release history" in the report).</p>{% endif %}
<ul id="test-list">
{% for test in state.tests %}
  <li>test {{ test.number }}: {{ test.state }}{% if test.verdict %}, verdict
    <span class="verdict-{{ test.verdict }}">{{ test.verdict }}</span>{% endif %}
    {% for file in test.files %} &middot; <a href="{{ file.href }}">{{ file.name }}</a>{% endfor %}
    &middot; <a href="{{ test.folder }}">results folder</a> <code>{{ test.out }}</code></li>
{% else %}
  <li>none yet: each test you start and stop in Locust gets its own results folder and report here</li>
{% endfor %}
</ul>

<h2 id="inject">Inject now</h2>
<form method="post" action="{{ base }}/brownout/faults/inject">
  <fieldset>
    <legend>One of the scenario's faults</legend>
    <input type="hidden" name="csrf_token" value="{{ token }}">
    <input type="hidden" name="kind" value="scenario">
    <select name="fault">
      {% for fault in scenario.faults %}
      <option value="{{ fault.name }}" {{ "selected" if form.fault == fault.name }}>{{ fault.name }}
        ({{ fault.kind }} on {{ fault.target }})</option>
      {% endfor %}
    </select>
    <button {% if not scenario.faults %}disabled{% endif %}>inject now</button>
  </fieldset>
</form>
<form method="post" action="{{ base }}/brownout/faults/inject" id="any-fault">
  <fieldset>
    <legend>Any fault</legend>
    <input type="hidden" name="csrf_token" value="{{ token }}">
    <label>kind <select name="kind" id="kind">
      {% for kind, info in kinds.items() %}<option value="{{ kind }}" {{ "selected" if form.kind == kind }}>{{ kind }}:
        {{ info[0] }}</option>{% endfor %}
    </select></label>
    <label>target <input name="target" id="target" list="brownout-names" required placeholder="proxy or component"
      value="{{ form.target or '' }}"></label>
    <datalist id="brownout-names">{% for name in names %}<option value="{{ name }}">{% endfor %}</datalist>
    <p data-kind="network-latency">
      <label>latency ms <input name="latency_ms" type="number" min="0" value="{{ form.latency_ms or 1000 }}"></label>
      <label>jitter ms <input name="jitter_ms" type="number" min="0" value="{{ form.jitter_ms or 0 }}"></label>
      <label>distribution <select name="distribution">
        {% for shape, said in (("", "uniform jitter (Toxiproxy's)"), ("normal", "normal"), ("lognormal", "lognormal"),
                               ("pareto", "pareto")) %}
        <option value="{{ shape }}" {{ "selected" if form.distribution == shape }}>{{ said }}</option>{% endfor %}
      </select></label>
      <label>p50 ms <input name="p50_ms" type="number" min="0" value="{{ form.p50_ms or '' }}"></label>
      <label>p99 ms <input name="p99_ms" type="number" min="0" value="{{ form.p99_ms or '' }}"></label>
      <span class="muted">lognormal / pareto need p50 &lt; p99</span></p>
    <p data-kind="network-http_error">
      <label>status <input name="status" type="number" min="100" max="599" value="{{ form.status or 503 }}"></label>
      <label>body <input name="body" size="18" placeholder="(empty)" value="{{ form.body or '' }}"></label>
      <label>headers <input name="headers" size="24" placeholder="Retry-After: 2; X-Why: test"
        value="{{ form.headers or '' }}"></label></p>
    <p data-kind="network-http_latency">
      <label>latency ms <input name="http_latency_ms" type="number" min="0"
        value="{{ form.http_latency_ms or 500 }}"></label>
      <label>jitter ms <input name="http_jitter_ms" type="number" min="0"
        value="{{ form.http_jitter_ms or 0 }}"></label>
      <span class="muted">once per matching request</span></p>
    <p data-kind="network-http_drop">
      <label>body bytes passed <input name="drop_bytes" type="number" min="0"
        value="{{ form.drop_bytes or 0 }}"></label>
      <label><input name="reset" type="checkbox" value="1" {{ "checked" if form.reset }}> reset (RST)</label>
      <span class="muted">the connection is cut after the response head and that many body bytes</span></p>
    <p data-kind="network-http_error network-http_latency network-http_drop">matching requests:
      <label>method <input name="method" size="8" placeholder="any" value="{{ form.method or '' }}"></label>
      <label>path prefix <input name="path_prefix" size="12" placeholder="any"
        value="{{ form.path_prefix or '' }}"></label>
      <label>header <input name="header" size="14" placeholder="Name or Name: value"
        value="{{ form.header or '' }}"></label>
      <label>only the first <input name="first" type="number" min="0" style="width:4.5em" placeholder="all"
        value="{{ form.first or '' }}"></label>
      <label>every Nth <input name="every" type="number" min="0" style="width:4.5em" placeholder="each"
        value="{{ form.every or '' }}"></label></p>
    <p data-kind="network-stall">
      <label>probability <input name="probability" type="number" min="0" max="1" step="0.01"
        value="{{ form.probability or 0.01 }}"></label>
      <label>delay ms <input name="stall_delay_ms" type="number" min="0"
        value="{{ form.stall_delay_ms or 200 }}"></label>
      <span class="muted">each chunk held that long with that probability</span></p>
    <p data-kind="network-latency network-http_error network-http_latency network-http_drop network-stall">
      <label>toxicity <input name="toxicity" type="number" min="0" max="1" step="0.05"
        value="{{ form.toxicity or 1 }}"></label>
      <span class="muted">the share of connections it acts on (HTTP toxics: of matching requests)</span></p>
    <p data-kind="app-errors">target: the component with the admin API, e.g. the gateway;
      <label>dependency <select name="dependency">
        {% for dependency in dependencies %}
        <option {{ "selected" if form.dependency == dependency }}>{{ dependency }}</option>{% endfor %}
      </select></label>
      <label>error rate <input name="error_rate" type="number" min="0" max="1" step="0.05"
        value="{{ form.error_rate or 1 }}"></label>
      <label>latency ms <input name="app_latency_ms" type="number" min="0"
        value="{{ form.app_latency_ms or 0 }}"></label></p>
    <p data-kind="partition-between">
      <label>peer <input name="peer" list="brownout-names" placeholder="the other component"
        value="{{ form.peer or '' }}"></label></p>
    <p data-kind="partition-isolate partition-between">
      <label>direction <select name="direction">
        {% for direction in ("both", "upstream", "downstream") %}
        <option {{ "selected" if form.direction == direction }}>{{ direction }}</option>{% endfor %}
      </select></label> both: proxies disabled; upstream / downstream: that stream's data dropped</p>
    <p data-kind="resource-cpu">
      <label>CPU hogs <input name="cpus" type="number" min="1" max="64" placeholder="one per CPU"
        value="{{ form.cpus or '' }}"></label>
      <span class="muted">each pinned to a CPU the component may run on; they stop at the heal</span></p>
    <p data-kind="resource-memory">
      <label>MB held <input name="limit_mb" type="number" min="1" value="{{ form.limit_mb or 256 }}"></label>
      <span class="muted">at most half of the memory available</span></p>
    <p data-kind="resource-disk">
      <label>MB at most <input name="disk_limit_mb" type="number" min="1"
        value="{{ form.disk_limit_mb or 256 }}"></label>
      <span class="muted">full: a ballast file fills the data directory's filesystem, if that many MB fill it</span></p>
    <p data-kind="resource-clock">
      <label>offset <input name="offset" size="8" placeholder="30s or -2m" value="{{ form.offset or '30s' }}"></label>
      <span class="muted">the component restarts under libfaketime that far ahead (-: behind); the heal restarts it
        with the real clock</span></p>
    <button>inject now</button>
    <small>A fault stays in force until you heal it here or the test stops; one fault per target at a time.</small>
  </fieldset>
</form>
<script>
const BROWNOUT = {base: {{ base | tojson }}, token: {{ token | tojson }}, columns: {{ columns | tojson }},
                  targets: {{ kinds_targets | tojson }}};
</script>
<script>{% raw %}"""
    + SCRIPT
    + """{% endraw %}</script>
{% endif %}
</body>
</html>
"""
)
