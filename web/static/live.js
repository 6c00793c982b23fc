// Live wall (实时视频墙): WHEP viewers per tile, a large view with push-to-talk, tours.
// No inline scripts (CSP): everything the page needs is read from data-* attributes.
"use strict";

(() => {
  const root = document.getElementById("live");
  if (!root) return;
  const T = (key) => root.dataset["t" + key.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())] || key;
  const csrf = root.dataset.csrf;
  const canTalk = root.dataset.canTalk === "1";
  const BACKOFF = [1000, 2000, 5000, 10000, 20000];
  const STATUS_EVERY = 3000;

  async function sdpRequest(url, offer) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", "X-CSRF-Token": csrf },
      body: offer,
      credentials: "same-origin",
    });
    if (response.status !== 201) {
      let problem = { error: "http_" + response.status, message: response.statusText };
      try { problem = await response.json(); } catch (_) { /* not JSON */ }
      const error = new Error(problem.message);
      error.status = response.status;
      error.code = problem.error;
      throw error;
    }
    return {
      answer: await response.text(),
      location: response.headers.get("Location"),
      stream: response.headers.get("X-Stream"),
    };
  }

  // End a WHEP/talk resource, then close its peer connection.  The DELETE goes first and
  // the connection closes when it has been answered: closed first, the gateway sees the
  // peer leave and ends the session by itself, and the DELETE then finds nothing (404).
  function hangUpResource(location, pc) {
    if (pc) { pc.ontrack = null; pc.onconnectionstatechange = null; }
    const close = () => { if (pc) pc.close(); };
    if (!location) { close(); return; }
    // keepalive: the DELETE still goes out when the page is being closed.
    fetch(location, { method: "DELETE", headers: { "X-CSRF-Token": csrf }, keepalive: true,
                      credentials: "same-origin" }).catch(() => {}).finally(close);
  }

  function gathered(pc, limitMs) {
    // aiortc takes complete offers (no trickle); on a LAN gathering ends in milliseconds.
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { pc.removeEventListener("icegatheringstatechange", check); resolve(); };
      const check = () => { if (pc.iceGatheringState === "complete") done(); };
      pc.addEventListener("icegatheringstatechange", check);
      setTimeout(done, limitMs);
    });
  }

  // One WHEP session into one <video>; reconnects by itself with backoff.  `stream` is
  // "sub" for grid tiles (small pictures, cheap to decode) or "main" for the large view;
  // `served` is what the gateway sent (main when the camera has no sub stream).
  class LiveView {
    constructor(cameraId, video, stream) {
      this.cameraId = cameraId;
      this.video = video;
      this.stream = stream;
      this.served = null;
      this.pc = null;
      this.location = null;
      this.attempt = 0;
      this.stopped = false;
      this.timer = null;
      this.lastFrames = 0;
      this.stalledSince = null;
      this.watchdog = setInterval(() => this.check(), 5000);
    }

    async start() {
      if (this.stopped) return;
      this.teardown();
      const pc = new RTCPeerConnection({ iceServers: [] });
      this.pc = pc;
      pc.addTransceiver("video", { direction: "recvonly" });
      pc.addTransceiver("audio", { direction: "recvonly" });
      const stream = new MediaStream();
      pc.ontrack = (event) => {
        stream.addTrack(event.track);
        if (this.video.srcObject !== stream) this.video.srcObject = stream;
      };
      pc.onconnectionstatechange = () => {
        if (this.pc !== pc) return;
        if (pc.connectionState === "connected") this.attempt = 0;
        if (pc.connectionState === "failed" || pc.connectionState === "closed") this.retry();
        if (pc.connectionState === "disconnected") {
          setTimeout(() => { if (this.pc === pc && pc.connectionState !== "connected") this.retry(); }, 4000);
        }
      };
      try {
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc, 2000);
        const { answer, location, stream } = await sdpRequest(
          `/api/cameras/${this.cameraId}/whep?stream=${this.stream}`, pc.localDescription.sdp);
        if (this.pc !== pc) { hangUpResource(location, null); return; }
        this.location = location;
        this.served = stream;
        await pc.setRemoteDescription({ type: "answer", sdp: answer });
      } catch (error) {
        if (error.status === 403 || error.status === 404) { this.stopped = true; return; }
        this.retry();
      }
    }

    retry() {
      if (this.stopped || this.timer) return;
      const delay = BACKOFF[Math.min(this.attempt, BACKOFF.length - 1)];
      this.attempt += 1;
      this.timer = setTimeout(() => { this.timer = null; this.start(); }, delay);
    }

    async check() {
      // A connection can stay "connected" while nothing arrives (network half-gone):
      // no decoded frame for 15 s starts over.
      if (!this.pc || this.pc.connectionState !== "connected") return;
      const frames = (await videoStats(this.pc)).framesDecoded || 0;
      if (frames > this.lastFrames) { this.lastFrames = frames; this.stalledSince = null; return; }
      this.stalledSince = this.stalledSince || Date.now();
      if (Date.now() - this.stalledSince > 15000) { this.stalledSince = null; this.lastFrames = 0; this.retry(); }
    }

    teardown() {
      hangUpResource(this.location, this.pc);
      this.location = null;
      this.pc = null;
    }

    stop() {
      this.stopped = true;
      clearInterval(this.watchdog);
      if (this.timer) clearTimeout(this.timer);
      this.teardown();
      this.video.srcObject = null;
    }
  }

  async function videoStats(pc) {
    const out = {};
    if (!pc) return out;
    (await pc.getStats()).forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "video") Object.assign(out, report);
    });
    return out;
  }

  // Push-to-talk: the first press opens the talk session (and takes the floor); releasing
  // mutes the microphone and hangs up after a few quiet seconds, so a conversation does
  // not reconnect at every sentence.
  class Talker {
    constructor(cameraId, status) {
      this.cameraId = cameraId;
      this.status = status;
      this.pc = null;
      this.mic = null;
      this.location = null;
      this.hangTimer = null;
      this.opening = null;
    }

    // While this talker holds a session, the floor is checked twice a second: a chair who
    // takes it over ends this session at the gateway, and the talker must know at once
    // (the button releases, the notice names who took it).
    watchFloor() {
      clearInterval(this.floorWatch);
      this.floorWatch = setInterval(async () => {
        if (!this.pc) { clearInterval(this.floorWatch); return; }
        try {
          const floor = await (await fetch(`/api/cameras/${this.cameraId}/talk`)).json();
          if (this.pc && floor.talking && !floor.talking_mine) {
            this.hangUp();
            this.status.textContent = `${floor.talking} ${T("took-over")}`;
            this.status.dataset.takenBy = floor.talking;
            if (this.onTaken) this.onTaken();
          }
        } catch (_) { /* the next check will tell */ }
      }, 500);
    }

    // A level meter while talking: the talker sees the microphone hears them.
    meter() {
      const el = document.getElementById("mic-level");
      if (!el || !this.mic || !window.AudioContext) return;
      this.audio = this.audio || new AudioContext();
      const source = this.audio.createMediaStreamSource(this.mic);
      const analyser = this.audio.createAnalyser();
      analyser.fftSize = 512;
      source.connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      el.hidden = false;
      clearInterval(this.levelTimer);
      this.levelTimer = setInterval(() => {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const v of samples) sum += v * v;
        const live = this.mic && this.mic.getAudioTracks().some((t) => t.enabled);
        el.value = live ? Math.min(1, Math.sqrt(sum / samples.length) * 3) : 0;
      }, 100);
    }

    // The connection ended under us: say so if someone took the floor.
    async lost() {
      if (!this.pc) return;
      this.hangUp();
      try {
        const floor = await (await fetch(`/api/cameras/${this.cameraId}/talk`)).json();
        if (floor.talking && !floor.talking_mine) {
          this.status.textContent = `${floor.talking} ${T("took-over")}`;
          this.status.dataset.takenBy = floor.talking;
          if (this.onTaken) this.onTaken();
        }
      } catch (_) { /* nothing more to say */ }
    }

    async press() {
      clearTimeout(this.hangTimer);
      if (!this.pc) {
        this.opening = this.opening || this.open(false);
        await this.opening;
        this.opening = null;
      }
      if (this.mic) this.mic.getAudioTracks().forEach((t) => { t.enabled = true; });
      if (this.pc) this.status.textContent = T("talking-now");
    }

    release() {
      if (this.mic) this.mic.getAudioTracks().forEach((t) => { t.enabled = false; });
      clearTimeout(this.hangTimer);
      this.hangTimer = setTimeout(() => this.hangUp(), 5000);
      if (this.pc) this.status.textContent = "";
    }

    async open(takeover) {
      try {
        this.mic = this.mic || await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      } catch (_) {
        this.status.textContent = T("mic-denied");
        return;
      }
      const pc = new RTCPeerConnection({ iceServers: [] });
      this.mic.getAudioTracks().forEach((t) => pc.addTransceiver(t, { direction: "sendonly" }));
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, 2000);
      try {
        const url = `/api/cameras/${this.cameraId}/talk` + (takeover ? "?takeover=1" : "");
        const { answer, location } = await sdpRequest(url, pc.localDescription.sdp);
        await pc.setRemoteDescription({ type: "answer", sdp: answer });
        this.pc = pc;
        this.location = location;
        delete this.status.dataset.takenBy;
        this.watchFloor();
        this.meter();
        pc.onconnectionstatechange = () => {
          if (pc.connectionState === "failed" || pc.connectionState === "closed") this.lost();
        };
      } catch (error) {
        pc.close();
        if (error.status === 409 && error.code === "talk_floor_busy") {
          const floor = await (await fetch(`/api/cameras/${this.cameraId}/talk`)).json();
          this.status.textContent = `${floor.talking || ""} ${T("busy")}`;
          if (floor.can_take_over && window.confirm(`${floor.talking} ${T("busy")} — ${T("take-over")}`)) {
            await this.open(true);
          }
        } else {
          this.status.textContent = error.message;
        }
      }
    }

    hangUp() {
      clearTimeout(this.hangTimer);
      hangUpResource(this.location, this.pc);
      this.location = null;
      this.pc = null;
      clearInterval(this.floorWatch);
      clearInterval(this.levelTimer);
      const el = document.getElementById("mic-level");
      if (el) { el.value = 0; el.hidden = true; }
      if (this.audio) { this.audio.close().catch(() => {}); this.audio = null; }
      if (this.mic) this.mic.getTracks().forEach((t) => t.stop());
      this.mic = null;
    }
  }

  // ---------------------------------------------------------------- the wall
  const grid = document.getElementById("grid");
  const state = {
    cameras: [],
    unit: null,
    size: 4,
    page: 0,
    tour: null,
    tiles: new Map(), // camera id → { el, view, badges }
    large: null,
  };

  function scopePrefix(code) {
    if (code.endsWith("000000")) return code.slice(0, 6);
    if (code.endsWith("000")) return code.slice(0, 9);
    return code;
  }

  function badgesHtml(cam) {
    const parts = [];
    if (cam.online) parts.push(`<span class="badge on">${T("online")}</span>`);
    else parts.push(`<span class="badge off" title="${escapeHtml(cam.reason)}">${T("offline")}: ${escapeHtml(cam.reason)}</span>`);
    if (cam.talking) parts.push(`<span class="badge talking">${T("talking")}: ${escapeHtml(cam.talking)}</span>`);
    if (cam.recording) parts.push(`<span class="badge rec">${T("recording")}</span>`);
    if (cam.mediation) {
      const number = cam.mediation.case_number ? ` · ${escapeHtml(cam.mediation.case_number)}` : "";
      parts.push(`<span class="badge mediation" data-testid="mediation">${T("mediation")}${number}</span>`);
    }
    if (cam.online && cam.listen_only_reason) {
      parts.push(`<span class="badge warn" title="${escapeHtml(cam.listen_only_reason)}">${T("listen-only")}</span>`);
    }
    return parts.join(" ");
  }

  function escapeHtml(text) {
    return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function chosen() {
    const ticked = [...document.querySelectorAll("input[data-tour]:checked")].map((i) => Number(i.dataset.tour));
    if (state.tour && ticked.length) return state.cameras.filter((c) => ticked.includes(c.id));
    if (!state.unit) return state.cameras;
    const prefix = scopePrefix(state.unit);
    return state.cameras.filter((c) => c.unit_code.startsWith(prefix));
  }

  function renderTree() {
    document.querySelectorAll("ul[data-cams-of]").forEach((ul) => {
      const mine = state.cameras.filter((c) => c.unit_code === ul.dataset.camsOf);
      const ticked = new Set([...ul.querySelectorAll("input[data-tour]:checked")].map((i) => i.dataset.tour));
      const html = mine.map((c) => `<li><input type="checkbox" data-tour="${c.id}" ${ticked.has(String(c.id)) ? "checked" : ""}>
        <span class="dot ${c.online ? "on" : "off"}"></span>
        <button type="button" class="link cam-pick" data-cam="${c.id}" data-testid="cam-${c.id}">${escapeHtml(c.name)}</button></li>`).join("");
      if (ul.dataset.rendered !== html) { ul.innerHTML = html; ul.dataset.rendered = html; }
    });
  }

  // Grids of 4 and more show sub streams; a single tile is big enough for main.
  const tileStream = () => (state.size >= 4 ? "sub" : "main");

  function renderGrid() {
    const list = chosen();
    const pages = Math.max(1, Math.ceil(list.length / state.size));
    state.page = ((state.page % pages) + pages) % pages;
    document.getElementById("page-label").textContent = `${state.page + 1}/${pages}`;
    const visible = list.slice(state.page * state.size, (state.page + 1) * state.size);
    const ids = new Set(visible.map((c) => c.id));
    const stream = tileStream();
    for (const [id, tile] of state.tiles) {
      if (!ids.has(id)) { tile.view.stop(); tile.el.remove(); state.tiles.delete(id); }
      else if (tile.view.stream !== stream) {
        // The layout changed between 1 and 4+: the same tile, the other stream.
        tile.view.stop();
        tile.view = new LiveView(id, tile.el.querySelector("video"), stream);
        tile.view.start();
      }
    }
    grid.className = `live-grid g${state.size}`;
    // Move nodes only when their place changes: a re-appended <video> would flicker and a
    // tile being clicked would jump away under the pointer.
    visible.forEach((cam, index) => {
      let tile = state.tiles.get(cam.id);
      if (!tile) {
        const el = document.createElement("div");
        el.className = "tile";
        el.dataset.cam = cam.id;
        el.dataset.testid = "tile";
        el.innerHTML = `<video autoplay muted playsinline></video><div class="label"><b></b> <span class="badges"></span></div>`;
        el.addEventListener("click", () => openLarge(cam.id));
        const view = new LiveView(cam.id, el.querySelector("video"), stream);
        tile = { el, view };
        state.tiles.set(cam.id, tile);
        view.start();
      }
      if (grid.children[index] !== tile.el) grid.insertBefore(tile.el, grid.children[index] || null);
      const name = tile.el.querySelector("b");
      if (name.textContent !== cam.name) name.textContent = cam.name;
      const badges = badgesHtml(cam);
      const holder = tile.el.querySelector(".badges");
      if (holder.innerHTML !== badges) holder.innerHTML = badges;
    });
    const empties = [...grid.querySelectorAll(".tile.empty")];
    const wanted = state.size - visible.length;
    empties.slice(Math.max(wanted, 0)).forEach((el) => el.remove());
    for (let i = empties.length; i < wanted; i += 1) {
      const empty = document.createElement("div");
      empty.className = "tile empty";
      empty.textContent = T("empty");
      grid.appendChild(empty);
    }
  }

  async function refresh() {
    try {
      const response = await fetch("/api/live/cameras", { credentials: "same-origin" });
      if (response.ok) state.cameras = (await response.json()).cameras;
    } catch (_) { /* the gateway is restarting: keep the last picture */ }
    renderTree();
    renderGrid();
    if (state.large) {
      const cam = state.cameras.find((c) => c.id === state.large.cameraId);
      if (cam) document.getElementById("large-badges").innerHTML = badgesHtml(cam);
    }
  }

  // ---------------------------------------------------------------- large view
  const large = document.getElementById("large");
  const largeVideo = document.getElementById("large-video");
  const talkStatus = document.getElementById("talk-status");
  const muteButton = document.getElementById("mute");

  function openLarge(cameraId) {
    closeLarge();
    const cam = state.cameras.find((c) => c.id === cameraId);
    document.getElementById("large-name").textContent = cam ? cam.name : "";
    document.getElementById("large-badges").innerHTML = cam ? badgesHtml(cam) : "";
    largeVideo.muted = false; // opened by a click: the browser lets it play sound
    muteButton.textContent = T("mute");
    talkStatus.textContent = "";
    const view = new LiveView(cameraId, largeVideo, "main");
    state.large = { cameraId, view, talker: canTalk ? new Talker(cameraId, talkStatus) : null };
    large.hidden = false;
    view.start();
  }

  function closeLarge() {
    if (!state.large) return;
    state.large.view.stop();
    if (state.large.talker) state.large.talker.hangUp();
    state.large = null;
    large.hidden = true;
  }

  document.getElementById("large-close").addEventListener("click", closeLarge);
  muteButton.addEventListener("click", () => {
    largeVideo.muted = !largeVideo.muted;
    muteButton.textContent = largeVideo.muted ? T("unmute") : T("mute");
  });
  document.getElementById("snapshot").addEventListener("click", () => {
    if (!largeVideo.videoWidth) return;
    const canvas = document.createElement("canvas");
    canvas.width = largeVideo.videoWidth;
    canvas.height = largeVideo.videoHeight;
    canvas.getContext("2d").drawImage(largeVideo, 0, 0);
    canvas.toBlob((blob) => {
      const link = document.createElement("a");
      const cam = state.cameras.find((c) => c.id === state.large?.cameraId);
      link.download = `${cam ? cam.name : "snapshot"}-${new Date().toISOString().replace(/[:.]/g, "-")}.png`;
      link.href = URL.createObjectURL(blob);
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    }, "image/png");
  });
  const full = document.getElementById("fullscreen");
  if (full) full.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else grid.requestFullscreen().catch(() => {});
  });
  const ptt = document.getElementById("ptt");
  if (ptt) {
    const down = (event) => {
      event.preventDefault();
      if (!state.large || !state.large.talker) return;
      // Taken over: the button lets go by itself, whatever the pointer does.
      state.large.talker.onTaken = () => { ptt.classList.remove("on"); ptt.textContent = T("talk"); };
      ptt.classList.add("on");
      ptt.textContent = T("talking-now");
      state.large.talker.press();
    };
    const up = () => {
      if (!ptt.classList.contains("on")) return;
      ptt.classList.remove("on");
      ptt.textContent = T("talk");
      if (state.large && state.large.talker) state.large.talker.release();
    };
    ptt.addEventListener("pointerdown", down);
    ptt.addEventListener("pointerup", up);
    ptt.addEventListener("pointerleave", up);
    ptt.addEventListener("pointercancel", up);
  }

  // ---------------------------------------------------------------- controls
  document.querySelectorAll(".grid-pick").forEach((button) => button.addEventListener("click", () => {
    document.querySelectorAll(".grid-pick").forEach((b) => b.classList.toggle("active", b === button));
    state.size = Number(button.dataset.grid);
    state.page = 0;
    renderGrid();
  }));
  document.getElementById("prev-page").addEventListener("click", () => { state.page -= 1; renderGrid(); });
  document.getElementById("next-page").addEventListener("click", () => { state.page += 1; renderGrid(); });
  document.querySelector(".live-side").addEventListener("click", (event) => {
    const unit = event.target.closest(".unit-pick");
    const cam = event.target.closest(".cam-pick");
    if (unit) {
      document.querySelectorAll(".unit-pick").forEach((b) => b.classList.toggle("active", b === unit));
      state.unit = unit.dataset.unit;
      state.page = 0;
      renderGrid();
    } else if (cam) {
      openLarge(Number(cam.dataset.cam));
    }
  });
  const tourButton = document.getElementById("tour");
  tourButton.addEventListener("click", () => {
    if (state.tour) {
      clearInterval(state.tour);
      state.tour = null;
      tourButton.textContent = tourButton.dataset.tStart;
    } else {
      const seconds = Math.max(5, Number(document.getElementById("tour-seconds").value) || 20);
      state.tour = setInterval(() => { state.page += 1; renderGrid(); }, seconds * 1000);
      tourButton.textContent = tourButton.dataset.tStop;
      state.page = 0;
    }
    renderGrid();
  });
  window.addEventListener("pagehide", () => {
    for (const tile of state.tiles.values()) tile.view.stop();
    closeLarge();
  });

  // For diagnostics (and the browser tests): what each visible stream decodes.
  window.liveWall = {
    async stats() {
      const out = [];
      for (const [id, tile] of state.tiles) {
        out.push({ camera: id, where: "tile", ...(await videoStats(tile.view.pc)), stream: tile.view.served });
      }
      if (state.large) {
        const view = state.large.view;
        out.push({ camera: state.large.cameraId, where: "large", ...(await videoStats(view.pc)), stream: view.served });
      }
      return out;
    },
    talking() { return Boolean(state.large && state.large.talker && state.large.talker.pc); },
  };

  refresh();
  setInterval(refresh, STATUS_EVERY);
})();
