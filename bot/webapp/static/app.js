// Small progressive help; every page works without it. A live session needs no round
// length: hide that field while "live" is chosen.
document.addEventListener("DOMContentLoaded", () => {
  const mode = document.getElementById("f-mode");
  const length = document.getElementById("f-round_length");
  if (!mode || !length) return;
  const field = length.closest(".field");
  const update = () => field.classList.toggle("hidden", mode.value === "live");
  mode.addEventListener("change", update);
  update();
});
