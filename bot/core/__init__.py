"""The engine core: messages, the pipeline, routers, forms, dispatch and rendering."""
