// The IAJ desk, progressive enhancement only: every form works without this file.
// - The fields a "ja" may carry are shown (and sent) only after "ja" is chosen.
// - A text area shows how many characters are left, as the caseworker types.
"use strict";

function followUp(form) {
  const region = form.querySelector("[data-bij-ja]");
  if (!region) {
    return;
  }
  const ja = form.querySelector('input[name="antwoord"][value="ja"]');
  for (const hint of region.querySelectorAll(".zonder-js")) {
    hint.hidden = true;
  }
  const update = () => {
    const open = Boolean(ja && ja.checked);
    region.hidden = !open;
    for (const input of region.querySelectorAll("input, textarea, select")) {
      input.disabled = !open; // a disabled field is not sent: a "nee" carries nothing else
    }
  };
  for (const radio of form.querySelectorAll('input[name="antwoord"]')) {
    radio.addEventListener("change", update);
  }
  update();
}

function counter(area) {
  const shown = document.getElementById(area.dataset.counter);
  const limit = Number(area.dataset.limit);
  if (!shown || !limit) {
    return;
  }
  const update = () => {
    shown.textContent = `${area.value.length} / ${limit} tekens`;
  };
  area.addEventListener("input", update);
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-shape]")) {
    followUp(form);
  }
  for (const area of document.querySelectorAll("textarea[data-counter]")) {
    counter(area);
  }
});
