"""Builds the cdktf App with every stack of a validated :class:`AppConfig`."""

from __future__ import annotations

from cdktf import App

from stacks.config import PROJECT, AppConfig
from stacks.order_api_stack import OrderApiStack
from stacks.state_bootstrap_stack import STACK_NAME as STATE_STACK_NAME
from stacks.state_bootstrap_stack import StateBootstrapStack


def build_app(config: AppConfig, *, outdir: str) -> App:
    app = App(outdir=outdir)
    StateBootstrapStack(
        app,
        STATE_STACK_NAME,
        bucket_name=config.state.bucket,
        region=config.state_region,
        tags={"project": PROJECT, "managed-by": "cdktf", "component": "terraform-state"},
    )
    for env in config.environments:
        OrderApiStack(app, env.stack_name, config=env, state=config.state, state_region=config.state_region)
    return app
