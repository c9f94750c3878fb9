"""The browser side: ReactPy screens, page templates, static assets and the field kit."""
