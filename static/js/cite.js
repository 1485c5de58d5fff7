// "Copy BibTeX" on a post's Cite block: shown only where the clipboard can be written (the entry stays
// selectable text, and cite.bib downloadable, without it).
for (const button of document.querySelectorAll("button[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector(".copy-status");
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(source.textContent).then(
      () => { if (status) status.textContent = "Copied."; },
      () => { if (status) status.textContent = "Could not copy: select the entry and copy it."; },
    );
  });
}
