// Records the score the customer clicked in the email as soon as the page opens (a POST, so mail
// scanners that only GET the link record nothing), and again when they pick another score.
// Without script the form's Send button does the same job.
"use strict";
(function () {
  const form = document.querySelector("form.survey");
  if (!form) return;
  const status = form.querySelector(".status");

  function save() {
    const picked = form.querySelector("input[name=score]:checked");
    if (!picked) return;
    const body = new URLSearchParams();
    body.set("score", picked.value);
    body.set("nonce", form.elements.nonce.value);
    fetch(form.action, {
      method: "POST",
      body: body,
      headers: { Accept: "application/json" },
      credentials: "omit",
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        status.classList.remove("failed");
        status.textContent = status.dataset.saved;
        form.dataset.recorded = picked.value;
      })
      .catch(function () {
        status.classList.add("failed");
        status.textContent = status.dataset.failed;
      });
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "score") save();
  });
  if (form.dataset.autosave === "on") save();
})();
