"""The Egnyte extractor behind connector.py: an asyncio client, paged streams, and the drain loop that writes.

It does not import the Fivetran SDK, so the tests and the benchmark can drive it without a Fivetran runtime:
`connector.py` hands it the SDK's `Operations` and `Logging`.
"""
