"""Operations on an AWS account: bootstrap, deploy, release and promote, outputs, database users, teardown."""
