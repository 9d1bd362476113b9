"""Benchmarks/stream-floor.c, the bare client of Benchmarks/run's floor row, compiled and run by the suite's own
functions: it reads a real stream to its end and counts a probe that does not reach it as failed (the suite
drops the row when any fails)."""
import importlib.machinery
import importlib.util

from conftest import ROOT, Process, free_port


def benchmark_suite():
    """Benchmarks/run as a module, for its functions."""
    loader = importlib.machinery.SourceFileLoader("benchmarks_run", str(ROOT / "Benchmarks" / "run"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


suite = benchmark_suite()


def test_stream_floor_reads_every_stream_to_its_end(binary, tmp_path):
    exe = suite.compile_stream_floor(str(tmp_path), flags=["-Wall", "-Werror"])
    port = free_port()
    simulator = Process([binary, "simulate", "--listen", f"127.0.0.1:{port}", "--ttft", "5ms", "--ttft-spread",
                         "0ms", "--inter-token", "5ms", "--inter-token-spread", "0ms", "--tokens", "6"])
    try:
        simulator.wait_for_line(r"listening on")
        result = suite.run_stream_floor(exe, port, 10, concurrent=2)
        figures = suite.stream_floor(str(tmp_path), port, 10)
    finally:
        simulator.stop()
    assert result["failed"] == 0
    # the answer's head, then the 6 tokens 5 ms apart arrive as reads of their own
    assert result["reads"] >= 6
    assert figures is not None and figures[1] >= 6, figures


def test_stream_floor_counts_a_probe_without_a_stream_as_failed(tmp_path):
    exe = suite.compile_stream_floor(str(tmp_path))
    port = free_port()  # nothing listens there
    assert suite.run_stream_floor(exe, port, 4, concurrent=2)["failed"] == 4
    assert suite.stream_floor(str(tmp_path), port, 4) is None
