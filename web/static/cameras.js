// Camera list: refresh the status cells (rendered by the server, already translated) every
// 5 s, and the thumbnails every 30 s, without reloading the page or losing form input.
"use strict";
(function () {
  const table = document.querySelector("table.cameras tbody");
  if (!table) return;
  let ticks = 0;
  async function refresh() {
    ticks += 1;
    try {
      const response = await fetch(window.location.pathname, { credentials: "same-origin" });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const row of page.querySelectorAll("table.cameras tbody tr[data-camera]")) {
        const mine = table.querySelector(`tr[data-camera="${row.dataset.camera}"]`);
        if (!mine) continue;
        mine.querySelector("td.status").innerHTML = row.querySelector("td.status").innerHTML;
        const img = mine.querySelector("td.thumb img");
        if (img && ticks % 6 === 0) {
          img.src = img.src.replace(/&t=\d+$/, "") + "&t=" + Date.now();
        }
      }
    } catch (err) {
      // the gateway restarting: try again at the next tick
    }
  }
  setInterval(refresh, 5000);
})();
