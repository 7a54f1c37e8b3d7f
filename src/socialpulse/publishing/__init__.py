"""Publishing: posts scheduled (once or recurring) for the workspace's accounts, delivered on time
exactly once through each platform's ``PostPublisher``."""
