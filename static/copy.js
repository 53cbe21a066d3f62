// Copy buttons: <button data-copy="ID" hidden> copies the text of element ID.
// Buttons stay hidden without JavaScript or a clipboard; the text can still be selected.
"use strict";
if (navigator.clipboard) {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(source.textContent);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Copy failed: select the text instead";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  }
}
