print("snapfleet-agent")
