// Small behaviours of the server-rendered pages, wired here because the Content-Security-Policy
// allows no inline script or inline event handler.
//   <select data-autosubmit>            submits its form on change
//   <input type=checkbox data-select-all="css selector">  ticks or unticks every matching box

document.addEventListener("change", (ev) => {
  const el = ev.target;
  if (el.matches("select[data-autosubmit]") && el.form) el.form.requestSubmit();
  if (el.matches("input[type=checkbox][data-select-all]")) {
    document.querySelectorAll(el.dataset.selectAll).forEach((box) => { box.checked = el.checked; });
  }
});
