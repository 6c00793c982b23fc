// Case page: play a session's recording in place (its segments one after another) and
// export evidence of the whole case or of one session, with progress.  Data comes in a
// JSON script element: the CSP allows no inline script.
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("case-data").textContent);
  async function api(method, url, body) {
    const r = await fetch(url, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf }, body: body ? JSON.stringify(body) : undefined });
    const answer = await r.json();
    if (!r.ok) throw new Error(answer.localized || answer.message || r.status);
    return answer;
  }
  document.querySelectorAll("button.play").forEach((button) => {
    button.addEventListener("click", async () => {
      const rid = button.dataset.recording;
      const player = document.querySelector(`video.inline-player[data-recording="${rid}"]`);
      const rec = await api("GET", `/api/recordings/${rid}`);
      const segments = rec.segments || [];
      if (!segments.length) return;
      let i = 0;
      const load = () => { player.src = `/api/recordings/${rid}/segments/${segments[i].index}.mp4`; player.play().catch(() => {}); };
      player.onended = () => { if (i + 1 < segments.length) { i += 1; load(); } };
      player.hidden = false;
      load();
    });
  });
  const form = document.getElementById("case-export");
  if (form) form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const out = document.getElementById("case-export-result");
    const bar = document.getElementById("case-export-progress");
    const which = f.get("which");
    const ids = which === "all"
      ? [...form.querySelectorAll("option")].map(o => o.value).filter(v => v !== "all")
      : [which];
    try {
      const ranges = [];
      for (const rid of ids) {
        const rec = await api("GET", `/api/recordings/${rid}`);
        if (rec.media_start && rec.media_end) ranges.push({ recording_id: rid, start: rec.media_start, end: rec.media_end });
      }
      const started = await api("POST", `/api/cases/${data.case}/exports`, { reason: f.get("reason"), ranges });
      bar.hidden = false;
      for (;;) {
        const s = await api("GET", `/api/exports/${started.id}`);
        bar.value = s.progress;
        if (s.state === "done") { out.innerHTML = ""; const a = document.createElement("a"); a.href = s.download; a.textContent = `${started.id}.zip`; out.append(a, ` SHA-256 ${s.sha256}`); break; }
        if (s.state === "failed") { out.textContent = s.error; break; }
        await new Promise(r => setTimeout(r, 1000));
      }
    } catch (err) { out.textContent = err.message; }
  });
})();
