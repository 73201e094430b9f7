// hookline's dashboard works without this file. It adds the copy buttons, and on the webhook
// form shows only the fields the chosen format and scheme use and checks the form as you type.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
});

const form = document.querySelector("form[data-checks]");
if (form) {
  // A field for one format or scheme only: hidden, and not sent, while another is chosen.
  const toggle = () => {
    form.querySelectorAll("[data-shown-when]").forEach((part) => {
      const [name, value] = part.dataset.shownWhen.split("=");
      part.hidden = form.elements[name].value !== value;
      part.querySelectorAll("input, textarea, select").forEach((field) => {
        field.disabled = part.hidden;
      });
    });
  };
  // The checks (the filter on recent events, the preview) come from the server as HTML.
  let timer = null;
  let pending = null;
  const check = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(form.dataset.checks, {
        method: "POST", body: new FormData(form), credentials: "same-origin", signal: pending.signal,
      })
        .then((answer) => (answer.ok ? answer.text() : Promise.reject(answer.status)))
        .then((html) => {
          document.getElementById("checks").innerHTML = html;
          form.dataset.checked = String(Number(form.dataset.checked || 0) + 1);
        })
        .catch(() => {});
    }, 300);
  };
  form.addEventListener("input", () => { toggle(); check(); });
  form.addEventListener("change", () => { toggle(); check(); });
  toggle();
}
