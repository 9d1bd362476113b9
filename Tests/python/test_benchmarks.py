"""Benchmarks/stream-floor.c, the bare client of Benchmarks/run's floor row, reads a real stream to its end
and counts a probe that does not reach it as failed (the suite drops the row when any fails)."""
import re
import shutil
import subprocess

from conftest import ROOT, Process, free_port


def compile_stream_floor(tmp_path) -> str:
    cc = shutil.which("cc") or shutil.which("clang") or shutil.which("gcc")
    assert cc, "no C compiler (Benchmarks/run compiles stream-floor.c with cc, clang or gcc)"
    exe = str(tmp_path / "stream-floor")
    subprocess.run([cc, "-O2", "-Wall", "-Werror", "-o", exe, str(ROOT / "Benchmarks" / "stream-floor.c")],
                   check=True, capture_output=True)
    return exe


def run_stream_floor(exe: str, port: int, probes: int) -> dict:
    out = subprocess.run([exe, str(port), str(probes), "2"], capture_output=True, text=True, timeout=60).stdout
    found = re.fullmatch(r"cpu_ms_per_probe=([\d.]+) reads_per_probe=([\d.]+) failed=(\d+)\n", out)
    assert found, out
    return {"reads": float(found.group(2)), "failed": int(found.group(3))}


def test_stream_floor_reads_every_stream_to_its_end(binary, tmp_path):
    exe = compile_stream_floor(tmp_path)
    port = free_port()
    simulator = Process([binary, "simulate", "--listen", f"127.0.0.1:{port}", "--ttft", "5ms", "--ttft-spread",
                         "0ms", "--inter-token", "5ms", "--inter-token-spread", "0ms", "--tokens", "6"])
    try:
        simulator.wait_for_line(r"listening on")
        result = run_stream_floor(exe, port, 10)
    finally:
        simulator.stop()
    assert result["failed"] == 0
    # the answer's head, then the 6 tokens 5 ms apart arrive as reads of their own
    assert result["reads"] >= 6


def test_stream_floor_counts_a_probe_without_a_stream_as_failed(tmp_path):
    exe = compile_stream_floor(tmp_path)
    result = run_stream_floor(exe, free_port(), 4)  # nothing listens there
    assert result["failed"] == 4
