"""Microsoft Teams: botbuilder-core 4.17 on the shared aiohttp server. botbuilder is imported
nowhere else, so moving to the Microsoft 365 Agents SDK is this one folder."""
