"""Platform providers: capability Protocols and DTOs in ``base``, one subpackage per platform.

See ``socialpulse.providers.registry`` for how a platform subpackage plugs in.
"""
