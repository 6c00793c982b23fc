// Recording playback: one MP4 segment at a time, seeking across segments (and over gaps),
// integrity check, case attachment and evidence export with progress.  The page puts its
// data in a JSON script element: the CSP allows no inline script.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("recording-data").textContent);
  const rid = data.id;
  const csrf = data.csrf;
  const segments = data.segments;
  const starts = segments.map(s => Date.parse(s.start));
  const first = starts.length ? starts[0] : 0;
  const last = segments.length ? Date.parse(segments[segments.length - 1].end) : 1;
  const player = document.getElementById("player");
  let current = -1;
  function load(i, offset) {
    if (i < 0 || i >= segments.length) return;
    if (i !== current) {
      current = i;
      player.src = `/api/recordings/${rid}/segments/${segments[i].index}.mp4`;
      document.querySelectorAll(".thumb").forEach((t, k) => t.classList.toggle("playing", k === i));
    }
    player.addEventListener("loadedmetadata", () => { player.currentTime = offset; player.play().catch(() => {}); }, { once: true });
    if (player.readyState >= 1) { player.currentTime = offset; }
  }
  function seekTo(ms) {
    let i = starts.findIndex((s, k) => ms >= s && ms < Date.parse(segments[k].end));
    if (i < 0) i = starts.findIndex(s => s > ms);  // inside a gap: the next media
    if (i < 0) return;
    load(i, Math.max(0, (ms - starts[i]) / 1000));
  }
  player.addEventListener("ended", () => load(current + 1, 0));
  player.addEventListener("timeupdate", () => {
    if (current < 0) return;
    const at = starts[current] + player.currentTime * 1000;
    document.getElementById("cursor").style.left = `${(at - first) / (last - first) * 100}%`;
    document.getElementById("position").textContent = new Date(at).toLocaleString("zh-CN", { timeZone: document.documentElement.dataset.zone, hour12: false });
  });
  document.getElementById("seek").addEventListener("click", (e) => {
    const box = e.currentTarget.getBoundingClientRect();
    seekTo(first + (e.clientX - box.left) / box.width * (last - first));
  });
  document.querySelectorAll(".thumb").forEach(t => t.addEventListener("click", (e) => { e.preventDefault(); load(Number(t.dataset.index), 0); }));
  const hash = location.hash.match(/^#segment-(\d+)$/);
  if (segments.length) load(hash ? Math.max(0, segments.findIndex(s => s.index === Number(hash[1]))) : 0, 0);
  async function api(method, url, body) {
    const r = await fetch(url, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: body ? JSON.stringify(body) : undefined });
    const data = await r.json();
    if (!r.ok) throw new Error(data.message || r.status);
    return data;
  }
  document.getElementById("verify").addEventListener("click", async () => {
    const out = document.getElementById("verify-result");
    try { const r = await api("GET", `/api/recordings/${rid}/verify`); out.textContent = r.summary; out.className = r.ok ? "badge on" : "badge off"; }
    catch (e) { out.textContent = e.message; }
  });
  // Forms take the case number people see; the API addresses the case by its id.
  async function caseId(number) {
    const wanted = String(number).trim();
    const found = await api("GET", `/api/cases?q=${encodeURIComponent(wanted)}&limit=5`);
    const hit = (found.cases || []).find(c => c.number === wanted);
    if (!hit) throw new Error(document.getElementById("recording-data").dataset.nocase || "no such case");
    return hit.id;
  }
  const attach = document.getElementById("attach");
  if (attach) attach.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(attach);
    try { await api("POST", `/api/cases/${await caseId(f.get("case_number"))}/recordings`, { recording_id: rid, note: f.get("note") }); location.reload(); }
    catch (err) { alert(err.message); }
  });
  const exp = document.getElementById("export");
  if (exp) exp.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(exp);
    const bar = document.getElementById("export-progress");
    const out = document.getElementById("export-result");
    try {
      const started = await api("POST", `/api/cases/${await caseId(f.get("case_number"))}/exports`, { reason: f.get("reason"), ranges: [{ recording_id: rid, start: f.get("start"), end: f.get("end") }] });
      bar.hidden = false;
      for (;;) {
        const s = await api("GET", `/api/exports/${started.id}`);
        bar.value = s.progress;
        if (s.state === "done") { out.innerHTML = `<a href="${s.download}">${started.id}.zip</a> SHA-256 ${s.sha256}`; break; }
        if (s.state === "failed") { out.textContent = s.error; break; }
        await new Promise(r => setTimeout(r, 1000));
      }
    } catch (err) { out.textContent = err.message; }
  });
})();
