"""Source of the Lambda functions the stacks package (standard library only: no dependencies to ship)."""
