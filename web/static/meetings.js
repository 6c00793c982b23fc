// Video meetings: the calendar's forms, the join page (device check, WebRTC into the
// room) and the chair's console.  No inline scripts (CSP): data-* attributes carry text.
"use strict";

(() => {
  const dataset = (el) => (key) => el.dataset["t" + key.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())] || key;

  async function api(csrf, method, url, body) {
    const response = await fetch(url, {
      method,
      headers: body === undefined ? { "X-CSRF-Token": csrf } : { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = null;
    try { data = await response.json(); } catch (_) { /* no body */ }
    if (!response.ok) throw new Error((data && data.message) || response.statusText);
    return data;
  }

  // ---------------------------------------------------------------- the calendar
  const list = document.getElementById("meetings");
  if (list) {
    const T = dataset(list);
    const csrf = list.dataset.csrf;
    const link = document.getElementById("calendar-link");
    link.addEventListener("click", async () => {
      const data = await api(csrf, "GET", "/api/meetings/calendar");
      document.getElementById("calendar-url").textContent = data.url;
      try { await navigator.clipboard.writeText(data.url); link.title = T("copied"); } catch (_) { /* shown */ }
    });
    const form = document.getElementById("new-series");
    if (form) {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const f = new FormData(form);
        const body = { unit: f.get("unit"), title: f.get("title"), kind: f.get("kind"),
                       start: f.get("start"), duration_minutes: Number(f.get("duration_minutes")) };
        if (f.get("weekday")) body.weekday = Number(f.get("weekday"));
        if (f.get("date")) body.date = f.get("date");
        const status = document.getElementById("new-series-status");
        try {
          await api(csrf, "POST", "/api/meetings", body);
          status.textContent = T("created");
          setTimeout(() => location.reload(), 400);
        } catch (error) { status.textContent = error.message; }
      });
    }
    return;
  }

  // ------------------------------------------------------------- the join page
  const root = document.getElementById("meeting");
  if (!root) return;
  const T = dataset(root);
  const csrf = root.dataset.csrf;
  const occurrence = root.dataset.occurrence;
  const base = "/api/meetings/occurrences/" + occurrence;
  const $ = (id) => document.getElementById(id);
  let local = null;   // the camera and microphone stream
  let pc = null;
  let location_ = null;
  let participant = null;
  let muted = false;
  let hand = false;

  async function deviceCheck() {
    try {
      local = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
      $("preview").srcObject = local;
      const ctx = new AudioContext();
      const analyser = ctx.createAnalyser();
      ctx.createMediaStreamSource(local).connect(analyser);
      const buf = new Uint8Array(analyser.fftSize);
      const meter = $("mic-level");
      const tick = () => {
        analyser.getByteTimeDomainData(buf);
        let peak = 0;
        for (const v of buf) peak = Math.max(peak, Math.abs(v - 128));
        meter.style.width = Math.min(100, peak / 1.28) + "%";
        meter.dataset.level = String(peak);
        requestAnimationFrame(tick);
      };
      tick();
      $("device-status").textContent = local.getTracks().map((t) => t.kind + ": " + t.label).join(" · ");
    } catch (error) {
      $("device-status").textContent = T("no-devices");
    }
  }

  function gathered(peer, limitMs) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => resolve();
      peer.addEventListener("icegatheringstatechange", () => { if (peer.iceGatheringState === "complete") done(); });
      setTimeout(done, limitMs);
    });
  }

  async function join() {
    $("join-status").textContent = T("joining");
    pc = new RTCPeerConnection({ iceServers: [] });
    const video = local && local.getVideoTracks()[0];
    const audio = local && local.getAudioTracks()[0];
    pc.addTransceiver(video || "video", { direction: video ? "sendrecv" : "recvonly", streams: local ? [local] : [] });
    pc.addTransceiver(audio || "audio", { direction: audio ? "sendrecv" : "recvonly", streams: local ? [local] : [] });
    const remote = new MediaStream();
    pc.addEventListener("track", (event) => { remote.addTrack(event.track); $("composite").srcObject = remote; });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 2000);
    const site = encodeURIComponent($("site").value.trim());
    const response = await fetch(base + "/join?site=" + site, {
      method: "POST", headers: { "Content-Type": "application/sdp", "X-CSRF-Token": csrf },
      body: pc.localDescription.sdp, credentials: "same-origin",
    });
    if (response.status !== 201) {
      let message = response.statusText;
      try { message = (await response.json()).message; } catch (_) { /* not JSON */ }
      $("join-status").textContent = message;
      pc.close(); pc = null;
      return;
    }
    location_ = response.headers.get("Location");
    participant = location_.split("/").pop();
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
    $("join-status").textContent = T("joined");
    for (const id of ["leave", "self-mute", "hand"]) $(id).hidden = false;
    $("join").hidden = true;
    poll();
  }

  function leave() {
    if (location_) fetch(location_, { method: "DELETE", headers: { "X-CSRF-Token": csrf }, keepalive: true, credentials: "same-origin" }).catch(() => {});
    if (pc) pc.close();
    pc = null; location_ = null; participant = null;
    $("join-status").textContent = T("left");
    for (const id of ["leave", "self-mute", "hand", "answer"]) $(id).hidden = true;
    $("join").hidden = false;
  }

  async function self(body) {
    if (!location_) return;
    try { render(await api(csrf, "PATCH", location_, body)); } catch (error) { $("join-status").textContent = error.message; }
  }

  // ----------------------------------------------------------- the room, polled
  function render(state) {
    if (!state || !state.participants) return;
    const me = state.participants.find((p) => p.id === participant);
    if (me) {
      muted = me.muted; hand = me.hand_raised;
      $("self-mute").textContent = muted ? T("unmute") : T("mute");
      $("hand").textContent = hand ? T("lower") : T("raise");
      const called = state.rollcall && state.rollcall.participant === participant && !state.rollcall.answered_at;
      $("answer").hidden = !called;
      if (called) $("join-status").textContent = T("called");
      if (local) for (const t of local.getAudioTracks()) t.enabled = !muted;
    }
    const table = $("sites");
    if (!table) return;
    $("layout").value = state.layout;
    $("lock").checked = state.locked;
    table.replaceChildren(...state.participants.map((p) => {
      const row = document.createElement("tr");
      row.dataset.participant = p.id;
      const name = document.createElement("td");
      name.textContent = p.site + (p.kind === "camera" ? " (" + T("camera") + ")" : "");
      const flags = document.createElement("td");
      flags.textContent = [p.muted ? T("muted") : "", p.hand_raised ? T("hand") : ""].filter(Boolean).join(" · ");
      const actions = document.createElement("td");
      const button = (label, action, value) => {
        const b = document.createElement("button");
        b.type = "button"; b.className = "small"; b.textContent = label; b.dataset.action = action;
        b.addEventListener("click", () => control(action, p.id, value));
        actions.append(b, " ");
      };
      button(p.muted ? T("unmute") : T("mute"), p.muted ? "unmute" : "mute");
      button(T("spotlight"), "spotlight");
      button(T("rollcall"), "rollcall");
      button(T("remove"), "remove");
      row.append(name, flags, actions);
      return row;
    }));
  }

  async function control(action, pid, value) {
    const body = { action };
    if (pid) body.participant = pid;
    if (value !== undefined) body.value = value;
    try { render(await api(csrf, "POST", base + "/control", body)); $("console-status").textContent = ""; }
    catch (error) { $("console-status").textContent = error.message; }
  }

  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    while (participant || root.dataset.chair === "1") {
      try { render(await api(csrf, "GET", base + "/room")); } catch (_) { /* retry */ }
      await new Promise((r) => setTimeout(r, 2000));
    }
    polling = false;
  }

  $("join") && $("join").addEventListener("click", join);
  $("leave").addEventListener("click", leave);
  $("self-mute").addEventListener("click", () => self({ muted: !muted }));
  $("hand").addEventListener("click", () => self({ hand_raised: !hand }));
  $("answer").addEventListener("click", () => self({ answer: true }));
  window.addEventListener("pagehide", () => { if (location_) leave(); });
  if (root.dataset.chair === "1") {
    const status = (p) => p.then(() => location.reload()).catch((e) => { $("console-status").textContent = e.message; });
    $("start").addEventListener("click", () => status(api(csrf, "POST", base + "/start")));
    $("end").addEventListener("click", () => status(api(csrf, "POST", base + "/end")));
    $("layout").addEventListener("change", () => control("layout", null, $("layout").value));
    $("tour").addEventListener("click", () => control("tour", null, Number($("tour-seconds").value)));
    $("tour-stop").addEventListener("click", () => control("tour", null, 0));
    $("mute-all").addEventListener("click", () => control("mute_all"));
    $("unmute-all").addEventListener("click", () => control("unmute_all"));
    $("lock").addEventListener("change", () => control($("lock").checked ? "lock" : "unlock"));
    $("notes").addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = new FormData($("notes"));
      try {
        await api(csrf, "PATCH", base, { agenda: f.get("agenda"), minutes: f.get("minutes") });
        $("console-status").textContent = T("saved");
      } catch (error) { $("console-status").textContent = error.message; }
    });
    $("add-camera").addEventListener("click", async () => {
      try { await api(csrf, "POST", base + "/cameras", { camera_id: Number($("camera-id").value) }); }
      catch (error) { $("console-status").textContent = error.message; }
    });
    poll();
  }
  deviceCheck();
})();
