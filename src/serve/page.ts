/**
 * The page of `rewind serve`: plain HTML and JavaScript, no framework, no build. It lists the
 * sagas, shows one saga's timeline, and a slider picks an event: the state after it and the
 * change from the event before are fetched from the JSON routes of serve-app.ts.
 */
export const SERVE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Rewind</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; display: flex; height: 100vh; }
  #sagas { width: 34%; overflow: auto; border-right: 1px solid #ccc; }
  #detail { flex: 1; overflow: auto; padding: 0 1em; }
  table { border-collapse: collapse; width: 100%; }
  td, th { padding: 2px 6px; text-align: left; border-bottom: 1px solid #eee; white-space: nowrap; }
  #sagas tr { cursor: pointer; }
  #sagas tr:hover, tr.current { background: #eef; }
  #slider { width: 100%; }
  pre { background: #f7f7f7; padding: 0.5em; overflow: auto; }
  .added { color: #070; } .removed { color: #a00; } .changed { color: #850; }
</style>
</head>
<body>
<div id="sagas"><h3 style="padding: 0 6px">Sagas</h3>
  <table><tbody id="saga-rows"></tbody></table></div>
<div id="detail">
  <h3 id="title">Pick a saga</h3>
  <div id="travel" hidden>
    <input id="slider" type="range" min="0" max="0" value="0">
    <p>after event <b id="at">0</b>: <span id="event"></span> &mdash; status <b id="status"></b></p>
    <h4>Change from the event before</h4>
    <ul id="changes"></ul>
    <h4>Timeline</h4>
    <table><thead><tr>
      <th>#</th><th>time</th><th>event</th><th>step</th><th>actor</th><th>detail</th>
    </tr></thead>
    <tbody id="timeline"></tbody></table>
    <h4>State</h4>
    <pre id="state"></pre>
  </div>
</div>
<script>
const $ = (id) => document.getElementById(id);
let sagaId = null;
let rows = [];
let request = 0;

function cell(text) { const td = document.createElement('td'); td.textContent = text; return td; }

async function loadSagas() {
  const sagas = await (await fetch('/api/sagas')).json();
  const body = $('saga-rows');
  body.replaceChildren();
  for (const saga of sagas) {
    const tr = document.createElement('tr');
    tr.dataset.sagaId = saga.sagaId;
    tr.append(
      cell(saga.sagaId.slice(0, 8)), cell(saga.saga), cell(saga.status), cell(String(saga.events)),
    );
    tr.onclick = () => openSaga(saga.sagaId);
    body.append(tr);
  }
}

async function openSaga(id) {
  sagaId = id;
  const response = await fetch('/api/sagas/' + encodeURIComponent(id) + '/timeline');
  if (!response.ok) { $('title').textContent = await response.text(); return; }
  rows = await response.json();
  $('title').textContent = 'Saga ' + id;
  const body = $('timeline');
  body.replaceChildren();
  for (const row of rows) {
    const tr = document.createElement('tr');
    tr.append(
      cell(row.revision), cell(row.occurredAt), cell(row.type),
      cell(row.step), cell(row.actor), cell(row.detail),
    );
    body.append(tr);
  }
  $('slider').max = String(rows.length - 1);
  $('slider').value = String(rows.length - 1);
  $('travel').hidden = false;
  await showAt(rows.length - 1);
}

async function showAt(at) {
  const mine = ++request;
  const response = await fetch('/api/sagas/' + encodeURIComponent(sagaId) + '/state?at=' + at);
  const body = await response.json();
  if (mine !== request) return;
  $('at').textContent = String(at);
  const shown = rows[at];
  $('event').textContent = shown ? shown.type + (shown.step ? ' ' + shown.step : '') : '';
  $('status').textContent = body.state.status;
  $('state').textContent = JSON.stringify(body.state, null, 2);
  const list = $('changes');
  list.replaceChildren();
  for (const change of body.changes) {
    const li = document.createElement('li');
    li.className = change.kind;
    const before = 'before' in change ? JSON.stringify(change.before) : '';
    const after = 'after' in change ? JSON.stringify(change.after) : '';
    const values = change.kind === 'changed' ? before + ' -> ' + after : before + after;
    li.textContent = change.kind + ' ' + change.path + ': ' + values;
    list.append(li);
  }
  [...$('timeline').children].forEach((tr, i) => tr.classList.toggle('current', i === at));
  document.body.dataset.shownAt = String(at);
}

$('slider').addEventListener('input', (event) => showAt(Number(event.target.value)));
loadSagas();
</script>
</body>
</html>
`;
