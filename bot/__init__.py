"""The running application: configuration, wiring, CLI and platform adapters."""

from bot.slack.ids import SLACK_IDS
from bot.teams.ids import TEAMS_IDS
from handlers import redact

# Every process redacts the ids of every platform: an export made on the command line must
# scrub Slack and Teams ids from what people typed, whichever platform is configured.
redact.register("slack", SLACK_IDS)
redact.register("teams", TEAMS_IDS)
