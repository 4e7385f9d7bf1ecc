"""Upload and download throughput for a 100 MB File, beside a plain file copy on the same disk.

The baseline copies the same file with `shutil.copyfile` into the same directory the
server keeps its blobs in, in the same run. Upload streams the file from disk as a
multipart body; download streams the content back to a file on the same disk.

Reproduce: make dev && .venv/bin/python -m bench.files_http
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.harness import assistantd_server, machine

BOUNDARY = "assistantd-bench"


def _body(path: Path, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    with path.open("rb") as f:
        while data := f.read(chunk):
            yield data
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024
    data_dir = Path(tempfile.mkdtemp(prefix="assistantd-files-bench-"))
    source = data_dir / "source.bin"
    with source.open("wb") as f:
        for _ in range(args.mb):
            f.write(os.urandom(1024 * 1024))
    copies, uploads, downloads = [], [], []
    try:
        with assistantd_server(data_dir) as server:
            for i in range(args.rounds):
                started = time.perf_counter()
                shutil.copyfile(source, data_dir / f"copy{i}.bin")
                with (data_dir / f"copy{i}.bin").open("rb+") as f:
                    os.fsync(f.fileno())  # the server fsyncs what it keeps; so does the baseline
                copies.append(time.perf_counter() - started)
                (data_dir / f"copy{i}.bin").unlink()

                started = time.perf_counter()
                response = httpx.post(
                    f"{server}/v1/files",
                    content=_body(source),
                    headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
                    timeout=600,
                )
                uploads.append(time.perf_counter() - started)
                response.raise_for_status()
                file_id = response.json()["id"]

                started = time.perf_counter()
                target = data_dir / f"download{i}.bin"
                with (
                    httpx.stream("GET", f"{server}/v1/files/{file_id}/content", timeout=600) as r,
                    target.open("wb") as out,
                ):
                    for chunk in r.iter_bytes(1024 * 1024):
                        out.write(chunk)
                downloads.append(time.perf_counter() - started)
                assert target.stat().st_size == size
                target.unlink()
                httpx.delete(f"{server}/v1/files/{file_id}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    def mbps(times: list[float]) -> float:
        return args.mb / statistics.median(times)

    copy = mbps(copies)
    print(f"machine: {machine()}; {args.mb} MB file, median of {args.rounds} rounds")
    print("| operation | MB/s | ratio to file copy |")
    print("|---|---|---|")
    print(f"| plain file copy + fsync (baseline) | {copy:,.0f} | 1.00 |")
    up, down = mbps(uploads), mbps(downloads)
    print(f"| upload (POST /v1/files, multipart) | {up:,.0f} | {up / copy:.2f} |")
    print(f"| download (GET /v1/files/{{id}}/content) | {down:,.0f} | {down / copy:.2f} |")
    print(f"reproduce: .venv/bin/python -m bench.files_http --mb {args.mb} --rounds {args.rounds}")


if __name__ == "__main__":
    main()
