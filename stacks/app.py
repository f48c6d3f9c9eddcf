"""Builds the cdktf App with every stack of a validated :class:`AppConfig`."""

from __future__ import annotations

from stacks.account_stack import STACK_NAME as ACCOUNT_STACK_NAME
from stacks.account_stack import AccountStack
from stacks.config import PROJECT, AppConfig
from stacks.framework import App
from stacks.identity_stack import STACK_NAME as IDENTITY_STACK_NAME
from stacks.identity_stack import IdentityStack
from stacks.order_api_stack import OrderApiStack
from stacks.registry_stack import STACK_NAME as REGISTRY_STACK_NAME
from stacks.registry_stack import RegistryStack
from stacks.state_bootstrap_stack import STACK_NAME as STATE_STACK_NAME
from stacks.state_bootstrap_stack import StateBootstrapStack

#: Deploy order in a new account: state bucket, the pipeline's identities (once per account),
#: account-wide singletons, registry (then push an image), environments.
SHARED_STACKS = (STATE_STACK_NAME, IDENTITY_STACK_NAME, ACCOUNT_STACK_NAME, REGISTRY_STACK_NAME)


def build_app(config: AppConfig, *, outdir: str) -> App:
    app = App(outdir=outdir)
    shared_tags = {"project": PROJECT, "managed-by": "cdktf"}
    StateBootstrapStack(
        app,
        STATE_STACK_NAME,
        bucket_name=config.state.bucket,
        region=config.state_region,
        tags={**shared_tags, "component": "terraform-state"},
        endpoint_url=config.endpoint_url,
        state=config.state if config.state.bootstrap_backend == "s3" else None,
    )
    AccountStack(
        app,
        ACCOUNT_STACK_NAME,
        region=config.region,
        state=config.state,
        state_region=config.state_region,
        tags={**shared_tags, "component": "account"},
        endpoint_url=config.endpoint_url,
    )
    IdentityStack(
        app,
        IDENTITY_STACK_NAME,
        config=config.pipeline,
        registry=config.registry,
        region=config.region,
        state=config.state,
        state_region=config.state_region,
        tags={**shared_tags, "component": "identity"},
        endpoint_url=config.endpoint_url,
    )
    RegistryStack(
        app,
        REGISTRY_STACK_NAME,
        config=config.registry,
        region=config.region,
        state=config.state,
        state_region=config.state_region,
        tags={**shared_tags, "component": "registry"},
        endpoint_url=config.endpoint_url,
    )
    for env in config.environments:
        OrderApiStack(
            app,
            env.stack_name,
            config=env,
            state=config.state,
            state_region=config.state_region,
            registry=config.registry,
            endpoint_url=config.endpoint_url,
        )
    return app
