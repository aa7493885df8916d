// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // A select marked data-autosubmit submits its form on change (its button is then hidden).
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  document.documentElement.classList.add("js");
});
