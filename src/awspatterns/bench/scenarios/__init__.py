"""One module per benchmark. A module that defines ``BENCHMARK`` (a :class:`awspatterns.bench.harness.Benchmark`)
is found by ``patterns bench`` under that benchmark's name; nothing else needs registering."""

__all__: list[str] = []
