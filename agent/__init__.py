"""The agent: CLI, profile loading, secrets, the runner, transports and the demo lab."""
