// The channel tab's configuration page: tell Teams (through the bundled Teams client library)
// where the tab lives when the person presses Save; until Teams has answered, Save stays off.
document.addEventListener("DOMContentLoaded", async () => {
  const status = document.getElementById("tab-config");
  const teams = window.microsoftTeams;
  if (!teams) { status.textContent = status.dataset.failed; return; }
  const { entity, contentUrl, websiteUrl, name } = status.dataset;
  try {
    await teams.app.initialize();
    teams.pages.config.registerOnSaveHandler(async (saving) => {
      try {
        await teams.pages.config.setConfig({
          entityId: entity, contentUrl, websiteUrl, suggestedDisplayName: name,
        });
        saving.notifySuccess();
      } catch (problem) { saving.notifyFailure(String(problem)); }
    });
    teams.pages.config.setValidityState(true);
    status.textContent = status.dataset.ready;
  } catch (_) { status.textContent = status.dataset.failed; }
});
