// foxdog label: the page. Talks only to its own server (same origin, JSON), no CDN.
(() => {
"use strict";
const byId = (id) => document.getElementById(id);
let state = null;
let busy = false;
let curvePoints = -1;
const preloaded = new Map();

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function preload(id) {
  if (preloaded.has(id)) return;
  const img = new Image();
  img.src = `/photo/${id}`;
  preloaded.set(id, img);
  if (preloaded.size > 8) preloaded.delete(preloaded.keys().next().value);
}

function pct(x) { return `${(100 * x).toFixed(0)}%`; }

function render(s) {
  state = s;
  const photo = byId("photo");
  if (s.current === null) {
    photo.hidden = true; byId("done").hidden = false;
  } else {
    photo.hidden = false; byId("done").hidden = true;
    if (photo.dataset.id !== String(s.current)) {
      photo.src = `/photo/${s.current}`;
      photo.dataset.id = String(s.current);
    }
  }
  s.next.forEach(preload);
  const keys = byId("keys");
  if (!keys.childElementCount) {
    s.classes.forEach((name, i) => keys.append(button(String(i + 1), name, () => answer(name))));
    keys.append(button("x", "none of these / unsure", () => answer("x")));
    keys.append(button("z", "undo", undo));
  }
  const e = s.estimate;
  byId("estimate").textContent = e === null ? "Estimated accuracy: — (no random checks yet)"
    : `Estimated accuracy: ${pct(e.accuracy)} (${pct(e.low)}–${pct(e.high)}, ${e.n} checks)`;
  byId("stop").textContent = s.stop.text;
  byId("stop").className = s.stop.stop ? "go" : "";
  const rows = Object.entries(s.counts).map(([c, n]) => `<tr><td>${c}</td><td>${n}</td></tr>`);
  rows.push(`<tr><td>unsure</td><td>${s.unsure}</td></tr>`);
  byId("counts").innerHTML = rows.join("");
  byId("progress").textContent = `${s.labelled} labelled, ${s.remaining} to go` +
    (s.model ? `; model ${s.model.version} on ${s.model.labels} labels` : "; no model yet") +
    (s.training ? " (retraining…)" : "") + (s.error ? ` — ${s.error}` : "");
  const select = byId("strategy");
  if (!select.childElementCount) {
    for (const name of s.strategies) select.append(new Option(name, name));
  }
  select.value = s.strategy;
  if (s.curve_points !== curvePoints) {
    curvePoints = s.curve_points;
    api("/api/curve").then((spec) => vegaEmbed("#curve", spec, {actions: false}))
      .catch((err) => { byId("message").textContent = String(err); });
  }
  document.body.dataset.seq = String(s.seq);
}

function button(key, text, onclick) {
  const b = document.createElement("button");
  b.innerHTML = `<kbd>${key}</kbd>`;
  b.append(text);
  b.dataset.key = key;
  b.addEventListener("click", onclick);
  return b;
}

async function act(path, body) {
  if (busy) return;
  busy = true;
  try {
    render(await api(path, body));
    byId("message").textContent = "";
  } catch (err) {
    byId("message").textContent = String(err.message || err);
  } finally {
    busy = false;
  }
}

function answer(key) {
  if (state && state.current !== null) act("/api/label", {id: state.current, class: key});
}
function undo() { act("/api/undo", {}); }

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  if (event.target.tagName === "SELECT") return;
  const k = event.key.toLowerCase();
  if (k === "z") { undo(); event.preventDefault(); return; }
  if (k === "x") { answer("x"); event.preventDefault(); return; }
  if (state && /^[1-9]$/.test(k) && Number(k) <= state.classes.length) {
    answer(state.classes[Number(k) - 1]); event.preventDefault();
  }
});
byId("strategy").addEventListener("change", (e) => act("/api/strategy", {name: e.target.value}));
api("/api/state").then(render).catch((err) => { byId("message").textContent = String(err); });
})();
