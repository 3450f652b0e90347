"""The running application: configuration, wiring, CLI and platform adapters."""
