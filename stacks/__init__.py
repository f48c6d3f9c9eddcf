"""Order API infrastructure: configuration, stacks and components."""
