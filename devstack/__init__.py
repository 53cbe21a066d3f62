"""Local stand-ins for Auth0 and AWS, for development, the demo, tests and benchmarks."""
