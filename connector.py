"""Egnyte connector for the Fivetran Connector SDK: users, groups, group members, notes, bookmarks and (opt-in) events.

This file is only the glue between the SDK and the `egnyte_async` extractor: `schema()` declares the tables of
the stream catalog, `update()` validates the configuration and runs one sync, whose event loop fetches from
Egnyte in a worker thread while this thread upserts and checkpoints; the setup form and its connection tests are
`egnyte_async.setup_form`. See README.md for the configuration and the design.
"""

import json

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from egnyte_async.catalog import CATALOG
from egnyte_async.errors import ConfigurationError
from egnyte_async.pipeline import Sync
from egnyte_async.settings import parse_settings
from egnyte_async.setup_form import configuration_form


def schema(configuration: dict) -> list[dict]:
    """Declares the tables of the enabled streams (every stream's when the configuration cannot be read: update()
    then says what is wrong with it), each with its primary key and the columns whose type must not be guessed."""
    try:
        enabled = set(parse_settings(configuration, CATALOG).streams)
    except ConfigurationError:
        enabled = {stream.name for stream in CATALOG}
    return [table.declaration() for stream in CATALOG if stream.name in enabled for table in stream.tables]


def update(configuration: dict, state: dict) -> None:
    """Runs one sync: every enabled stream, resumed from `state`, checkpointed as rows land."""
    settings = parse_settings(configuration, CATALOG)
    for warning in settings.warnings:
        log.warning(warning)
    log.info(f"Egnyte sync of {settings.base_url}: {', '.join(settings.streams)}")
    Sync(settings, state, op, log).run()


connector = Connector(update=update, schema=schema, configuration_form=configuration_form)

if __name__ == "__main__":
    with open("configuration.json", encoding="utf-8") as file:
        connector.debug(configuration=json.load(file))
