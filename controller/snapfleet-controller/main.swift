print("snapfleet-controller")
