// latentjam's control page. It speaks docs/osc.md over a WebSocket: it sends
// [address, [args]] and receives the OSC feedback messages as {address: [args]} (the server
// is controllers/web/server.py). Vanilla JS, no build step, no network beyond the engine.
"use strict";

const ROOT = "/latentjam";
const MODES = ["sample", "walk", "interpolate", "hold", "blend", "grid"];
const PATHS = ["still", "circle", "walk"];
// [field, low, high, step]: docs/osc.md's ranges
const KNOBS = [["temperature", 0, 2, 0.01], ["walk_step", 0, 1, 0.01], ["every", 1, 64, 1]];
const HUMANIZE = [["velocity_spread", 0, 64, 0.5], ["accent_downbeat", -126, 126, 1],
  ["accent_beat", -126, 126, 1], ["accent_offbeat", -126, 126, 1],
  ["timing_spread_ms", 0, 50, 0.5], ["swing_percent", 0, 100, 1], ["push_ms", -100, 100, 1],
  ["length_spread_percent", 0, 50, 0.5]];
const SEND_GAP_MS = 40; // a dragged control sends at most 25 values a second

const state = {}; // address -> args, as the engine last said
window.latentjamState = state; // for a test or a console to read
const tracks = new Map(); // name -> its controls
let socket = null;
let taps = [];
let learning = false; // MIDI CC learn: a control touched is mapped to the next knob moved

// In learn mode, touching a control asks the MIDI controller to learn it (docs/osc.md,
// MIDI controllers) instead of changing it; true when it did.
function learnInstead(address) {
  if (!learning) return false;
  send(`${ROOT}/learn`, [address]);
  return true;
}

function $(selector, root = document) { return root.querySelector(selector); }

function send(address, args = []) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify([address, args]));
  }
}

// A control being dragged sends its latest value every SEND_GAP_MS and ignores feedback
// meanwhile, so the engine's echo does not pull it back under the finger.
function throttled(sendValue) {
  let last = 0, timer = null, latest = null;
  return (value) => {
    latest = value;
    const wait = SEND_GAP_MS - (performance.now() - last);
    if (wait <= 0) { last = performance.now(); sendValue(latest); return; }
    if (!timer) {
      timer = setTimeout(() => { timer = null; last = performance.now(); sendValue(latest); }, wait);
    }
  };
}

function say(text) {
  const box = $("#message");
  box.textContent = text;
  box.classList.add("shown");
  clearTimeout(say.timer);
  say.timer = setTimeout(() => box.classList.remove("shown"), 4000);
}

// -- the transport --------------------------------------------------------------------------

function setupTransport() {
  for (const id of ["play", "stop"]) {
    $("#" + id).addEventListener("click", () => send(`${ROOT}/${id}`));
  }
  const nudge = (delta) => {
    const bpm = (state[`${ROOT}/tempo`] || [120])[0];
    send(`${ROOT}/tempo`, [Math.min(300, Math.max(20, Math.round(bpm) + delta))]);
  };
  $("#tempo-down").addEventListener("click", () => nudge(-1));
  $("#tempo-up").addEventListener("click", () => nudge(1));
  $("#learn").addEventListener("click", () => {
    learning = !learning;
    document.body.classList.toggle("learning", learning);
    if (!learning) send(`${ROOT}/learn/cancel`);
    showTransport();
  });
  $("#tap").addEventListener("pointerdown", () => {
    const now = performance.now();
    taps = taps.filter((t) => now - t < 2500); // a pause of 2.5 s starts a new count
    taps.push(now);
    if (taps.length >= 3) {
      const beat = (taps[taps.length - 1] - taps[0]) / (taps.length - 1);
      send(`${ROOT}/tempo`, [Math.min(300, Math.max(20, Math.round(60000 / beat * 10) / 10))]);
    }
    if (taps.length > 8) taps.shift();
  });
}

function showTransport() {
  const get = (name, fallback) => state[`${ROOT}/${name}`] || fallback;
  $("#play").classList.toggle("on", get("playing", [0])[0] === 1);
  const bpm = get("tempo", [null])[0];
  $("#tempo").textContent = bpm === null ? "--" : bpm.toFixed(bpm % 1 ? 1 : 0);
  const [bar, beat] = get("beat", ["-", "-"]);
  $("#beat").textContent = `${bar}.${beat}`;
  $("#clock").textContent = get("clock", ["-", ""]).join(" ");
  $("#skipped").textContent = get("skipped", [0, 0])[0];
  let late = 0;
  for (const name of tracks.keys()) late += (state[`${ROOT}/track/${name}/late`] || [0])[0];
  $("#late").textContent = late;
  const waiting = state[`${ROOT}/learn`];
  $("#learn").hidden = waiting === undefined; // a set with a MIDI controller only
  if (waiting !== undefined) {
    $("#learn").classList.toggle("selected", learning);
    $("#learn").classList.toggle("waiting", !!waiting[0]);
    $("#learn").textContent = waiting[0] ? `Move a knob: ${waiting[0].replace(/^\/latentjam\//, "")}`
      : learning ? "Learn: touch a control" : "Learn";
    const mapped = new Set(state[`${ROOT}/learn/mapped`] || []);
    for (const el of document.querySelectorAll("[data-address]")) {
      el.classList.toggle("mapped", mapped.has(el.dataset.address));
    }
  }
  const song = state[`${ROOT}/radio/song`];
  $("#radio").hidden = song === undefined;
  if (song !== undefined) {
    $("#radio-song").textContent = song[0];
    $("#radio-section").textContent = get("radio/section", [""])[0];
    $("#radio-key").textContent = get("radio/key", [""])[0];
    $("#radio-energy").value = get("radio/energy", [0])[0];
  }
}

// -- a track ------------------------------------------------------------------------------

function knob(parent, label, low, high, step, address) {
  const box = document.createElement("label");
  box.className = "knob";
  box.innerHTML = `<span class="top"><span class="label"></span><output></output></span>
    <input type="range">`;
  $(".label", box).textContent = label.replace(/_/g, " ");
  const input = $("input", box);
  Object.assign(input, { min: low, max: high, step: step });
  input.dataset.field = label;
  const out = $("output", box);
  const sendValue = throttled((v) => send(address, [step >= 1 ? Math.round(v) : v]));
  box.dataset.address = address;
  input.addEventListener("input", () => {
    if (learning) return;
    out.textContent = input.value;
    sendValue(+input.value);
  });
  const hold = (on) => () => { input.dataset.held = on && !learning ? "1" : ""; };
  input.addEventListener("pointerdown", (event) => {
    if (learnInstead(address)) event.preventDefault();
    hold(true)();
  });
  for (const end of ["pointerup", "pointercancel", "change"]) input.addEventListener(end, hold(false));
  parent.appendChild(box);
  return (value) => {
    if (value === undefined || input.dataset.held) return;
    input.value = value;
    out.textContent = step >= 1 ? Math.round(value) : (+value).toFixed(2);
  };
}

function addTrack(name) {
  const node = $("#track-template").content.firstElementChild.cloneNode(true);
  node.dataset.track = name;
  $(".name", node).textContent = name;
  const base = `${ROOT}/track/${name}`;
  const ui = { node, base, knobs: {}, action: "save", loadSlot: null, drag: null };
  const flip = (field) => () => learnInstead(`${base}/${field}`) || send(`${base}/${field}`,
    [(state[`${base}/${field}`] || [0])[0] ? 0 : 1]);
  $(".mute", node).dataset.address = `${base}/mute`;
  $(".solo", node).dataset.address = `${base}/solo`;
  $(".mute", node).addEventListener("click", flip("mute"));
  $(".solo", node).addEventListener("click", flip("solo"));
  for (const mode of MODES) {
    const b = document.createElement("button");
    b.textContent = mode;
    b.dataset.mode = mode;
    b.addEventListener("click", () => send(`${base}/mode`, [mode]));
    $(".modes", node).appendChild(b);
  }
  for (const path of PATHS) {
    const b = document.createElement("button");
    b.textContent = path;
    b.dataset.path = path;
    b.addEventListener("click", () => send(`${base}/blend/path`, [path]));
    $(".paths", node).appendChild(b);
  }
  for (const [field, low, high, step] of KNOBS) {
    ui.knobs[field] = knob($(".knobs", node), field, low, high, step, `${base}/${field}`);
  }
  for (const [field, low, high, step] of HUMANIZE) {
    ui.knobs[`humanize/${field}`] = knob($(".humanize", node), field, low, high, step,
      `${base}/humanize/${field}`);
  }
  setupAnchors(ui);
  setupPad(ui);
  tracks.set(name, ui);
  $("#tracks").appendChild(node);
  return ui;
}

function setupAnchors(ui) {
  const { node, base } = ui;
  for (const b of node.querySelectorAll(".action")) {
    b.addEventListener("click", () => {
      ui.action = b.dataset.action;
      for (const other of node.querySelectorAll(".action")) other.classList.toggle("selected", other === b);
      $(".files", node).hidden = true;
    });
  }
  for (let slot = 0; slot < 8; slot++) {
    const b = document.createElement("button");
    b.textContent = slot;
    b.dataset.slot = slot;
    b.addEventListener("click", () => {
      if (ui.action === "save") send(`${base}/anchor/save`, [slot]);
      else if (ui.action === "record") send(`${base}/anchor/record`, [slot]);
      else { ui.loadSlot = slot; send(`${ROOT}/anchors`); }
    });
    $(".slots", node).appendChild(b);
  }
}

function showFiles(files) {
  for (const ui of tracks.values()) {
    if (ui.loadSlot === null) continue;
    const box = $(".files", ui.node);
    box.replaceChildren();
    if (!files.length) box.textContent = "no MIDI file in the anchor folders";
    for (const file of files) {
      const b = document.createElement("button");
      b.textContent = `${ui.loadSlot} \u2190 ${file}`;
      const slot = ui.loadSlot;
      b.addEventListener("click", () => {
        send(`${ui.base}/anchor/load`, [slot, file]);
        box.hidden = true;
      });
      box.appendChild(b);
    }
    box.hidden = false;
    ui.loadSlot = null;
  }
}

// The Beat Blender's square: corner anchors 0 (top left), 1 (top right), 2 (bottom left),
// 3 (bottom right); x to the right, y down, as docs/osc.md's /blend x y.
function setupPad(ui) {
  const pad = $(".pad", ui.node);
  const sendPoint = throttled(([x, y]) => send(`${ui.base}/blend`, [x, y]));
  const at = (event) => {
    const r = pad.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((event.clientX - r.left) / r.width), clamp((event.clientY - r.top) / r.height)];
  };
  pad.addEventListener("pointerdown", (e) => {
    pad.setPointerCapture(e.pointerId);
    ui.drag = at(e);
    sendPoint(ui.drag);
    drawPad(ui);
  });
  pad.addEventListener("pointermove", (e) => {
    if (!ui.drag) return;
    ui.drag = at(e);
    sendPoint(ui.drag);
    drawPad(ui);
  });
  const release = () => { ui.drag = null; drawPad(ui); };
  pad.addEventListener("pointerup", release);
  pad.addEventListener("pointercancel", release);
}

function drawPad(ui) {
  const pad = $(".pad", ui.node);
  const g = pad.getContext("2d");
  const s = pad.width;
  g.clearRect(0, 0, s, s);
  g.strokeStyle = "#2f3742";
  for (let i = 1; i < 4; i++) {
    g.beginPath(); g.moveTo(i * s / 4, 0); g.lineTo(i * s / 4, s); g.stroke();
    g.beginPath(); g.moveTo(0, i * s / 4); g.lineTo(s, i * s / 4); g.stroke();
  }
  const filled = new Set(state[`${ui.base}/anchors`] || []);
  const corners = [[0, 0], [1, 0], [0, 1], [1, 1]];
  g.font = "bold 18px system-ui";
  corners.forEach(([x, y], slot) => {
    const cx = 18 + x * (s - 36), cy = 18 + y * (s - 36);
    g.fillStyle = filled.has(slot) ? "#4aa3ff" : "#3a4350";
    g.beginPath(); g.arc(cx, cy, 14, 0, 2 * Math.PI); g.fill();
    g.fillStyle = "#111"; g.textAlign = "center"; g.textBaseline = "middle";
    g.fillText(slot, cx, cy + 1);
  });
  const heard = state[`${ui.base}/blend`] || [0.5, 0.5];
  g.fillStyle = "#f2b233";
  g.beginPath(); g.arc(heard[0] * s, heard[1] * s, 12, 0, 2 * Math.PI); g.fill();
  if (ui.drag) {
    g.strokeStyle = "#e8edf2"; g.lineWidth = 3;
    g.beginPath(); g.arc(ui.drag[0] * s, ui.drag[1] * s, 18, 0, 2 * Math.PI); g.stroke();
    g.lineWidth = 1;
  }
}

// Latent Loops: row r, column c of an n-by-n grid (row 0 the corners 0-1 edge).
function showGrid(ui) {
  const box = $(".grid-cells", ui.node);
  const n = (state[`${ui.base}/grid/size`] || [5])[0];
  if (box.childElementCount !== n * n) {
    box.replaceChildren();
    box.style.gridTemplateColumns = `repeat(${n}, 1fr)`;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const b = document.createElement("button");
        b.dataset.row = r; b.dataset.column = c;
        b.addEventListener("click", () => send(`${ui.base}/grid/cell`, [r, c]));
        box.appendChild(b);
      }
    }
  }
  const [x, y] = state[`${ui.base}/blend`] || [0.5, 0.5];
  const row = Math.round(y * (n - 1)), column = Math.round(x * (n - 1));
  for (const b of box.children) {
    b.classList.toggle("here", +b.dataset.row === row && +b.dataset.column === column);
  }
}

// A loop's summary: [steps, start, length, pitch, ...] on 16th notes (engine/loops.roll).
function drawRoll(canvas, roll) {
  const g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  if (!roll || roll.length < 1) return;
  const steps = roll[0];
  let low = 127, high = 0;
  for (let i = 3; i < roll.length; i += 3) { low = Math.min(low, roll[i]); high = Math.max(high, roll[i]); }
  g.strokeStyle = "#2f3742";
  for (let bar = 0; bar <= steps; bar += 16) {
    g.beginPath(); g.moveTo(bar / steps * w, 0); g.lineTo(bar / steps * w, h); g.stroke();
  }
  if (high < low) return;
  const rows = Math.max(high - low + 1, 12), rowH = h / rows; // an octave at least
  g.fillStyle = canvas.classList.contains("queued") ? "#4aa3ff" : "#f2b233";
  for (let i = 1; i + 2 < roll.length; i += 3) {
    const [start, length, pitch] = [roll[i], roll[i + 1], roll[i + 2]];
    g.fillRect(start / steps * w, h - (pitch - low + 1) * rowH, Math.max(length / steps * w - 1, 2),
      Math.max(rowH - 1, 2));
  }
}

function showTrack(ui) {
  const get = (field, fallback) => state[`${ui.base}/${field}`] || fallback;
  const { node } = ui;
  $(".mute", node).classList.toggle("on", get("mute", [0])[0] === 1);
  $(".solo", node).classList.toggle("on", get("solo", [0])[0] === 1);
  const mode = get("mode", [""])[0];
  for (const b of node.querySelectorAll(".modes button")) b.classList.toggle("selected", b.dataset.mode === mode);
  const path = get("blend/path", [""])[0];
  for (const b of node.querySelectorAll(".paths button")) b.classList.toggle("selected", b.dataset.path === path);
  $(".loops", node).textContent = `loop ${get("loops", [0])[0]} \u00b7 late ${get("late", [0])[0]}`;
  for (const [field, set] of Object.entries(ui.knobs)) set(get(field, [undefined])[0]);
  const filled = new Set(get("anchors", []));
  for (const b of node.querySelectorAll(".slots button")) b.classList.toggle("filled", filled.has(+b.dataset.slot));
  $(".blend-pad", node).hidden = mode !== "blend";
  $(".grid-cells", node).hidden = mode !== "grid";
  if (mode === "blend") drawPad(ui);
  if (mode === "grid") showGrid(ui);
  if (ui.rollShown !== get("roll", null)) { ui.rollShown = get("roll", null); drawRoll($(".roll.playing", node), ui.rollShown); }
  if (ui.queuedShown !== get("queued", null)) { ui.queuedShown = get("queued", null); drawRoll($(".roll.queued", node), ui.queuedShown); }
}

// -- feedback -----------------------------------------------------------------------------

function feedback(messages) {
  const touched = new Set();
  for (const [address, args] of Object.entries(messages)) {
    state[address] = args;
    const match = address.match(/^\/latentjam\/track\/([^/]+)\//);
    if (match) touched.add(match[1]);
  }
  for (const name of touched) {
    if (!tracks.has(name) && state[`${ROOT}/track/${name}/mode`]) addTrack(name);
    if (tracks.has(name)) showTrack(tracks.get(name));
  }
  showTransport();
}

function connect() {
  const token = new URLSearchParams(location.search).get("token") || "";
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}`);
  socket.addEventListener("open", () => {
    $("#link").textContent = "connected";
    $("#link").classList.remove("down");
  });
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "feedback") feedback(frame.messages);
    else if (frame.type === "anchors") showFiles(frame.files);
    else if (frame.type === "error") say(frame.text);
  });
  socket.addEventListener("close", () => {
    $("#link").textContent = "reconnecting";
    $("#link").classList.add("down");
    setTimeout(connect, 1000);
  });
}

setupTransport();
connect();
