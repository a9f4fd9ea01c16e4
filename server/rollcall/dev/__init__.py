"""Development only: the demo, the development issuer and certificates, the development server.

The rule of this folder: nothing outside it imports it, except the command line's `serve` and
`demo` commands (tests/test_layers.py holds this). Production runs gunicorn with `create_app()`,
trusts a real identity provider and serves real certificates; none of this code is on that path.
"""
