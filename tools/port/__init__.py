"""Portability: the HCL export and its check, the rehearsed move to CDK Terrain, the Terraform and provider versions the JSON needs."""
