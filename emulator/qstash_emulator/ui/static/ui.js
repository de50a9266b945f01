// The dashboard's only script: live updates from the emulator's event stream, plus two small
// conveniences (the tenant picker submits itself; some buttons ask for confirmation).
// Pages work without it; they just do not update by themselves.
(() => {
  "use strict";
  const body = document.body;

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("[data-autosubmit]")) target.form.submit();
    if (target.matches("[data-check-all]")) {
      const table = target.closest("table");
      for (const box of table.querySelectorAll("tbody input[type=checkbox]")) {
        box.checked = target.checked;
      }
    }
  });

  document.addEventListener("submit", (event) => {
    const question = (event.submitter && event.submitter.dataset.confirm) ||
      event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  const streamUrl = body.dataset.stream;
  if (!streamUrl || !window.EventSource) return;
  const status = document.querySelector("[data-live-status]");
  let version = body.dataset.version;
  let refreshing = false;
  let again = false;

  const source = new EventSource(streamUrl);
  source.onopen = () => { if (status) status.dataset.state = "on"; };
  source.onerror = () => { if (status) status.dataset.state = "off"; };
  source.onmessage = (event) => {
    const snapshot = JSON.parse(event.data);
    for (const element of document.querySelectorAll("[data-snap]")) {
      const value = snapshot[element.dataset.snap];
      if (value !== undefined) element.textContent = value;
    }
    if (snapshot.version !== version) {
      version = snapshot.version;
      refresh();
    }
  };

  // Fetch this page again and swap in its live regions (elements with data-live and an id),
  // keeping the checkboxes a visitor ticked.
  async function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      const response = await fetch(location.href, { headers: { "X-Live-Refresh": "1" } });
      if (response.ok) swap(new DOMParser().parseFromString(await response.text(), "text/html"));
    } catch (error) {
      if (status) status.dataset.state = "off";
    } finally {
      refreshing = false;
      if (again) { again = false; refresh(); }
    }
  }

  function swap(fresh) {
    for (const old of document.querySelectorAll("[data-live][id]")) {
      const next = fresh.getElementById(old.id);
      if (!next) continue;
      const ticked = new Set(Array.from(old.querySelectorAll("input[type=checkbox]:checked"),
        (box) => box.value));
      for (const box of next.querySelectorAll("input[type=checkbox]")) {
        if (ticked.has(box.value)) box.checked = true;
      }
      old.replaceWith(next);
    }
    body.dataset.refreshes = String(Number(body.dataset.refreshes || 0) + 1);
  }
})();
