// The overview's filter box: narrows every panel to the rows whose name (or tag value) holds
// the typed text, in the page already loaded: no request, no AWS call. Without JavaScript the
// box is a GET form (?q=) that the server filters the same way.
"use strict";
const box = document.getElementById("res-filter");
if (box) {
  const FIRST = 5; // rows a panel shows when nothing is typed
  const panels = document.querySelectorAll(".res-panel");
  const apply = () => {
    const needle = box.value.trim().toLowerCase();
    for (const panel of panels) {
      const rows = panel.querySelectorAll("li[data-search]");
      let shown = 0;
      rows.forEach((row, index) => {
        const match = needle ? row.dataset.search.includes(needle) : index < FIRST;
        row.hidden = !match;
        if (match) shown += 1;
      });
      const none = panel.querySelector(".res-nomatch");
      if (none) none.hidden = !(needle && rows.length && !shown);
      const more = panel.querySelector(".res-more");
      if (more) more.hidden = Boolean(needle);
    }
  };
  box.addEventListener("input", apply);
  box.form.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  apply();
}
