// The Teams tab: with the bundled Teams client library (teams-js.min.js, window.microsoftTeams),
// ask Teams for the person's Entra ID token (single sign-on), hand it to the server once, and go
// on to My teams. Outside Teams, or when Teams says no, the page says how to get a link instead.
document.addEventListener("DOMContentLoaded", async () => {
  const status = document.getElementById("tab-status");
  const fail = () => { status.textContent = status.dataset.failed; };
  const teams = window.microsoftTeams;
  if (!teams) { fail(); return; }
  try {
    await teams.app.initialize();
    const token = await teams.authentication.getAuthToken();
    const answer = await fetch("/web/tab/sso", {
      method: "POST", headers: { Authorization: `Bearer ${token}` }, credentials: "same-origin",
    });
    if (answer.ok) { window.location.replace("/web/"); } else { fail(); }
  } catch (_) { fail(); }
});
